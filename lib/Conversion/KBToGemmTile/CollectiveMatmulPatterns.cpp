//===- CollectiveMatmulPatterns.cpp - a gemm whose all-reduce it hides ----===//
//
// `kb.matmul_all_reduce` cuts the gemm's rows into bands. Each band is
// computed on all the PEs into band buffers of its own (one per cube piece),
// and its ring all-reduce runs asynchronously on those buffers while the PEs
// compute the next band; a band's reduced rows are copied into the result
// pieces once its ring is done. So the link, the PEs and the DMA engines
// work at once, and only the last band's ring is exposed (a decomposed
// collective matmul). Separate band buffers keep each ring an ordinary ring
// over whole buffers: the chunking needs nothing new of the ring steps.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

struct MatmulAllReduceOpLowering
    : public OpConversionPattern<MatmulAllReduceOp> {
  MatmulAllReduceOpLowering(const CubeBufferTypeConverter &converter,
                            MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(MatmulAllReduceOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor lhs = deviceTensor(op.getLhs().getType(), adaptor.getLhs(), device);
    DeviceTensor rhs = deviceTensor(op.getRhs().getType(), adaptor.getRhs(), device);
    DPPolicyAttr policyAttr = getDPPolicy(*type);
    Placement policy = policyAttr.resolve(device);
    ArrayRef<int64_t> shape = type->getShape();
    int64_t k = op.getLhs().getType().getDimSize(1);
    int64_t elementBytes = op.getLhs().getType().getElementTypeBitWidth() / 8;
    int64_t chunks = op.getChunks(), bandRows = shape[0] / chunks;
    if (!gemmRowsChunkable(shape, policy))
      return op.emitOpError()
             << "cuts its rows into " << chunks
             << " chunks, but its result's placement " << policyAttr
             << " does not have every cube compute whole columns of its own "
                "piece; place the result split by columns or on one cube";
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type token = tokenType(ctx);

    DeviceTensor out = allocate(rewriter, loc, *type, device);
    SmallVector<const Piece *> distinct = distinctPieces(out);

    // Each distinct piece's operands, brought into its cube once.
    struct Operands {
      Value a, b;
      SmallVector<int64_t> aOffsets, bOffsets;
    };
    OperandStager stager(rewriter, loc);
    SmallVector<Operands> operands;
    for (const Piece *piece : distinct) {
      Box rows{{0, 0}, {shape[0], k}};
      Box cols{{0, piece->box.offsets[1]}, {k, piece->box.sizes[1]}};
      auto [a, aOffsets] = stager.bring(lhs, piece->cube, rows);
      auto [b, bOffsets] = stager.bring(rhs, piece->cube, cols);
      operands.push_back({a, b, aOffsets, bOffsets});
    }
    stager.waitForStaging();

    llvm::DenseMap<std::pair<int64_t, int64_t>, std::optional<GemmTileSizes>>
        tileSizes;
    SmallVector<Value> previousRing, copies;
    SmallVector<Value> previousBands;
    // Copies band `band`'s reduced rows, in `buffers`, into every result
    // piece (replicas included) once its ring is waited for.
    auto copyOut = [&](int64_t band, ArrayRef<Value> buffers) {
      for (const Piece &piece : out.pieces) {
        auto *source = llvm::find_if(
            distinct, [&](const Piece *p) { return p->box == piece.box; });
        Value from = buffers[source - distinct.begin()];
        copies.push_back(gt::DMAOp::create(
            rewriter, loc, token, from, SmallVector<int64_t>{0, 0},
            piece.buffer, SmallVector<int64_t>{band * bandRows, 0},
            SmallVector<int64_t>{bandRows, piece.box.sizes[1]}, nullptr));
      }
    };
    for (int64_t band = 0; band < chunks; ++band) {
      int64_t firstRow = band * bandRows;
      SmallVector<Value> bands, tiles;
      for (auto [piece, ops] : llvm::zip_equal(distinct, operands)) {
        int64_t cols = piece->box.sizes[1];
        auto bandType = MemRefType::get(
            {bandRows, cols}, type->getElementType(),
            MemRefLayoutAttrInterface(), gt::CubeAttr::get(ctx, piece->cube));
        Value buffer = gt::AllocOp::create(rewriter, loc, bandType);
        bands.push_back(buffer);
        Box local{{0, 0}, {bandRows, cols}};
        SmallVector<Box> slabs = peShares(local, policy, device.pesPerCube);
        for (auto [pe, slab] : llvm::enumerate(slabs)) {
          auto [cached, fresh] =
              tileSizes.try_emplace({slab.sizes[0], slab.sizes[1]});
          if (fresh)
            cached->second = chooseGemmTile(slab.sizes[0], slab.sizes[1], k,
                                            elementBytes, device);
          std::optional<GemmTileSizes> tile = cached->second;
          if (!tile)
            return op.emitOpError()
                   << "has no gemm tile that fits a PE buffer of "
                   << device.peBufferBytes() << " bytes";
          for (int64_t i = 0; i < slab.sizes[0]; i += tile->m)
            for (int64_t j = 0; j < slab.sizes[1]; j += tile->n) {
              int64_t m = std::min(tile->m, slab.sizes[0] - i),
                      n = std::min(tile->n, slab.sizes[1] - j);
              int64_t r = slab.offsets[0] + i, c = slab.offsets[1] + j;
              tiles.push_back(gt::MatmulOp::create(
                  rewriter, loc, token, pe, ops.a,
                  SmallVector<int64_t>{ops.aOffsets[0] + firstRow + r,
                                       ops.aOffsets[1]},
                  ops.b,
                  SmallVector<int64_t>{ops.bOffsets[0], ops.bOffsets[1] + c},
                  buffer, SmallVector<int64_t>{r, c},
                  SmallVector<int64_t>{m, n, k}, tile->kChunk,
                  /*accumulate=*/false));
            }
        }
      }
      // The previous band's ring has run beside these tiles; its rows go to
      // the result while the tiles finish.
      if (band > 0) {
        waitFor(rewriter, loc, previousRing);
        copyOut(band - 1, previousBands);
      }
      waitFor(rewriter, loc, tiles);
      previousRing.clear();
      if (worldSize > 1) {
        ReductionKind kind = op.getReduction();
        for (int64_t step = 0; step + 1 < worldSize; ++step) {
          auto ring = gt::ReduceScatterStepOp::create(
              rewriter, loc, token, kind, bands, step, worldSize,
              /*along=*/nullptr);
          // Every band's ring after the first continues one all-reduce.
          if (band > 0 && step == 0)
            ring->setAttr(gt::GemmTileDialect::kContinuesCollectiveAttrName,
                          rewriter.getUnitAttr());
          previousRing.push_back(ring.getToken());
        }
        for (int64_t step = 0; step + 1 < worldSize; ++step)
          previousRing.push_back(gt::AllGatherStepOp::create(rewriter, loc,
                                                             token, bands, step,
                                                             worldSize,
                                                             /*along=*/nullptr)
                                     .getToken());
      }
      previousBands = std::move(bands);
    }
    waitFor(rewriter, loc, previousRing);
    copyOut(chunks - 1, previousBands);
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

} // namespace

void kb::detail::populateCollectiveMatmulConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  patterns.add<MatmulAllReduceOpLowering>(typeConverter, patterns.getContext(),
                                          worldSize);
}
