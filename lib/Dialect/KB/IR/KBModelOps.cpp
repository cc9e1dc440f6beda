//===- KBModelOps.cpp - the embedding and tied head: verifiers, rules -----===//
//
// kb.embedding in both views: the global lookup, and each rank's lookup of
// its vocabulary shard (Megatron's VocabParallelEmbedding), whose zero rows
// for the ids of other shards make the result a partial sum over the ranks.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace kb;

static RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

LogicalResult EmbeddingOp::verify() {
  RankedTensorType ids = tensorOf(getIds()), table = tensorOf(getTable()),
                   result = tensorOf(getResult());
  for (auto [name, t] : {std::pair{"ids", ids}, std::pair{"table", table},
                         std::pair{"result", result}})
    if (!t.hasStaticShape() ||
        !checkedByteSize(t.getShape(),
                         llvm::divideCeil(t.getElementTypeBitWidth(), 8)))
      return emitOpError() << "expects " << name
                           << " to have a static shape of at most 2^63 - 1 "
                              "bytes, got "
                           << t;
  if (ids.getRank() != 1)
    return emitOpError() << "expects ids of rank 1 (one id per token), got "
                         << ids;
  if (table.getRank() != 2)
    return emitOpError() << "expects a table of rank 2 (vocabulary × hidden), "
                            "got "
                         << table;
  if (result.getRank() != 2 || result.getDimSize(0) != ids.getDimSize(0) ||
      result.getDimSize(1) != table.getDimSize(1))
    return emitOpError() << "expects a " << ids.getDimSize(0) << "x"
                         << table.getDimSize(1)
                         << " result (tokens × the table's hidden size), got "
                         << result;
  if (result.getElementType() != table.getElementType())
    return emitOpError() << "expects the result to have the table's element "
                            "type "
                         << table.getElementType() << ", got "
                         << result.getElementType();
  if (table.getDimSize(0) == 0)
    return emitOpError() << "has an empty vocabulary (a table of 0 rows)";

  // The local form: all three of rank, vocab and shard, or none.
  bool local = static_cast<bool>(getRank());
  if (local != getVocabSize().has_value() ||
      local != getShardRows().has_value())
    return emitOpError() << "takes the rank, 'vocab_size' and 'shard_rows' "
                            "together (the local form) or none of them";
  if (!local)
    return success();
  if (!isInSPMDModule(*this))
    return emitOpError() << "with a rank is a local-view (SPMD) op: the "
                            "enclosing module must carry '"
                         << KBDialect::kSPMDAttrName << "'";
  std::optional<int64_t> worldSize = lookupWorldSize(*this);
  if (!worldSize)
    return emitOpError() << "needs the TP world size: the enclosing module "
                            "has no '"
                         << KBDialect::kWorldSizeAttrName << "' attribute";
  int64_t v = getVocabularySize(), n = getShardSize(),
          rows = table.getDimSize(0);
  int64_t expected = llvm::divideCeilSigned(v, *worldSize);
  if (n != expected)
    return emitOpError() << "has shards of " << n << " ids, but a vocabulary "
                         << "of " << v << " over TP world size " << *worldSize
                         << " has shards of " << expected;
  if (rows != n && rows != v)
    return emitOpError() << "has a table of " << rows
                         << " rows, neither the shard (" << n
                         << " rows) nor the whole vocabulary (" << v << ")";
  return success();
}

/// V of a global-view op (kb.embedding, kb.lm_head) reading `table` of `rows`
/// rows under partition. kb-tp-partition gives a function argument its local
/// type (and `kb.split_dim`) before it builds the local ops, so a table
/// argument already split along its rows holds V / W of them.
static int64_t globalTableRows(Value table, int64_t rows, int64_t worldSize) {
  auto arg = dyn_cast<BlockArgument>(table);
  if (!arg)
    return rows;
  auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  auto split = func ? func.getArgAttrOfType<IntegerAttr>(
                          arg.getArgNumber(), KBDialect::kSplitDimAttrName)
                    : IntegerAttr();
  return split && split.getInt() == 0 ? rows * worldSize : rows;
}

/// V of an embedding under partition: a local one (with a rank) has it as
/// its vocabulary size.
static int64_t globalVocabularySize(EmbeddingOp op, int64_t worldSize) {
  return op.getRank() ? op.getVocabularySize()
                      : globalTableRows(op.getTable(), op.getVocabularySize(),
                                        worldSize);
}

FailureOr<TPRule> EmbeddingOp::getTPRule(ArrayRef<TPLayout>) {
  // Megatron's VocabParallelEmbedding: the table split along the vocabulary,
  // the ids on every rank, a partial sum out. A vocabulary that W does not
  // divide is held whole (each rank reads its padded shard from it).
  int64_t worldSize = lookupWorldSize(*this).value_or(1);
  TPLayout table = globalVocabularySize(*this, worldSize) % worldSize == 0
                       ? TPLayout::split(0)
                       : TPLayout::replicated();
  return TPRule{{TPLayout::replicated(), table},
                {TPLayout::partial(ReductionKind::Sum)}};
}

SmallVector<Value, 1> EmbeddingOp::buildLocalOp(OpBuilder &builder,
                                                ValueRange operands,
                                                TypeRange resultTypes) {
  int64_t worldSize = lookupWorldSize(*this).value_or(1);
  int64_t v = globalVocabularySize(*this, worldSize);
  // One rank holds the whole vocabulary: the lookup is the global one.
  if (worldSize == 1)
    return {EmbeddingOp::create(builder, getLoc(), resultTypes.front(),
                                operands[0], operands[1])
                .getResult()};
  Value rank = TPRankOp::create(builder, getLoc(), builder.getIndexType());
  auto op = EmbeddingOp::create(
      builder, getLoc(), resultTypes.front(), operands[0], operands[1], rank,
      builder.getI64IntegerAttr(v),
      builder.getI64IntegerAttr(llvm::divideCeilSigned(v, worldSize)));
  return {op.getResult()};
}

//===----------------------------------------------------------------------===//
// kb.lm_head: the tied output layer, input · tableᵀ over the embedding's table,
// column-parallel over the (padded) vocabulary.
//===----------------------------------------------------------------------===//

LogicalResult LMHeadOp::verify() {
  RankedTensorType input = tensorOf(getInput()), table = tensorOf(getTable()),
                   result = tensorOf(getResult());
  for (auto [name, t] : {std::pair{"input", input}, std::pair{"table", table},
                         std::pair{"result", result}}) {
    if (!t.hasStaticShape() ||
        !checkedByteSize(t.getShape(),
                         llvm::divideCeil(t.getElementTypeBitWidth(), 8)))
      return emitOpError() << "expects " << name
                           << " to have a static shape of at most 2^63 - 1 "
                              "bytes, got "
                           << t;
    if (t.getRank() != 2)
      return emitOpError() << "expects " << name << " of rank 2, got " << t;
  }
  if (input.getDimSize(1) != table.getDimSize(1))
    return emitOpError() << "multiplies an input of " << input.getDimSize(1)
                         << " columns by a table of hidden size "
                         << table.getDimSize(1) << "; they must be equal";
  if (input.getElementType() != table.getElementType() ||
      result.getElementType() != table.getElementType())
    return emitOpError() << "expects one element type, got input "
                         << input.getElementType() << ", table "
                         << table.getElementType() << " and result "
                         << result.getElementType();
  if (result.getDimSize(0) != input.getDimSize(0))
    return emitOpError() << "expects a result of " << input.getDimSize(0)
                         << " rows (one per input row), got "
                         << result.getDimSize(0);
  if (table.getDimSize(0) == 0)
    return emitOpError() << "has an empty vocabulary (a table of 0 rows)";

  bool local = static_cast<bool>(getRank());
  if (local != getVocabSize().has_value() ||
      local != getShardRows().has_value())
    return emitOpError() << "takes the rank, 'vocab_size' and 'shard_rows' "
                            "together (the local form) or none of them";
  int64_t v = getVocabularySize(), logits = result.getDimSize(1);
  if (!local) {
    if (logits < v)
      return emitOpError() << "has " << logits << " logits for a vocabulary of "
                           << v << " ids; the result needs V columns or more "
                              "(the vocabulary, padded)";
    return success();
  }
  if (!isInSPMDModule(*this))
    return emitOpError() << "with a rank is a local-view (SPMD) op: the "
                            "enclosing module must carry '"
                         << KBDialect::kSPMDAttrName << "'";
  std::optional<int64_t> worldSize = lookupWorldSize(*this);
  if (!worldSize)
    return emitOpError() << "needs the TP world size: the enclosing module "
                            "has no '"
                         << KBDialect::kWorldSizeAttrName << "' attribute";
  int64_t n = static_cast<int64_t>(*getShardRows()), rows = table.getDimSize(0);
  if (logits != n)
    return emitOpError() << "has shards of " << n << " ids but a result of "
                         << logits << " logits per rank";
  if (n * *worldSize < v)
    return emitOpError() << "has shards of " << n << " ids, which over TP "
                         << "world size " << *worldSize
                         << " cover only " << n * *worldSize << " of the "
                         << v << " ids";
  if (rows != v && !(rows == n && n * *worldSize == v))
    return emitOpError() << "has a table of " << rows
                         << " rows, neither the whole vocabulary (" << v
                         << ") nor a shard of " << n << " rows of it";
  return success();
}

FailureOr<TPRule> LMHeadOp::getTPRule(ArrayRef<TPLayout>) {
  // Megatron's output layer with shared embedding weights: the input on every
  // rank, the logits split along the vocabulary. The table is split along its
  // rows exactly when the embedding splits it (no padding, W divides V).
  int64_t worldSize = lookupWorldSize(*this).value_or(1);
  int64_t v = getRank() ? getVocabularySize()
                        : globalTableRows(getTable(), getVocabularySize(),
                                          worldSize);
  int64_t logits = tensorOf(getResult()).getDimSize(1);
  if (logits % worldSize != 0)
    return emitOpError() << "pads the vocabulary of " << v << " ids to "
                         << logits << " logits, which TP world size "
                         << worldSize << " does not divide";
  TPLayout table = logits == v && v % worldSize == 0 ? TPLayout::split(0)
                                                     : TPLayout::replicated();
  return TPRule{{TPLayout::replicated(), table}, {TPLayout::split(1)}};
}

SmallVector<Value, 1> LMHeadOp::buildLocalOp(OpBuilder &builder,
                                             ValueRange operands,
                                             TypeRange resultTypes) {
  int64_t worldSize = lookupWorldSize(*this).value_or(1);
  if (worldSize == 1)
    return {LMHeadOp::create(builder, getLoc(), resultTypes.front(),
                             operands[0], operands[1])
                .getResult()};
  int64_t v = globalTableRows(getTable(), getVocabularySize(), worldSize);
  int64_t logits = tensorOf(getResult()).getDimSize(1);
  Value rank = TPRankOp::create(builder, getLoc(), builder.getIndexType());
  auto op = LMHeadOp::create(builder, getLoc(), resultTypes.front(),
                             operands[0], operands[1], rank,
                             builder.getI64IntegerAttr(v),
                             builder.getI64IntegerAttr(logits / worldSize));
  return {op.getResult()};
}
