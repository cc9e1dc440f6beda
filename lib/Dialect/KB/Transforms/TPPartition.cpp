//===- TPPartition.cpp - global view to rank-generic SPMD -----------------===//
//
// Turns each function of a module with `kb.world_size` = W into the program
// one TP rank runs. Every global value gets a local counterpart and a TP
// layout (TPLayout.h: replicated, split(d) or partial(kind)). Each op says,
// through TPPartitionOpInterface, which layouts it needs for its operands
// given the ones they have; the pass reshards what differs (Reshard.h: a
// local slice, or a collective) and asks the op for its local form. Nothing
// here knows a particular tensor op.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/IR/OpOrigin.h"
#include "kb/Dialect/KB/Transforms/Passes.h"
#include "kb/Dialect/KB/Transforms/Reshard.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSet.h"

namespace kb {
#define GEN_PASS_DEF_KBTPPARTITIONPASS
#include "kb/Dialect/KB/Transforms/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

namespace {

/// A rank's piece of a global value, and how the ranks hold it.
struct LocalValue {
  Value value;
  TPLayout layout = TPLayout::replicated();
};

/// Partitions one function. Ops are rewritten in order; the global ops are
/// erased once every local op exists.
class FunctionPartitioner {
public:
  FunctionPartitioner(func::FuncOp func, int64_t worldSize,
                      bool sequenceParallel)
      : func(func), worldSize(worldSize), sequenceParallel(sequenceParallel),
        builder(func.getContext()) {}

  LogicalResult run();

private:
  /// The local type of a global tensor type under `layout`; the DPPolicy
  /// encoding, if any, is checked against the local shape. Errors point at
  /// `arg` when the tensor is a function argument, else at `where`.
  FailureOr<RankedTensorType> localType(Operation *where, Type globalType,
                                        TPLayout layout,
                                        BlockArgument arg = nullptr);
  /// The local value of operand `index` of `user`, in layout `want`.
  FailureOr<Value> get(Operation *user, unsigned index, TPLayout want);
  LogicalResult partitionOp(Operation *op);
  LogicalResult partitionReturn(func::ReturnOp op);
  /// The layout a function argument is scattered in: the split every use
  /// asks for when all agree, else replicated.
  FailureOr<TPLayout> preferredArgLayout(BlockArgument arg);
  /// Sequence parallelism: whether `arg` is an activation the layer before
  /// would hand over split along the tokens (argTakesTokenSplit).
  bool argTakesTokenSplit(BlockArgument arg);
  Value rank(Location loc);

  /// Sequence parallelism: the rule of an op that reads a partial sum is
  /// asked again with that operand split along tokens, and taken when the
  /// op works on that split (sequenceParallelRule).
  FailureOr<TPRule> sequenceParallelRule(TPPartitionOpInterface op,
                                         ArrayRef<TPLayout> have,
                                         TPRule rule);

  func::FuncOp func;
  int64_t worldSize;
  bool sequenceParallel;
  OpBuilder builder;
  llvm::DenseMap<Value, LocalValue> locals;
  /// Reshards already made, reused by later users: (global value, layout
  /// spelling) -> local value. One all-reduce per partial value, not one per
  /// consumer.
  llvm::DenseMap<std::pair<Value, StringRef>, Value> resharded;
  llvm::StringSet<> layoutNames;
  Value rankValue;
  llvm::SmallPtrSet<Operation *, 4> keptInPlace;
};

} // namespace

FailureOr<RankedTensorType> FunctionPartitioner::localType(Operation *where,
                                                           Type globalType,
                                                           TPLayout layout,
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
  if (layout.isSplit()) {
    int64_t dim = layout.getDim();
    if (dim >= tensor.getRank())
      return report() << "splits dimension " << dim << " of a rank-"
                      << tensor.getRank() << " tensor";
    int64_t shards = layout.getShards(worldSize);
    if (layout.isGrouped() && shape[dim] % shards != 0)
      return report() << "splits dimension " << dim << " (size " << shape[dim]
                      << ") into " << shards << " slices, one per group of "
                      << layout.getReplicas()
                      << " ranks, which do not divide it";
    if (shape[dim] % shards != 0)
      return report() << "splits dimension " << dim << " (size " << shape[dim]
                      << ") over the TP world size (" << worldSize
                      << "), which does not divide it";
    shape[dim] /= shards;
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

FailureOr<Value> FunctionPartitioner::get(Operation *user, unsigned index,
                                          TPLayout want) {
  Value global = user->getOperand(index);
  auto it = locals.find(global);
  if (it == locals.end())
    return user->emitOpError() << "uses a value that kb-tp-partition could "
                                  "not partition";
  LocalValue local = it->second;
  if (local.layout == want)
    return local.value;
  auto key =
      std::make_pair(global, layoutNames.insert(want.str()).first->getKey());
  if (Value done = resharded.lookup(key))
    return done;

  FailureOr<RankedTensorType> type = localType(user, global.getType(), want);
  if (failed(type))
    return failure();
  // A collective belongs to the op that made the value (a row-parallel
  // layer's all-reduce carries that layer's location).
  Location loc = global.getDefiningOp() ? global.getDefiningOp()->getLoc()
                                        : user->getLoc();
  auto makeRank = [&] { return rank(loc); };
  auto emitError = [&] {
    return user->emitOpError()
           << "needs operand #" << index << " (" << global.getType() << ") ";
  };
  ReshardContext context{builder, makeRank, emitError};
  FailureOr<Value> value =
      reshard(context, loc, local.value, local.layout, want, *type);
  if (succeeded(value))
    resharded[key] = *value;
  return value;
}

LogicalResult FunctionPartitioner::partitionOp(Operation *op) {
  builder.setInsertionPoint(op);
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return partitionReturn(ret);
  auto partitionable = dyn_cast<TPPartitionOpInterface>(op);
  if (!partitionable) {
    bool touchesTensors =
        llvm::any_of(op->getOperandTypes(), llvm::IsaPred<TensorType>) ||
        llvm::any_of(op->getResultTypes(), llvm::IsaPred<TensorType>);
    if (touchesTensors || op->getNumRegions() != 0)
      return op->emitOpError() << "is not supported by kb-tp-partition";
    // Scalar ops (index arithmetic, constants) are the same on every rank.
    keptInPlace.insert(op);
    for (Value result : op->getResults())
      locals[result] = {result, TPLayout::replicated()};
    return success();
  }

  // Every local op (and collective) made for `op` carries its location,
  // named after its layer: the device time is reported per layer and line.
  op->setLoc(layerLocation(op));
  SmallVector<TPLayout> have;
  for (Value operand : op->getOperands()) {
    auto it = locals.find(operand);
    if (it == locals.end())
      return op->emitOpError() << "uses a value that kb-tp-partition could "
                                  "not partition";
    have.push_back(it->second.layout);
  }
  FailureOr<TPRule> maybeRule = partitionable.getTPRule(have);
  if (failed(maybeRule))
    return failure();
  if (sequenceParallel) {
    maybeRule = sequenceParallelRule(partitionable, have, *maybeRule);
    if (failed(maybeRule))
      return failure();
  }
  TPRule &rule = *maybeRule;
  if (rule.operands.size() != op->getNumOperands() ||
      rule.results.size() != op->getNumResults())
    return op->emitOpError() << "has a TP rule for " << rule.operands.size()
                             << " operands and " << rule.results.size()
                             << " results; kb-tp-partition needs one per "
                                "operand and result";
  SmallVector<Value> localOperands;
  for (auto [index, want] : llvm::enumerate(rule.operands)) {
    FailureOr<Value> local = get(op, index, want);
    if (failed(local))
      return failure();
    localOperands.push_back(*local);
  }
  SmallVector<Type> localResultTypes;
  for (auto [result, layout] : llvm::zip(op->getResults(), rule.results)) {
    FailureOr<RankedTensorType> type = localType(op, result.getType(), layout);
    if (failed(type))
      return failure();
    localResultTypes.push_back(*type);
  }
  SmallVector<Value, 1> localResults =
      partitionable.buildLocalOp(builder, localOperands, localResultTypes);
  for (auto [global, local, layout] :
       llvm::zip(op->getResults(), localResults, rule.results))
    locals[global] = {local, layout};
  return success();
}

FailureOr<TPRule>
FunctionPartitioner::sequenceParallelRule(TPPartitionOpInterface op,
                                          ArrayRef<TPLayout> have,
                                          TPRule rule) {
  // Megatron's sequence parallelism (Korthikanti et al., 2022): where a
  // partial sum would be all-reduced for an op that works on whole rows
  // (a norm, a residual add, an elementwise op), it is reduce-scattered
  // along the tokens instead and the op runs on the rank's rows; a later
  // layer that needs the value whole all-gathers it. Same link bytes as the
  // all-reduce, 1/W of the activations.
  SmallVector<TPLayout> tokens(have);
  SmallVector<unsigned> moved;
  for (auto [i, layout] : llvm::enumerate(have))
    if (layout.isPartial() && i < rule.operands.size() &&
        rule.operands[i].isReplicated()) {
      tokens[i] = TPLayout::split(0);
      moved.push_back(i);
    }
  if (moved.empty())
    return rule;
  // A rule that cannot take the split reports why; that is no error here,
  // the op then keeps its own rule.
  FailureOr<TPRule> alternative = failure();
  {
    ScopedDiagnosticHandler quiet(op->getContext(),
                                  [](Diagnostic &) { return success(); });
    alternative = op.getTPRule(tokens);
  }
  if (failed(alternative) ||
      alternative->operands.size() != rule.operands.size() ||
      llvm::any_of(moved, [&](unsigned i) {
        return !alternative->operands[i].isSplitAlong(0);
      }))
    return rule;
  for (unsigned i : moved) {
    auto type = cast<RankedTensorType>(op->getOperand(i).getType());
    if (type.getRank() == 0 || type.getDimSize(0) % worldSize != 0)
      return op->emitOpError()
             << "reads a partial sum of "
             << (type.getRank() ? type.getDimSize(0) : 0)
             << " tokens (dimension 0 of " << type
             << "), which sequence parallelism ('"
             << KBDialect::kSequenceParallelAttrName
             << "') splits over TP world size " << worldSize
             << "; it does not divide them";
  }
  return *alternative;
}

LogicalResult FunctionPartitioner::partitionReturn(func::ReturnOp op) {
  SmallVector<Value> operands;
  for (auto [index, global] : llvm::enumerate(op->getOperands())) {
    auto it = locals.find(global);
    if (it == locals.end())
      return op->emitOpError() << "returns a value kb-tp-partition could "
                                  "not partition";
    // Results keep a split their producer left them in (the executor
    // gathers them using `kb.split_dim`); partial sums are reduced.
    TPLayout layout = it->second.layout;
    if (layout.isPartial())
      layout = TPLayout::replicated();
    FailureOr<Value> local = get(op, index, layout);
    if (failed(local))
      return failure();
    operands.push_back(*local);
    if (layout.isSplit())
      func.setResultAttr(index, KBDialect::kSplitDimAttrName,
                         builder.getI64IntegerAttr(layout.getDim()));
    // A value held by groups of ranks is gathered from one rank per group.
    if (layout.isGrouped())
      func.setResultAttr(index, KBDialect::kSplitReplicasAttrName,
                         builder.getI64IntegerAttr(layout.getReplicas()));
  }
  func::ReturnOp::create(builder, op->getLoc(), operands);
  return success();
}

FailureOr<TPLayout> FunctionPartitioner::preferredArgLayout(BlockArgument arg) {
  // Each use is asked for its rule as if every operand were replicated: an
  // op that needs this operand split says so.
  std::optional<TPLayout> preferred;
  for (OpOperand &use : arg.getUses()) {
    auto user = dyn_cast<TPPartitionOpInterface>(use.getOwner());
    if (!user)
      return TPLayout::replicated();
    SmallVector<TPLayout> replicated(user->getNumOperands(),
                                     TPLayout::replicated());
    FailureOr<TPRule> rule = user.getTPRule(replicated);
    if (failed(rule))
      return failure();
    if (use.getOperandNumber() >= rule->operands.size())
      return TPLayout::replicated();
    TPLayout want = rule->operands[use.getOperandNumber()];
    if (!want.isSplit() || (preferred && *preferred != want))
      return TPLayout::replicated();
    preferred = want;
  }
  return preferred.value_or(TPLayout::replicated());
}

bool FunctionPartitioner::argTakesTokenSplit(BlockArgument arg) {
  // Under sequence parallelism a layer hands its output to the next split
  // along the tokens (the last reduce-scatter leaves it so), so the next
  // layer's input arrives that way and its first column-parallel gemm
  // all-gathers it: Megatron's 2 all-gathers and 2 reduce-scatters per
  // layer. An argument is such an input when every use works on it split
  // along the tokens and keeps it so (a norm, a residual add); one that a
  // gemm reads whole stays replicated.
  auto type = dyn_cast<RankedTensorType>(arg.getType());
  if (!type || type.getRank() < 2 || type.getDimSize(0) % worldSize != 0 ||
      arg.use_empty())
    return false;
  ScopedDiagnosticHandler quiet(arg.getContext(),
                                [](Diagnostic &) { return success(); });
  for (OpOperand &use : arg.getUses()) {
    auto user = dyn_cast<TPPartitionOpInterface>(use.getOwner());
    if (!user)
      return false;
    SmallVector<TPLayout> have(user->getNumOperands(),
                               TPLayout::replicated());
    unsigned index = use.getOperandNumber();
    have[index] = TPLayout::split(0);
    FailureOr<TPRule> rule = user.getTPRule(have);
    if (failed(rule) || index >= rule->operands.size() ||
        !rule->operands[index].isSplitAlong(0) ||
        llvm::any_of(rule->results,
                     [](TPLayout l) { return !l.isSplitAlong(0); }))
      return false;
  }
  return true;
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
      locals[arg] = {arg, TPLayout::replicated()};
      argTypes.push_back(arg.getType());
      continue;
    }
    FailureOr<TPLayout> preferred = preferredArgLayout(arg);
    if (failed(preferred))
      return failure();
    TPLayout layout = *preferred;
    if (sequenceParallel && layout.isReplicated() && argTakesTokenSplit(arg))
      layout = TPLayout::split(0);
    FailureOr<RankedTensorType> type =
        localType(func, arg.getType(), layout, arg);
    if (failed(type))
      return failure();
    arg.setType(*type);
    locals[arg] = {arg, layout};
    argTypes.push_back(*type);
    if (layout.isSplit()) {
      NamedAttrList attrs(argAttrs.back());
      attrs.set(KBDialect::kSplitDimAttrName,
                builder.getI64IntegerAttr(layout.getDim()));
      if (layout.isGrouped())
        attrs.set(KBDialect::kSplitReplicasAttrName,
                  builder.getI64IntegerAttr(layout.getReplicas()));
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
      FunctionPartitioner partitioner(
          func, *worldSize,
          module->hasAttr(KBDialect::kSequenceParallelAttrName));
      if (failed(partitioner.run()))
        return signalPassFailure();
    }
    module->setAttr(KBDialect::kSPMDAttrName, UnitAttr::get(&getContext()));
  }
};
} // namespace
