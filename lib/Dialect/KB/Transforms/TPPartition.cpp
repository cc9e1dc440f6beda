//===- TPPartition.cpp - global view to rank-generic SPMD -----------------===//
//
// Turns each function of a module with `kb.world_size` = W into the program
// one TP rank runs. Every global value gets a local counterpart and a layout:
// replicated (each rank holds all of it) or split along one dimension (each
// rank holds 1/W of it). Ops ask for their operands in the layout their TP
// semantics need; a replicated value asked for split is sliced locally, which
// needs no communication. The reverse (gathering a split value) would need an
// all-gather, which this pass reports as unsupported rather than guessing.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace kb {
#define GEN_PASS_DEF_KBTPPARTITIONPASS
#include "kb/Dialect/KB/Transforms/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

namespace {

/// How a global value is held by the ranks: `kReplicated`, or the dimension
/// it is split along.
using Layout = int64_t;
constexpr Layout kReplicated = -1;

struct LocalValue {
  Value value;
  Layout layout;
};

/// Partitions one function. Ops are rewritten in order; the global ops are
/// erased once every local op exists.
class FunctionPartitioner {
public:
  FunctionPartitioner(func::FuncOp func, int64_t worldSize)
      : func(func), worldSize(worldSize), builder(func.getContext()) {}

  LogicalResult run();

private:
  /// The local type of a global tensor type under `layout`; the DPPolicy
  /// encoding, if any, is checked against the local shape. Errors point at
  /// `arg` when the tensor is a function argument, else at `where`.
  FailureOr<RankedTensorType> localType(Operation *where, Type globalType,
                                        Layout layout,
                                        BlockArgument arg = nullptr);
  /// The local value of `global`, converted to `want`.
  FailureOr<Value> get(Operation *user, Value global, Layout want);
  LogicalResult partitionColumn(ColumnParallelLinearOp op);
  LogicalResult partitionRow(RowParallelLinearOp op);
  LogicalResult partitionOp(Operation *op);
  Layout preferredArgLayout(BlockArgument arg);
  Value rank(Location loc);

  func::FuncOp func;
  int64_t worldSize;
  OpBuilder builder;
  llvm::DenseMap<Value, LocalValue> locals;
  Value rankValue;
  llvm::SmallPtrSet<Operation *, 4> keptInPlace;
};

} // namespace

FailureOr<RankedTensorType> FunctionPartitioner::localType(Operation *where,
                                                           Type globalType,
                                                           Layout layout,
                                                           BlockArgument arg) {
  // At the argument itself: an error on the function would point at (and,
  // with op printing on, print) all of it.
  auto report = [&]() -> InFlightDiagnostic {
    if (arg)
      return mlir::emitError(arg.getLoc())
             << "argument " << arg.getArgNumber() << " of '"
             << func.getSymName() << "' ";
    return where->emitOpError();
  };
  auto tensor = cast<RankedTensorType>(globalType);
  SmallVector<int64_t> shape(tensor.getShape());
  if (layout != kReplicated) {
    if (shape[layout] % worldSize != 0)
      return report() << "splits dimension " << layout << " (size "
                      << shape[layout] << ") over the TP world size ("
                      << worldSize << "), which does not divide it";
    shape[layout] /= worldSize;
  }
  if (auto policy = getDPPolicy(tensor)) {
    auto emitError = [&] {
      return report() << "rank-local tensor "
                      << RankedTensorType::get(shape, tensor.getElementType())
                      << ": ";
    };
    if (failed(
            policy.verifyEncoding(shape, tensor.getElementType(), emitError)))
      return failure();
  }
  return RankedTensorType::get(shape, tensor.getElementType(),
                               tensor.getEncoding());
}

Value FunctionPartitioner::rank(Location loc) {
  if (!rankValue) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(&func.getBody().front());
    rankValue = TPRankOp::create(builder, loc, builder.getIndexType());
  }
  return rankValue;
}

FailureOr<Value> FunctionPartitioner::get(Operation *user, Value global,
                                          Layout want) {
  auto it = locals.find(global);
  if (it == locals.end())
    return user->emitOpError() << "uses a value that kb-tp-partition could "
                                  "not partition";
  LocalValue local = it->second;
  if (local.layout == want)
    return local.value;
  if (local.layout == kReplicated) {
    FailureOr<RankedTensorType> type = localType(user, global.getType(), want);
    if (failed(type))
      return failure();
    return TPSliceOp::create(builder, user->getLoc(), *type, local.value,
                             rank(user->getLoc()), want)
        .getResult();
  }
  InFlightDiagnostic diag = user->emitOpError() << "needs its operand ";
  if (want == kReplicated)
    diag << "replicated";
  else
    diag << "split along dimension " << want;
  diag << ", but it is split along dimension " << local.layout
       << "; that needs an all_gather, which kb does not support yet";
  return diag;
}

LogicalResult FunctionPartitioner::partitionColumn(ColumnParallelLinearOp op) {
  FailureOr<Value> x = get(op, op.getInput(), kReplicated);
  FailureOr<Value> w = get(op, op.getWeight(), 1);
  if (failed(x) || failed(w))
    return failure();
  FailureOr<RankedTensorType> type = localType(op, op.getType(), 1);
  if (failed(type))
    return failure();
  Value y = MatmulOp::create(builder, op.getLoc(), *type, *x, *w);
  if (op.getBias()) {
    FailureOr<Value> b = get(op, op.getBias(), 0);
    if (failed(b))
      return failure();
    y = AddOp::create(builder, op.getLoc(), y, *b);
  }
  locals[op.getResult()] = {y, 1};
  return success();
}

LogicalResult FunctionPartitioner::partitionRow(RowParallelLinearOp op) {
  FailureOr<Value> x = get(op, op.getInput(), 1);
  FailureOr<Value> w = get(op, op.getWeight(), 0);
  if (failed(x) || failed(w))
    return failure();
  FailureOr<RankedTensorType> type = localType(op, op.getType(), kReplicated);
  if (failed(type))
    return failure();
  Value partial = MatmulOp::create(builder, op.getLoc(), *type, *x, *w);
  Value y =
      AllReduceOp::create(builder, op.getLoc(), ReductionKind::Sum, partial);
  if (op.getBias()) {
    // The bias is added once, to the reduced sum, not to every partial.
    FailureOr<Value> b = get(op, op.getBias(), kReplicated);
    if (failed(b))
      return failure();
    y = AddOp::create(builder, op.getLoc(), y, *b);
  }
  locals[op.getResult()] = {y, kReplicated};
  return success();
}

LogicalResult FunctionPartitioner::partitionOp(Operation *op) {
  builder.setInsertionPoint(op);
  if (auto column = dyn_cast<ColumnParallelLinearOp>(op))
    return partitionColumn(column);
  if (auto row = dyn_cast<RowParallelLinearOp>(op))
    return partitionRow(row);
  if (auto gelu = dyn_cast<GeluOp>(op)) {
    LocalValue in = locals.lookup(gelu.getInput());
    if (!in.value)
      return get(op, gelu.getInput(), kReplicated);
    locals[gelu.getResult()] = {GeluOp::create(builder, op->getLoc(), in.value),
                                in.layout};
    return success();
  }
  if (auto add = dyn_cast<AddOp>(op)) {
    LocalValue lhs = locals.lookup(add.getLhs());
    if (!lhs.value)
      return get(op, add.getLhs(), kReplicated);
    auto lhsType = cast<RankedTensorType>(add.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(add.getRhs().getType());
    Layout rhsLayout = lhs.layout;
    if (rhsType.getRank() != lhsType.getRank())
      // A bias along the last dimension is split only if that dimension is.
      rhsLayout = lhs.layout == lhsType.getRank() - 1 ? 0 : kReplicated;
    FailureOr<Value> rhs = get(op, add.getRhs(), rhsLayout);
    if (failed(rhs))
      return failure();
    locals[add.getResult()] = {
        AddOp::create(builder, op->getLoc(), lhs.value, *rhs), lhs.layout};
    return success();
  }
  if (auto matmul = dyn_cast<MatmulOp>(op)) {
    // A plain matmul in the global view runs unsharded on every rank.
    FailureOr<Value> lhs = get(op, matmul.getLhs(), kReplicated);
    FailureOr<Value> rhs = get(op, matmul.getRhs(), kReplicated);
    if (failed(lhs) || failed(rhs))
      return failure();
    locals[matmul.getResult()] = {
        MatmulOp::create(builder, op->getLoc(), matmul.getType(), *lhs, *rhs),
        kReplicated};
    return success();
  }
  if (isa<func::ReturnOp>(op)) {
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      LocalValue local = locals.lookup(v);
      if (!local.value)
        return op->emitOpError() << "returns a value kb-tp-partition could "
                                    "not partition";
      operands.push_back(local.value);
      // Results keep the split their producer left them in; the executor
      // gathers them using `kb.split_dim`.
      unsigned index = operands.size() - 1;
      if (local.layout != kReplicated)
        func.setResultAttr(index, KBDialect::kSplitDimAttrName,
                           builder.getI64IntegerAttr(local.layout));
    }
    func::ReturnOp::create(builder, op->getLoc(), operands);
    return success();
  }
  bool touchesTensors =
      llvm::any_of(op->getOperandTypes(), llvm::IsaPred<TensorType>) ||
      llvm::any_of(op->getResultTypes(), llvm::IsaPred<TensorType>);
  if (touchesTensors || op->getNumRegions() != 0)
    return op->emitOpError() << "is not supported by kb-tp-partition";
  // Scalar ops (index arithmetic, constants) are the same on every rank.
  keptInPlace.insert(op);
  for (Value result : op->getResults())
    locals[result] = {result, kReplicated};
  return success();
}

Layout FunctionPartitioner::preferredArgLayout(BlockArgument arg) {
  // An argument that every TP use wants split the same way is scattered that
  // way by the executor; otherwise it is replicated and sliced where needed.
  std::optional<Layout> preferred;
  for (OpOperand &use : arg.getUses()) {
    Operation *user = use.getOwner();
    std::optional<Layout> want;
    if (auto column = dyn_cast<ColumnParallelLinearOp>(user)) {
      if (use.get() == column.getWeight())
        want = 1;
      else if (use.get() == column.getBias())
        want = 0;
    } else if (auto row = dyn_cast<RowParallelLinearOp>(user)) {
      if (use.get() == row.getInput())
        want = 1;
      else if (use.get() == row.getWeight())
        want = 0;
    }
    if (!want)
      return kReplicated;
    if (preferred && *preferred != *want)
      return kReplicated;
    preferred = want;
  }
  return preferred.value_or(kReplicated);
}

LogicalResult FunctionPartitioner::run() {
  if (func.isExternal())
    return success();
  if (!func.getBody().hasOneBlock())
    return func.emitOpError() << "has " << func.getBody().getBlocks().size()
                              << " blocks; kb-tp-partition handles one";
  Block &body = func.getBody().front();

  SmallVector<Type> argTypes;
  // Collected and set at once: setting them one by one rebuilds the array.
  SmallVector<DictionaryAttr> argAttrs;
  for (BlockArgument arg : body.getArguments()) {
    DictionaryAttr existing = func.getArgAttrDict(arg.getArgNumber());
    argAttrs.push_back(existing ? existing : builder.getDictionaryAttr({}));
    if (!isa<RankedTensorType>(arg.getType())) {
      locals[arg] = {arg, kReplicated};
      argTypes.push_back(arg.getType());
      continue;
    }
    Layout layout = preferredArgLayout(arg);
    FailureOr<RankedTensorType> type =
        localType(func, arg.getType(), layout, arg);
    if (failed(type))
      return failure();
    arg.setType(*type);
    locals[arg] = {arg, layout};
    argTypes.push_back(*type);
    if (layout != kReplicated) {
      NamedAttrList attrs(argAttrs.back());
      attrs.set(KBDialect::kSplitDimAttrName,
                builder.getI64IntegerAttr(layout));
      argAttrs.back() = attrs.getDictionary(func.getContext());
    }
  }
  func.setAllArgAttrs(argAttrs);

  SmallVector<Operation *> globalOps;
  for (Operation &op : body.getOperations())
    globalOps.push_back(&op);
  for (Operation *op : globalOps)
    if (failed(partitionOp(op)))
      return failure();

  // Erase the global ops, users first. Scalar ops were kept in place.
  for (Operation *op : llvm::reverse(globalOps)) {
    if (keptInPlace.contains(op))
      continue;
    op->dropAllUses();
    op->erase();
  }

  auto ret = cast<func::ReturnOp>(body.getTerminator());
  func.setFunctionType(
      FunctionType::get(func.getContext(), argTypes, ret.getOperandTypes()));
  return success();
}

namespace {
struct KBTPPartitionPass
    : public kb::impl::KBTPPartitionPassBase<KBTPPartitionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (module->hasAttr(KBDialect::kSPMDAttrName))
      return;
    std::optional<int64_t> worldSize = lookupWorldSize(module);
    if (!worldSize) {
      module.emitError() << "kb-tp-partition needs the TP world size: add '"
                         << KBDialect::kWorldSizeAttrName << "' to the module";
      return signalPassFailure();
    }
    for (auto func :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      FunctionPartitioner partitioner(func, *worldSize);
      if (failed(partitioner.run()))
        return signalPassFailure();
    }
    module->setAttr(KBDialect::kSPMDAttrName, UnitAttr::get(&getContext()));
  }
};
} // namespace
