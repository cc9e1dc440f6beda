//===- CollectivePatterns.cpp - work that involves the TP ranks -----------===//
//
// The ops whose result depends on the other ranks or on the rank itself:
// `kb.all_reduce` becomes a bandwidth-optimal ring on each distinct piece
// (reduce-scatter then all-gather, 2(W-1)/W of the piece sent per rank);
// `kb.tp_slice` of the rank becomes one DMA per piece whose source offset
// moves with the rank, so `kb.tp_rank` itself has no device value.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

struct AllReduceOpLowering : public OpConversionPattern<AllReduceOp> {
  AllReduceOpLowering(const CubeBufferTypeConverter &converter,
                      MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(AllReduceOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput());
    // Over one rank the reduction is the identity.
    if (worldSize == 1) {
      replaceByBuffers(rewriter, op, input);
      return success();
    }
    // The input is reduced in place when nothing reads it afterwards: here
    // no other op uses it, and no caller of the kernel this op is in
    // (kb.keep_input) does.
    DeviceTensor result = input;
    if (op->hasAttr(KBDialect::kKeepInputAttrName) ||
        !op.getInput().hasOneUse()) {
      result = allocate(rewriter, loc, input.type);
      SmallVector<Value> copies;
      for (auto [from, to] : llvm::zip_equal(input.pieces, result.pieces)) {
        SmallVector<int64_t> zeros(from.box.sizes.size(), 0);
        copies.push_back(gt::DMAOp::create(
            rewriter, loc, tokenType(op.getContext()), from.buffer, zeros,
            to.buffer, zeros, from.box.sizes, nullptr));
      }
      waitFor(rewriter, loc, copies);
    }
    ReductionKind kind = op.getReduction();
    SmallVector<const Piece *> distinct = distinctPieces(result);
    for (const Piece *piece : distinct) {
      for (int64_t step = 0; step + 1 < worldSize; ++step)
        gt::ReduceScatterStepOp::create(rewriter, loc, kind, piece->buffer,
                                        step, worldSize);
      for (int64_t step = 0; step + 1 < worldSize; ++step)
        gt::AllGatherStepOp::create(rewriter, loc, piece->buffer, step,
                                    worldSize);
    }
    // Replicas in other cubes take the reduced copy.
    SmallVector<Value> broadcasts;
    for (const Piece &piece : result.pieces) {
      const Piece *reduced = *llvm::find_if(
          distinct, [&](const Piece *p) { return p->box == piece.box; });
      if (reduced->buffer == piece.buffer)
        continue;
      SmallVector<int64_t> zeros(piece.box.sizes.size(), 0);
      broadcasts.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(op.getContext()), reduced->buffer, zeros,
          piece.buffer, zeros, piece.box.sizes, nullptr));
    }
    waitFor(rewriter, loc, broadcasts);
    replaceByBuffers(rewriter, op, result);
    return success();
  }

  int64_t worldSize;
};

struct TPSliceOpLowering : public OpConversionPattern<TPSliceOp> {
  TPSliceOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx,
                    int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(TPSliceOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput());
    int64_t dim = op.getDim();
    int64_t sliceSize = type->getDimSize(dim);
    // Every rank reads `piece.box` moved `rank` slices on: one source piece
    // must hold all of them, so the DMA differs between ranks only in its
    // offset.
    SmallVector<const Piece *> sources;
    for (const CubePiece &piece :
         cubePieces(type->getShape(), getDPPolicy(*type))) {
      Box reach = piece.box;
      reach.sizes[dim] += (worldSize - 1) * sliceSize;
      const Piece *source = nullptr;
      for (const Piece &candidate : input.pieces)
        if (candidate.box.contains(reach) &&
            (!source || candidate.cube == piece.cube))
          source = &candidate;
      if (!source)
        return op.emitOpError()
               << "slices a tensor whose cube pieces split dimension " << dim
               << "; a rank-dependent slice needs it whole in one cube (place "
                  "it replicated over the cubes)";
      sources.push_back(source);
    }

    Location loc = op.getLoc();
    DeviceTensor out = allocate(rewriter, loc, *type);
    SmallVector<int64_t> stride(type->getRank(), 0);
    stride[dim] = sliceSize;
    SmallVector<Value> copies;
    for (auto [piece, source] : llvm::zip_equal(out.pieces, sources))
      copies.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(op.getContext()), source->buffer,
          minus(piece.box.offsets, source->box.offsets), piece.buffer,
          SmallVector<int64_t>(piece.box.sizes.size(), 0), piece.box.sizes,
          rewriter.getDenseI64ArrayAttr(stride)));
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

/// The rank converts to no value (the type converter maps `index` to
/// nothing): its only readers are slices, whose DMAs carry it as a stride.
struct TPRankOpLowering : public OpConversionPattern<TPRankOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TPRankOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    for (Operation *user : op->getUsers())
      if (!isa<TPSliceOp>(user))
        return user->emitOpError()
               << "uses kb.tp_rank, which convert-kb-to-gemm-tile lowers only "
                  "into kb.tp_slice";
    SmallVector<SmallVector<Value>> noValue(1);
    rewriter.replaceOpWithMultiple(op, std::move(noValue));
    return success();
  }
};

} // namespace

void kb::detail::populateCollectiveConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  patterns.add<AllReduceOpLowering, TPSliceOpLowering>(
      typeConverter, patterns.getContext(), worldSize);
  patterns.add<TPRankOpLowering>(typeConverter, patterns.getContext());
}
