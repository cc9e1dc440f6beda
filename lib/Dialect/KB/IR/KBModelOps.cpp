//===- KBModelOps.cpp - the embedding's verifier and partition rule -------===//
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

/// V of a global-view embedding under partition. kb-tp-partition gives a
/// function argument its local type (and `kb.split_dim`) before it builds the
/// local ops, so a table argument already split along its rows holds V / W of
/// them.
static int64_t globalVocabularySize(EmbeddingOp op, int64_t worldSize) {
  int64_t rows = op.getVocabularySize();
  auto arg = dyn_cast<BlockArgument>(op.getTable());
  if (op.getRank() || !arg)
    return rows;
  auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  auto split = func ? func.getArgAttrOfType<IntegerAttr>(
                          arg.getArgNumber(), KBDialect::kSplitDimAttrName)
                    : IntegerAttr();
  return split && split.getInt() == 0 ? rows * worldSize : rows;
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
