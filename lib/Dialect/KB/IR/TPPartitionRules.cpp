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
    if (replicas > 1)
      return "split(" + std::to_string(dim) + ", replicas " +
             std::to_string(replicas) + ")";
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

  // A bias follows lhs: split (in as many slices) only when lhs's last
  // dimension is.
  if (rhsIsBias) {
    TPLayout bias = lhs.isAnySplitAlong(lhsRank - 1)
                        ? TPLayout::split(0, lhs.getReplicas())
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
// KV heads replicated over groups of ranks.
//===----------------------------------------------------------------------===//

/// How many consecutive ranks share each KV head of `attention`: W /
/// num_kv_heads when there are fewer KV heads than ranks (and they divide
/// W), else 1 (each rank holds num_kv_heads / W whole heads).
static int64_t kvReplicasOf(AttentionOp attention) {
  std::optional<int64_t> ws = lookupWorldSize(attention);
  int64_t kvHeads = attention.getNumKvHeads();
  if (!ws || kvHeads >= *ws || *ws % kvHeads != 0)
    return 1;
  return *ws / kvHeads;
}

/// How many ranks share each column slice of `value` when it becomes the
/// keys or values of a kb.attention with fewer KV heads than ranks, through
/// kb.rope and kb.kv_append (which keep heads where they are); 1 otherwise.
/// The projection that makes K or V splits its weight that way from the
/// start, so the heads never need a gather.
static int64_t kvReplicas(Value value, int depth = 0) {
  if (depth > 8)
    return 1;
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (auto attention = dyn_cast<AttentionOp>(user)) {
      if (use.getOperandNumber() != 0)
        if (int64_t replicas = kvReplicasOf(attention); replicas > 1)
          return replicas;
      continue;
    }
    if (isa<RoPEOp>(user) ||
        (isa<KVAppendOp>(user) && use.getOperandNumber() <= 1))
      if (int64_t replicas = kvReplicas(user->getResult(0), depth + 1);
          replicas > 1)
        return replicas;
  }
  return 1;
}

//===----------------------------------------------------------------------===//
// Megatron's parallel linear layers.
//===----------------------------------------------------------------------===//

FailureOr<TPRule> ColumnParallelLinearOp::getTPRule(ArrayRef<TPLayout>) {
  // The input is replicated, the weight (and the bias) split on out_features;
  // the result is split on its columns. No collective. A K or V projection
  // of an attention with fewer KV heads than ranks splits by KV head, each
  // head on W / num_kv_heads ranks (Megatron's replication).
  int64_t replicas = kvReplicas(getResult());
  TPRule rule{{TPLayout::replicated(), TPLayout::split(1, replicas)},
              {TPLayout::split(1, replicas)}};
  if (getBias())
    rule.operands.push_back(TPLayout::split(0, replicas));
  return rule;
}

SmallVector<Value, 1>
ColumnParallelLinearOp::buildLocalOp(OpBuilder &builder, ValueRange operands,
                                     TypeRange resultTypes) {
  Value y = MatmulOp::create(builder, getLoc(), resultTypes.front(),
                             operands[0], operands[1]);
  if (getBias())
    y = AddOp::create(builder, getLoc(), y.getType(), y, operands[2]);
  return {y};
}

/// Whether `op`'s module asks for Megatron's sequence parallelism.
static bool isSequenceParallel(Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  return module && module->hasAttr(KBDialect::kSequenceParallelAttrName);
}

FailureOr<TPRule> RowParallelLinearOp::getTPRule(ArrayRef<TPLayout>) {
  // The input split on its columns and the weight on in_features give each
  // rank a partial sum. Without a bias it stays partial and is reduced where
  // a consumer needs it whole; a bias is added once, to the reduced sum:
  // the whole sum, or under sequence parallelism the rank's tokens of it.
  TPRule rule{{TPLayout::split(1), TPLayout::split(0)},
              {TPLayout::partial(ReductionKind::Sum)}};
  if (getBias()) {
    rule.operands.push_back(TPLayout::replicated());
    rule.results.front() = TPLayout::replicated();
    if (isSequenceParallel(*this)) {
      int64_t tokens = getType().getDimSize(0);
      std::optional<int64_t> ws = lookupWorldSize(*this);
      if (ws && tokens % *ws != 0)
        return emitOpError()
               << "has " << tokens
               << " tokens, which sequence parallelism ('"
               << KBDialect::kSequenceParallelAttrName
               << "') splits over TP world size " << *ws
               << "; it does not divide them";
      rule.results.front() = TPLayout::split(0);
    }
  }
  return rule;
}

SmallVector<Value, 1> RowParallelLinearOp::buildLocalOp(OpBuilder &builder,
                                                        ValueRange operands,
                                                        TypeRange resultTypes) {
  // The rank's partial sum has every token, whatever the result keeps.
  auto resultType = cast<RankedTensorType>(resultTypes.front());
  auto productType = RankedTensorType::get(
      {cast<RankedTensorType>(operands[0].getType()).getDimSize(0),
       cast<RankedTensorType>(operands[1].getType()).getDimSize(1)},
      resultType.getElementType(), resultType.getEncoding());
  Value y = MatmulOp::create(builder, getLoc(), productType, operands[0],
                             operands[1]);
  if (getBias()) {
    if (isSequenceParallel(*this))
      y = ReduceScatterOp::create(builder, getLoc(), resultTypes.front(),
                                  ReductionKind::Sum, y, /*dim=*/0);
    else
      y = AllReduceOp::create(builder, getLoc(), ReductionKind::Sum, y);
    y = AddOp::create(builder, getLoc(), y.getType(), y, operands[2]);
  }
  return {y};
}

//===----------------------------------------------------------------------===//
// The plain gemm.
//===----------------------------------------------------------------------===//

FailureOr<TPRule> MatmulOp::getTPRule(ArrayRef<TPLayout> operands) {
  TPLayout lhs = operands[0], rhs = operands[1];
  // Contracted dimension split on both sides (or on lhs, slicing a
  // replicated rhs): each rank's product is a partial sum.
  if (lhs.isSplitAlong(1) && (rhs.isSplitAlong(0) || rhs.isReplicated()))
    return TPRule{{lhs, TPLayout::split(0)}, {TPLayout::partial()}};
  // Rows of lhs or columns of rhs split: the product is split the same way.
  if ((lhs.isSplitAlong(0) || isLinearPartial(lhs)) && rhs.isReplicated())
    return TPRule{{lhs, rhs}, {lhs}};
  // (Also in slices per group of ranks: a K or V projection by KV heads.)
  if (lhs.isReplicated() && rhs.isAnySplitAlong(1))
    return TPRule{{lhs, rhs}, {rhs}};
  // Otherwise the whole product on every rank.
  return TPRule{{TPLayout::replicated(), TPLayout::replicated()},
                {TPLayout::replicated()}};
}

SmallVector<Value, 1> MatmulOp::buildLocalOp(OpBuilder &builder,
                                             ValueRange operands,
                                             TypeRange resultTypes) {
  return buildSameOpLocally(builder, *this, operands, resultTypes);
}

//===----------------------------------------------------------------------===//
// The decoder layer (Megatron's attention: heads split over the ranks).
//===----------------------------------------------------------------------===//

/// A norm over the last dimension runs wherever each rank holds whole rows:
/// replicated, or rows split along tokens (sequence parallelism). A split of
/// the normalized dimension or a partial sum needs the whole value first.
static TPRule rowNormRule(ArrayRef<TPLayout> operands, int64_t rank) {
  TPLayout in = operands.front();
  if (in.isPartial() || in.isAnySplitAlong(rank - 1) || in.isGrouped())
    in = TPLayout::replicated();
  TPRule rule{{in}, {in}};
  for (size_t i = 1; i < operands.size(); ++i)
    rule.operands.push_back(TPLayout::replicated());
  return rule;
}

static int64_t rankOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getRank();
}

FailureOr<TPRule> RMSNormOp::getTPRule(ArrayRef<TPLayout> operands) {
  return rowNormRule(operands, rankOf(getInput()));
}

SmallVector<Value, 1> RMSNormOp::buildLocalOp(OpBuilder &builder,
                                              ValueRange operands,
                                              TypeRange resultTypes) {
  return buildSameOpLocally(builder, *this, operands, resultTypes);
}

FailureOr<TPRule> LayerNormOp::getTPRule(ArrayRef<TPLayout> operands) {
  return rowNormRule(operands, rankOf(getInput()));
}

SmallVector<Value, 1> LayerNormOp::buildLocalOp(OpBuilder &builder,
                                                ValueRange operands,
                                                TypeRange resultTypes) {
  return buildSameOpLocally(builder, *this, operands, resultTypes);
}

/// Checks that `heads` divide by the module's TP world size, or says so at
/// `op` with both numbers (as the seed does for features).
static LogicalResult checkHeadsDivide(Operation *op, StringRef what,
                                      int64_t heads) {
  std::optional<int64_t> worldSize = lookupWorldSize(op);
  if (!worldSize || heads % *worldSize == 0)
    return success();
  return op->emitOpError() << what << " (" << heads
                           << ") must be divisible by TP world size ("
                           << *worldSize << ")";
}

FailureOr<TPRule> RoPEOp::getTPRule(ArrayRef<TPLayout> operands) {
  // Each head rotates on its own, by its row's position: heads split over the
  // ranks stay split. Rows split along tokens would shift each rank's
  // positions by its rank, so they are gathered first. A rotation is linear:
  // a partial sum stays partial.
  // KV heads replicated over groups of ranks stay so: each group holds
  // whole heads.
  TPLayout in = operands.front();
  std::optional<int64_t> worldSize = lookupWorldSize(*this);
  if (in.isAnySplitAlong(1)) {
    int64_t shards = in.getShards(worldSize.value_or(1));
    if (getNumHeads() % shards != 0) {
      if (in.isGrouped())
        return emitOpError()
               << "splits its " << getNumHeads() << " heads into " << shards
               << " slices, one per group of " << in.getReplicas()
               << " ranks, which do not divide them";
      return emitOpError() << "splits its " << getNumHeads()
                           << " heads over TP world size (" << shards
                           << "), which does not divide them";
    }
  }
  if (in.isAnySplitAlong(0) || (in.isPartial() && !isLinearPartial(in)))
    in = TPLayout::replicated();
  return TPRule{{in}, {in}};
}

SmallVector<Value, 1> RoPEOp::buildLocalOp(OpBuilder &builder,
                                           ValueRange operands,
                                           TypeRange resultTypes) {
  return buildSameOpLocally(builder, *this, operands, resultTypes);
}

FailureOr<TPRule> AttentionOp::getTPRule(ArrayRef<TPLayout>) {
  // Megatron: each rank holds num_heads / W query heads and the
  // num_kv_heads / W KV heads they use, and attends locally; the output
  // stays split by heads for the row-parallel output projection. With fewer
  // KV heads than ranks, each KV head is replicated over the W /
  // num_kv_heads consecutive ranks whose query heads read it: rank r holds
  // KV head r / (W / num_kv_heads), split(1, replicas W / num_kv_heads).
  if (failed(checkHeadsDivide(*this, "num_heads", getNumHeads())))
    return failure();
  std::optional<int64_t> worldSize = lookupWorldSize(*this);
  int64_t kvHeads = getNumKvHeads();
  if (worldSize && kvHeads < *worldSize && *worldSize % kvHeads != 0)
    return emitOpError() << "has fewer KV heads (" << kvHeads
                         << ") than TP world size (" << *worldSize
                         << "), which they must divide to be replicated "
                            "over equal groups of ranks";
  if ((!worldSize || kvHeads >= *worldSize) &&
      failed(checkHeadsDivide(*this, "num_kv_heads", kvHeads)))
    return failure();
  TPLayout heads = TPLayout::split(1);
  TPLayout kv = TPLayout::split(1, kvReplicasOf(*this));
  return TPRule{{heads, kv, kv}, {heads}};
}

SmallVector<Value, 1> AttentionOp::buildLocalOp(OpBuilder &builder,
                                                ValueRange operands,
                                                TypeRange resultTypes) {
  // The rule splits the heads over the W ranks. (Not the ratio of q's global
  // and local widths: a q that is a function argument has its local type
  // already when the local op is built.)
  int64_t parts = lookupWorldSize(*this).value_or(1);
  int64_t kvParts = parts / kvReplicasOf(*this);
  return {AttentionOp::create(builder, getLoc(), resultTypes.front(),
                              operands[0], operands[1], operands[2],
                              getNumHeads() / parts, getNumKvHeads() / kvParts)
              .getResult()};
}

FailureOr<TPRule> KVAppendOp::getTPRule(ArrayRef<TPLayout> operands) {
  // Rows are appended along tokens, to each rank's KV heads: the cache and
  // the new rows split the same way along columns. Splitting is preferred
  // whenever the columns divide (slicing a replicated operand is local, and
  // the attention that reads the cache wants it split): a cache argument is
  // then scattered, never held whole by every rank.
  // The heads of an attention with fewer KV heads than ranks are appended
  // where that attention wants them: one KV head per group of ranks.
  std::optional<int64_t> worldSize = lookupWorldSize(*this);
  int64_t columns = cast<RankedTensorType>(getCache().getType()).getDimSize(1);
  int64_t replicas = kvReplicas(getResult());
  for (TPLayout layout : operands)
    if (replicas == 1 && layout.isGrouped() && layout.getDim() == 1)
      replicas = layout.getReplicas();
  if (worldSize && replicas > 1 && columns % (*worldSize / replicas) == 0)
    return TPRule{{TPLayout::split(1, replicas), TPLayout::split(1, replicas)},
                  {TPLayout::split(1, replicas)}};
  bool splittable = worldSize && columns % *worldSize == 0;
  bool replicatedOnly = llvm::all_of(operands, [](TPLayout layout) {
    return layout.isReplicated() || layout.isPartial();
  });
  TPLayout rows = splittable || !replicatedOnly ? TPLayout::split(1)
                                                : TPLayout::replicated();
  return TPRule{{rows, rows}, {rows}};
}

SmallVector<Value, 1> KVAppendOp::buildLocalOp(OpBuilder &builder,
                                               ValueRange operands,
                                               TypeRange resultTypes) {
  return buildSameOpLocally(builder, *this, operands, resultTypes);
}

//===----------------------------------------------------------------------===//
// Collectives along a dimension, in the global view.
//===----------------------------------------------------------------------===//

// Both are the identity on the logical tensor: the rule asks for the layout
// the op names, and the reshard that brings the operand there is the
// collective (an all_gather of a split value, a reduce_scatter of a partial
// sum). Their local form is therefore the operand itself.

FailureOr<TPRule> AllGatherOp::getTPRule(ArrayRef<TPLayout>) {
  return TPRule{{TPLayout::replicated()}, {TPLayout::replicated()}};
}

SmallVector<Value, 1> AllGatherOp::buildLocalOp(OpBuilder &, ValueRange operands,
                                                TypeRange) {
  return {operands.front()};
}

FailureOr<TPRule> ReduceScatterOp::getTPRule(ArrayRef<TPLayout> operands) {
  TPLayout in = operands.front();
  if (in.isPartial() && in.getReduction() != getReduction())
    return emitOpError() << "reduces with <"
                         << stringifyReductionKind(getReduction())
                         << ">, but its operand is " << in.str();
  TPLayout out = TPLayout::split(getDim());
  return TPRule{{out}, {out}};
}

SmallVector<Value, 1> ReduceScatterOp::buildLocalOp(OpBuilder &,
                                                    ValueRange operands,
                                                    TypeRange) {
  return {operands.front()};
}
