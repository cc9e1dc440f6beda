//===- ModelPatterns.cpp - kb.embedding to row gathers --------------------===//
//
// kb.embedding (a rank's lookup in its vocabulary shard) lowers to
// gemm_tile.gather_rows on the DMA engine: for each cube piece of the result
// and each piece of the table that holds some of its columns, one gather of
// the piece's token rows. The ids are staged into the result's cube first
// (a vector of S ids); the table is read where it lies. A table piece holds
// a range of vocabulary rows, so pieces split along rows each gather the ids
// of their range into the same fresh, zero result piece.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

struct EmbeddingOpLowering : public OpConversionPattern<EmbeddingOp> {
  EmbeddingOpLowering(const CubeBufferTypeConverter &converter,
                      MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(EmbeddingOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type) || failed(checkPlaced(op, op.getIds().getType(), device)) ||
        failed(checkPlaced(op, op.getTable().getType(), device)))
      return failure();
    Location loc = op.getLoc();
    DeviceTensor ids = deviceTensor(op.getIds().getType(), adaptor.getIds(), device);
    DeviceTensor table =
        deviceTensor(op.getTable().getType(), adaptor.getTable(), device);
    int64_t vocab = op.getVocabularySize(), shard = op.getShardSize();
    // The id of the table's row 0 on rank r is r·shard for a shard, 0 for
    // the whole table. Without a rank (one rank) the shard is the vocabulary.
    int64_t rankStride = op.holdsShard() ? shard : 0;
    DeviceTensor out = allocate(rewriter, loc, *type, device);
    OperandStager stager(rewriter, loc);
    SmallVector<std::pair<const Piece *, std::pair<Value, int64_t>>> staged;
    for (const Piece &piece : out.pieces) {
      Box tokens{{piece.box.offsets[0]}, {piece.box.sizes[0]}};
      auto [idBuffer, idOffsets] = stager.bring(ids, piece.cube, tokens);
      staged.push_back({&piece, {idBuffer, idOffsets[0]}});
    }
    stager.waitForStaging();
    SmallVector<Value> gathers;
    for (auto [piece, idRegion] : staged) {
      int64_t col = piece->box.offsets[1], cols = piece->box.sizes[1];
      for (const Piece *from : distinctPieces(table, piece->cube)) {
        int64_t fromCol = from->box.offsets[1];
        int64_t begin = std::max(col, fromCol);
        int64_t end = std::min(col + cols, fromCol + from->box.sizes[1]);
        if (begin >= end)
          continue;
        gathers.push_back(gt::GatherRowsOp::create(
            rewriter, loc, tokenType(rewriter.getContext()), idRegion.first,
            ArrayRef<int64_t>{idRegion.second}, from->buffer,
            ArrayRef<int64_t>{0, begin - fromCol}, piece->buffer,
            ArrayRef<int64_t>{0, begin - col},
            ArrayRef<int64_t>{piece->box.sizes[0], end - begin},
            from->box.sizes[0], from->box.offsets[0], rankStride, shard,
            vocab));
      }
    }
    waitFor(rewriter, loc, gathers);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

} // namespace

void kb::detail::populateModelConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<EmbeddingOpLowering>(typeConverter, patterns.getContext());
}
