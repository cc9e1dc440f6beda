//===- CollectivePatterns.cpp - work that involves the TP ranks -----------===//
//
// The ops whose result depends on the other ranks or on the rank itself:
// `kb.all_reduce` becomes one bandwidth-optimal ring over its distinct pieces
// (reduce-scatter then all-gather, 2(W-1)/W of the tensor sent per rank);
// `kb.all_gather` and `kb.reduce_scatter` along a dimension one ring each
// (half of that, (W-1)/W of the whole tensor);
// `kb.tp_slice` of the rank becomes one DMA per piece whose source offset
// moves with the rank's slice index (the rank, or its group's index when
// groups of ranks share a slice), so `kb.tp_rank` itself has no device value.
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
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(AllReduceOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
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
      result = allocate(rewriter, loc, input.type, device);
      SmallVector<Value> copies;
      for (auto [from, to] : llvm::zip_equal(input.pieces, result.pieces)) {
        SmallVector<int64_t> zeros(from.box.sizes.size(), 0);
        copies.push_back(gt::DMAOp::create(
            rewriter, loc, tokenType(op.getContext()), from.buffer, zeros,
            to.buffer, zeros, from.box.sizes, nullptr));
      }
      waitFor(rewriter, loc, copies);
    }
    // One ring for the whole tensor: its chunks are drawn from every
    // distinct piece, in whichever cubes they are, so a tensor split over C
    // cubes takes 2(W - 1) steps, not C rings of them.
    ReductionKind kind = op.getReduction();
    SmallVector<const Piece *> distinct = distinctPieces(result);
    SmallVector<Value> ring = llvm::map_to_vector(
        distinct, [](const Piece *p) { return p->buffer; });
    for (int64_t step = 0; step + 1 < worldSize; ++step)
      gt::ReduceScatterStepOp::create(rewriter, loc, Type(), kind, ring, step,
                                      worldSize, /*along=*/nullptr);
    for (int64_t step = 0; step + 1 < worldSize; ++step)
      gt::AllGatherStepOp::create(rewriter, loc, Type(), ring, step, worldSize,
                                  /*along=*/nullptr);
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

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

/// The buffer an all_gather or reduce_scatter along a dimension runs its
/// ring on: the whole tensor in one cube, so one logical collective is one
/// ring whatever the placement. `reuse` is a piece that already holds the
/// whole tensor, if any; otherwise a fresh buffer in `cube`.
static Value ringBuffer(OpBuilder &builder, Location loc,
                        RankedTensorType whole, int64_t cube,
                        const Piece *reuse) {
  if (reuse)
    return reuse->buffer;
  auto type = MemRefType::get(
      whole.getShape(), whole.getElementType(), MemRefLayoutAttrInterface(),
      gt::CubeAttr::get(builder.getContext(), cube));
  return gt::AllocOp::create(builder, loc, type);
}

/// The piece of `tensor` that holds all of it, if one does.
static const Piece *wholePiece(const DeviceTensor &tensor) {
  for (const Piece &piece : tensor.pieces)
    if (llvm::all_of(piece.box.offsets, [](int64_t o) { return o == 0; }) &&
        ArrayRef<int64_t>(piece.box.sizes) == tensor.type.getShape())
      return &piece;
  return nullptr;
}

/// `kb.all_gather` along d: each rank puts its slice at its place in a ring
/// buffer of the whole tensor (a DMA whose target moves with the rank), the
/// W - 1 steps of a ring all-gather along d fill in the others' slices
/// ((W - 1)/W of the tensor sent per rank), and the result's other pieces
/// copy their regions from it.
struct AllGatherOpLowering : public OpConversionPattern<AllGatherOp> {
  AllGatherOpLowering(const CubeBufferTypeConverter &converter,
                      MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(AllGatherOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    if (worldSize == 1) {
      replaceByBuffers(rewriter, op, input);
      return success();
    }
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t dim = op.getDim();
    DeviceTensor result = allocate(rewriter, loc, *type, device);
    const Piece *reuse = wholePiece(result);
    Value ring = ringBuffer(rewriter, loc, *type, result.pieces.front().cube,
                            reuse);
    SmallVector<int64_t> stride(type->getRank(), 0);
    stride[dim] = input.type.getDimSize(dim);
    SmallVector<Value> copies;
    for (const Piece *piece : distinctPieces(input))
      copies.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(ctx), piece->buffer,
          rewriter.getDenseI64ArrayAttr(
              SmallVector<int64_t>(piece->box.sizes.size(), 0)),
          ring, rewriter.getDenseI64ArrayAttr(piece->box.offsets),
          rewriter.getDenseI64ArrayAttr(piece->box.sizes),
          /*rank_stride=*/nullptr, rewriter.getDenseI64ArrayAttr(stride),
          /*rank_replicas=*/nullptr, /*rank_shards=*/nullptr, /*clip=*/nullptr,
          /*after=*/ValueRange()));
    waitFor(rewriter, loc, copies);
    for (int64_t step = 0; step + 1 < worldSize; ++step)
      gt::AllGatherStepOp::create(rewriter, loc, Type(), ring, step, worldSize,
                                  rewriter.getI64IntegerAttr(dim));
    for (const Piece &piece : result.pieces)
      if (piece.buffer != ring)
        copies.push_back(gt::DMAOp::create(
            rewriter, loc, tokenType(ctx), ring, piece.box.offsets,
            piece.buffer, SmallVector<int64_t>(piece.box.sizes.size(), 0),
            piece.box.sizes, nullptr));
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, result);
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

/// `kb.reduce_scatter` along d: the input is copied into a ring buffer of
/// the whole tensor (it may be read again), the W - 1 steps of a ring
/// reduce-scatter along d leave rank r's slice reduced ((W - 1)/W of the
/// tensor sent per rank), and each piece of the result copies it out by a
/// DMA whose source moves with the rank.
struct ReduceScatterOpLowering : public OpConversionPattern<ReduceScatterOp> {
  ReduceScatterOpLowering(const CubeBufferTypeConverter &converter,
                          MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(ReduceScatterOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    if (worldSize == 1) {
      replaceByBuffers(rewriter, op, input);
      return success();
    }
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t dim = op.getDim();
    DeviceTensor result = allocate(rewriter, loc, *type, device);
    Value ring = ringBuffer(rewriter, loc, input.type,
                            result.pieces.front().cube, nullptr);
    SmallVector<Value> copies;
    for (const Piece *piece : distinctPieces(input, result.pieces.front().cube))
      copies.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(ctx), piece->buffer,
          SmallVector<int64_t>(piece->box.sizes.size(), 0), ring,
          piece->box.offsets, piece->box.sizes, nullptr));
    waitFor(rewriter, loc, copies);
    for (int64_t step = 0; step + 1 < worldSize; ++step)
      gt::ReduceScatterStepOp::create(rewriter, loc, Type(), op.getReduction(),
                                      ring, step, worldSize,
                                      rewriter.getI64IntegerAttr(dim));
    SmallVector<int64_t> stride(type->getRank(), 0);
    stride[dim] = type->getDimSize(dim);
    for (const Piece &piece : result.pieces)
      copies.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(ctx), ring, piece.box.offsets,
          piece.buffer, SmallVector<int64_t>(piece.box.sizes.size(), 0),
          piece.box.sizes, rewriter.getDenseI64ArrayAttr(stride)));
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, result);
    return success();
  }

  const gt::DeviceDescription &device;
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
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    int64_t dim = op.getDim();
    int64_t sliceSize = type->getDimSize(dim);
    // Every rank reads `piece.box` moved by the window's offset and
    // (rank / replicas) mod shards slices on: one source piece must hold all
    // of them, so the DMA differs between ranks only in its offset.
    int64_t shards = op.getNumShards();
    SmallVector<const Piece *> sources;
    SmallVector<Box> reaches;
    for (const CubePiece &piece : cubePiecesOf(*type, device)) {
      Box reach = piece.box;
      op.widenToReach(reach.offsets, reach.sizes);
      reaches.push_back(reach);
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
    DeviceTensor out = allocate(rewriter, loc, *type, device);
    SmallVector<int64_t> stride(type->getRank(), 0);
    stride[dim] = sliceSize;
    // The slice index is the rank itself for a plain split: the DMA then
    // carries no grouping.
    IntegerAttr replicas, shardCount;
    if (op.getNumReplicas() != 1 || shards != worldSize) {
      replicas = rewriter.getI64IntegerAttr(op.getNumReplicas());
      shardCount = rewriter.getI64IntegerAttr(shards);
    }
    SmallVector<Value> copies;
    for (auto [piece, source, reach] :
         llvm::zip_equal(out.pieces, sources, reaches))
      copies.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(op.getContext()), source->buffer,
          rewriter.getDenseI64ArrayAttr(
              minus(reach.offsets, source->box.offsets)),
          piece.buffer,
          rewriter.getDenseI64ArrayAttr(
              SmallVector<int64_t>(piece.box.sizes.size(), 0)),
          rewriter.getDenseI64ArrayAttr(piece.box.sizes),
          rewriter.getDenseI64ArrayAttr(stride),
          /*target_rank_stride=*/nullptr, replicas, shardCount,
          /*clip=*/nullptr, /*after=*/ValueRange()));
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

/// The rank converts to no value (the type converter maps `index` to
/// nothing): its only readers are slices, whose DMAs carry it as a stride,
/// embeddings, whose row gathers do, and tied heads, whose staging DMAs do.
struct TPRankOpLowering : public OpConversionPattern<TPRankOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TPRankOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    for (Operation *user : op->getUsers())
      if (!isa<TPSliceOp, EmbeddingOp, LMHeadOp>(user))
        return user->emitOpError()
               << "uses kb.tp_rank, which convert-kb-to-gemm-tile lowers only "
                  "into kb.tp_slice, kb.embedding and kb.lm_head";
    SmallVector<SmallVector<Value>> noValue(1);
    rewriter.replaceOpWithMultiple(op, std::move(noValue));
    return success();
  }
};

} // namespace

void kb::detail::populateCollectiveConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  patterns.add<AllReduceOpLowering, AllGatherOpLowering,
               ReduceScatterOpLowering, TPSliceOpLowering>(
      typeConverter, patterns.getContext(), worldSize);
  patterns.add<TPRankOpLowering>(typeConverter, patterns.getContext());
}
