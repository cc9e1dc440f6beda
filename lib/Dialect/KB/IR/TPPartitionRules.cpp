//===- TPPartitionRules.cpp - how each kb op partitions -------------------===//
//
// The TPPartitionOpInterface of the kb ops: for given operand layouts, the
// layouts the op needs and the layouts it produces, and its local form.
// Megatron's rules for the parallel linear layers, the plain gemm's four
// ways to run sharded, and the elementwise rules shared by gelu, silu,
// scale, add and mul.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"

using namespace mlir;
using namespace kb;

std::string TPLayout::str() const {
  switch (kind) {
  case Kind::Replicated:
    return "replicated";
  case Kind::Split:
    return "split(" + std::to_string(dim) + ")";
  case Kind::Partial:
    return ("partial(" + stringifyReductionKind(reduction) + ")").str();
  }
  return "?";
}

#include "kb/Dialect/KB/IR/TPPartitionOpInterface.cpp.inc"

//===----------------------------------------------------------------------===//
// Elementwise rules.
//===----------------------------------------------------------------------===//

/// Whether a partial sum of `layout` commutes with a linear map.
static bool isLinearPartial(TPLayout layout) {
  return layout.isPartial() && (layout.getReduction() == ReductionKind::Sum ||
                                layout.getReduction() == ReductionKind::Avg);
}

TPRule kb::unaryElementwiseRule(ArrayRef<TPLayout> operands, bool linear) {
  TPLayout in = operands.front();
  if (in.isPartial() && !(linear && isLinearPartial(in)))
    in = TPLayout::replicated();
  return {{in}, {in}};
}

TPRule kb::binaryElementwiseRule(ArrayRef<TPLayout> operands, int64_t lhsRank,
                                 bool rhsIsBias, PartialOperands partials) {
  TPLayout lhs = operands[0], rhs = operands[1];
  // Partial sums first: keep them only where the op is linear in them.
  if (partials == PartialOperands::BothOrNone && !rhsIsBias &&
      lhs.isPartial() && lhs == rhs && isLinearPartial(lhs))
    return {{lhs, rhs}, {lhs}};
  if (partials == PartialOperands::OneTimesReplicated) {
    if (isLinearPartial(lhs) && rhs.isReplicated())
      return {{lhs, rhs}, {lhs}};
    if (!rhsIsBias && isLinearPartial(rhs) && lhs.isReplicated())
      return {{lhs, rhs}, {rhs}};
  }
  if (lhs.isPartial())
    lhs = TPLayout::replicated();
  if (rhs.isPartial())
    rhs = TPLayout::replicated();

  // A bias follows lhs: split only when lhs's last dimension is.
  if (rhsIsBias) {
    TPLayout bias = lhs.isSplitAlong(lhsRank - 1) ? TPLayout::split(0)
                                                  : TPLayout::replicated();
    return {{lhs, bias}, {lhs}};
  }
  // Same shapes: meet in a split layout when one side is split (slicing the
  // replicated side is local; gathering the split one is a collective).
  TPLayout common = lhs.isSplit() ? lhs : rhs;
  return {{common, common}, {common}};
}

SmallVector<Value, 1> kb::buildSameOpLocally(OpBuilder &builder, Operation *op,
                                             ValueRange operands,
                                             TypeRange resultTypes) {
  OperationState state(op->getLoc(), op->getName(), operands, resultTypes,
                       op->getAttrs());
  Operation *local = builder.create(state);
  return SmallVector<Value, 1>(local->getResults());
}

//===----------------------------------------------------------------------===//
// Megatron's parallel linear layers.
//===----------------------------------------------------------------------===//

TPRule ColumnParallelLinearOp::getTPRule(ArrayRef<TPLayout>) {
  // The input is replicated, the weight (and the bias) split on out_features;
  // the result is split on its columns. No collective.
  TPRule rule{{TPLayout::replicated(), TPLayout::split(1)},
              {TPLayout::split(1)}};
  if (getBias())
    rule.operands.push_back(TPLayout::split(0));
  return rule;
}

SmallVector<Value, 1>
ColumnParallelLinearOp::buildLocalOp(OpBuilder &builder, ValueRange operands,
                                     TypeRange resultTypes) {
  Value y = MatmulOp::create(builder, getLoc(), resultTypes.front(),
                             operands[0], operands[1]);
  if (getBias())
    y = AddOp::create(builder, getLoc(), y, operands[2]);
  return {y};
}

TPRule RowParallelLinearOp::getTPRule(ArrayRef<TPLayout>) {
  // The input split on its columns and the weight on in_features give each
  // rank a partial sum. Without a bias it stays partial and is reduced where
  // a consumer needs it whole; a bias is added once, to the reduced sum.
  TPRule rule{{TPLayout::split(1), TPLayout::split(0)},
              {TPLayout::partial(ReductionKind::Sum)}};
  if (getBias()) {
    rule.operands.push_back(TPLayout::replicated());
    rule.results.front() = TPLayout::replicated();
  }
  return rule;
}

SmallVector<Value, 1> RowParallelLinearOp::buildLocalOp(OpBuilder &builder,
                                                        ValueRange operands,
                                                        TypeRange resultTypes) {
  Value y = MatmulOp::create(builder, getLoc(), resultTypes.front(),
                             operands[0], operands[1]);
  if (getBias()) {
    y = AllReduceOp::create(builder, getLoc(), ReductionKind::Sum, y);
    y = AddOp::create(builder, getLoc(), y, operands[2]);
  }
  return {y};
}

//===----------------------------------------------------------------------===//
// The plain gemm.
//===----------------------------------------------------------------------===//

TPRule MatmulOp::getTPRule(ArrayRef<TPLayout> operands) {
  TPLayout lhs = operands[0], rhs = operands[1];
  // Contracted dimension split on both sides (or on lhs, slicing a
  // replicated rhs): each rank's product is a partial sum.
  if (lhs.isSplitAlong(1) && (rhs.isSplitAlong(0) || rhs.isReplicated()))
    return {{lhs, TPLayout::split(0)}, {TPLayout::partial()}};
  // Rows of lhs or columns of rhs split: the product is split the same way.
  if ((lhs.isSplitAlong(0) || isLinearPartial(lhs)) && rhs.isReplicated())
    return {{lhs, rhs}, {lhs}};
  if (lhs.isReplicated() && rhs.isSplitAlong(1))
    return {{lhs, rhs}, {rhs}};
  // Otherwise the whole product on every rank.
  return {{TPLayout::replicated(), TPLayout::replicated()},
          {TPLayout::replicated()}};
}

SmallVector<Value, 1> MatmulOp::buildLocalOp(OpBuilder &builder,
                                             ValueRange operands,
                                             TypeRange resultTypes) {
  return buildSameOpLocally(builder, *this, operands, resultTypes);
}
