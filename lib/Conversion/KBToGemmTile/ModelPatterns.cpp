//===- ModelPatterns.cpp - kb.embedding and kb.lm_head on the device ------===//
//
// kb.embedding (a rank's lookup in its vocabulary shard) lowers to
// gemm_tile.gather_rows on the DMA engine: for each cube piece of the result
// and each piece of the table that holds some of its columns, one gather of
// the piece's token rows. The ids are staged into the result's cube first
// (a vector of S ids); the table is read where it lies. A table piece holds
// a range of vocabulary rows, so pieces split along rows each gather the ids
// of their range into the same fresh, zero result piece.
//
// kb.lm_head (the tied head, input · tableᵀ) lowers like kb.matmul, its tile
// gemms reading the table's rows transposed (gemm_tile.matmul transpose_rhs).
// Each cube stages the table rows of its logits' columns; when a rank reads
// its rows from the whole table (a padded vocabulary), the staging DMA moves
// with the rank and is clipped at the vocabulary's end, so the last rank's
// padded logits multiply zero rows.
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

/// More tiles than this on one PE means a program no device could hold.
constexpr int64_t kMaxHeadTilesPerSlab = 1 << 20;

struct LMHeadOpLowering : public OpConversionPattern<LMHeadOp> {
  LMHeadOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(LMHeadOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type) ||
        failed(checkPlaced(op, op.getInput().getType(), device)) ||
        failed(checkPlaced(op, op.getTable().getType(), device)))
      return failure();
    Location loc = op.getLoc();
    Type token = tokenType(op.getContext());
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    DeviceTensor table =
        deviceTensor(op.getTable().getType(), adaptor.getTable(), device);
    Placement policy = getDPPolicy(*type).resolve(device);
    int64_t k = op.getInput().getType().getDimSize(1);
    int64_t elementBytes = type->getElementTypeBitWidth() / 8;
    int64_t tableRows = op.getTableRows();
    // Rank r's column j is table row r·N + j when it reads the whole table.
    bool moves = op.getRank() && !op.holdsShard();
    int64_t shard = moves ? static_cast<int64_t>(*op.getShardRows()) : 0;
    if (moves)
      for (const Piece &p : table.pieces)
        if (p.box.offsets[0] != 0 || p.box.sizes[0] != tableRows)
          return op.emitOpError()
                 << "reads its rank's rows from a table placed in pieces of "
                 << p.box.sizes[0] << " of its " << tableRows
                 << " rows; the device lowering needs every row in a piece";

    DeviceTensor out = allocate(rewriter, loc, *type, device);
    SmallVector<Box> computeBoxes =
        matmulComputeBoxes(type->getShape(), policy);
    struct Operands {
      Value a, b;
      SmallVector<int64_t> aOffsets, bOffsets;
      int64_t columns = 0; // the box's columns with table rows
    };
    OperandStager stager(rewriter, loc);
    SmallVector<Value> staging;
    SmallVector<Operands> operands;
    for (auto [piece, box] : llvm::zip_equal(out.pieces, computeBoxes)) {
      Operands ops;
      int64_t col = box.offsets[1], cols = box.sizes[1];
      if (box.numElements() == 0) {
        operands.push_back(ops);
        continue;
      }
      auto [a, aOffsets] = stager.bring(
          input, piece.cube, Box{{box.offsets[0], 0}, {box.sizes[0], k}});
      ops.a = a;
      ops.aOffsets = aOffsets;
      if (!moves) {
        // The rows are known here: those past the table have zero logits.
        ops.columns = std::clamp<int64_t>(tableRows - col, 0, cols);
        if (ops.columns > 0) {
          auto [b, bOffsets] = stager.bring(
              table, piece.cube, Box{{col, 0}, {ops.columns, k}});
          ops.b = b;
          ops.bOffsets = bOffsets;
        }
      } else {
        // A zero buffer of the box's rows, filled where the rank's rows are.
        auto bufferType = MemRefType::get(
            {cols, k}, type->getElementType(), MemRefLayoutAttrInterface(),
            gt::CubeAttr::get(rewriter.getContext(), piece.cube));
        ops.b = gt::AllocOp::create(rewriter, loc, bufferType);
        ops.bOffsets = {0, 0};
        ops.columns = cols;
        for (const Piece *from : distinctPieces(table, piece.cube))
          staging.push_back(gt::DMAOp::create(
              rewriter, loc, token, from->buffer,
              rewriter.getDenseI64ArrayAttr({col, 0}), ops.b,
              rewriter.getDenseI64ArrayAttr({0, from->box.offsets[1]}),
              rewriter.getDenseI64ArrayAttr({cols, from->box.sizes[1]}),
              rewriter.getDenseI64ArrayAttr({shard, 0}),
              /*target_rank_stride=*/nullptr, /*rank_replicas=*/nullptr,
              /*rank_shards=*/nullptr, rewriter.getUnitAttr(),
              /*after=*/ValueRange()));
      }
      operands.push_back(ops);
    }
    stager.waitForStaging();
    waitFor(rewriter, loc, staging);

    SmallVector<Value> tiles;
    for (auto [piece, box, ops] :
         llvm::zip_equal(out.pieces, computeBoxes, operands)) {
      if (box.numElements() == 0 || ops.columns == 0)
        continue;
      Box local{minus(box.offsets, piece.box.offsets), box.sizes};
      for (auto [pe, slab] :
           llvm::enumerate(peShares(local, policy, device.pesPerCube))) {
        // The slab's columns that have table rows.
        int64_t first = slab.offsets[1] - local.offsets[1];
        int64_t rows = slab.sizes[0],
                cols = std::clamp<int64_t>(ops.columns - first, 0,
                                           slab.sizes[1]);
        if (rows == 0 || cols == 0)
          continue;
        std::optional<GemmTileSizes> tile =
            chooseGemmTile(rows, cols, k, elementBytes, device);
        if (!tile)
          return op.emitOpError()
                 << "has no gemm tile that fits a PE buffer of "
                 << device.peBufferBytes() << " bytes";
        int64_t count =
            ((rows + tile->m - 1) / tile->m) * ((cols + tile->n - 1) / tile->n);
        if (count > kMaxHeadTilesPerSlab)
          return op.emitOpError()
                 << "would need " << count << " tiles on one PE (at most "
                 << kMaxHeadTilesPerSlab << "); the shapes are beyond the device";
        for (int64_t i = 0; i < rows; i += tile->m)
          for (int64_t j = 0; j < cols; j += tile->n) {
            int64_t m = std::min(tile->m, rows - i),
                    n = std::min(tile->n, cols - j);
            int64_t r = slab.offsets[0] + i, c = slab.offsets[1] + j;
            int64_t ar = r - local.offsets[0], bc = c - local.offsets[1];
            tiles.push_back(gt::MatmulOp::create(
                rewriter, loc, token, pe, ops.a,
                SmallVector<int64_t>{ops.aOffsets[0] + ar, ops.aOffsets[1]},
                ops.b,
                SmallVector<int64_t>{ops.bOffsets[0] + bc, ops.bOffsets[1]},
                piece.buffer, SmallVector<int64_t>{r, c},
                SmallVector<int64_t>{m, n, k}, tile->kChunk,
                /*accumulate=*/false, /*transpose_rhs=*/true));
          }
      }
    }
    waitFor(rewriter, loc, tiles);

    if (policy.isCubeReplicated())
      copySharesToReplicas(rewriter, loc, out, computeBoxes);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

} // namespace

void kb::detail::populateModelConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<EmbeddingOpLowering, LMHeadOpLowering>(typeConverter,
                                                     patterns.getContext());
}
