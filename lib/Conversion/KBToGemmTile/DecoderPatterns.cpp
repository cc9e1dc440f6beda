//===- DecoderPatterns.cpp - norms, rope, KV append, slices to the device -===//
//
// The row ops of a decoder layer (kb.rms_norm, kb.layer_norm, kb.rope)
// become one gemm_tile row op per PE slab: each cube computes the rows of its
// result piece, split over all its PEs by rows (rope, when there are fewer
// rows than PEs, by whole heads). A norm reduces over whole rows and a rope
// rotates whole heads, so the box a cube works on is its piece widened to
// whole rows (whole heads): under a placement that splits the last dimension
// the cube stages the whole rows, computes them into a scratch buffer and
// copies its piece's columns out (docs/design/0009-row-ops-whole-rows.md).
//
// kb.kv_append and tensor.extract_slice move data only: each result piece is
// copied by DMA from the operand pieces that hold its region.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

SmallVector<int64_t> zeros(size_t rank) {
  return SmallVector<int64_t>(rank, 0);
}

/// One PE's slab of a row op: the PE, where its rows start in the input and
/// the output buffers, its sizes, and its first row in the tensor.
struct RowSlab {
  int64_t pe;
  Value input;
  SmallVector<int64_t> inputOffsets;
  SmallVector<Value> vectors;
  Value out;
  SmallVector<int64_t> outOffsets;
  SmallVector<int64_t> sizes;
  int64_t firstRow;
};

/// Emits a row op producing a tensor of placed `type` from `input` and the
/// rank-1 `vectors` (a weight, a bias): staging, one `emit` per PE slab, a
/// wait, then the copies of widened work into the result pieces.
template <typename Emit>
DeviceTensor lowerRowOp(ConversionPatternRewriter &rewriter, Location loc,
                        RankedTensorType type, const DeviceTensor &input,
                        ArrayRef<DeviceTensor> vectors, int64_t unit,
                        const gt::DeviceDescription &device, Emit emit) {
  DeviceTensor out = allocate(rewriter, loc, type, device);
  int64_t cols = type.getDimSize(1);

  struct CubeWork {
    Box work;
    Value in;
    SmallVector<int64_t> inOffsets;
    SmallVector<Value> vectors;
    Value target; // the result piece, or a scratch buffer of the work box
  };
  OperandStager stager(rewriter, loc);
  SmallVector<CubeWork> cubes;
  for (const Piece &piece : out.pieces) {
    CubeWork w;
    w.work = rowWorkBox(piece.box, cols, unit);
    std::tie(w.in, w.inOffsets) = stager.bring(input, piece.cube, w.work);
    for (const DeviceTensor &v : vectors) {
      // A norm's work spans whole rows, so its vectors arrive whole: the
      // buffer is the vector (the device op reads all of it).
      auto [buffer, offsets] =
          stager.bring(v, piece.cube, Box{{0}, {w.work.sizes[1]}});
      w.vectors.push_back(buffer);
    }
    if (w.work == piece.box) {
      w.target = piece.buffer;
    } else {
      auto scratch = MemRefType::get(
          w.work.sizes, type.getElementType(), MemRefLayoutAttrInterface(),
          gt::CubeAttr::get(rewriter.getContext(), piece.cube));
      w.target = gt::AllocOp::create(rewriter, loc, scratch);
    }
    cubes.push_back(std::move(w));
  }
  stager.waitForStaging();

  SmallVector<Value> tokens;
  for (const CubeWork &w : cubes) {
    Box local{zeros(2), w.work.sizes};
    for (auto [pe, share] :
         llvm::enumerate(rowShares(local, unit, device.pesPerCube)))
      tokens.push_back(
          emit(RowSlab{static_cast<int64_t>(pe), w.in,
                       plus(w.inOffsets, share.offsets), w.vectors, w.target,
                       SmallVector<int64_t>(ArrayRef<int64_t>(share.offsets)),
                       SmallVector<int64_t>(ArrayRef<int64_t>(share.sizes)),
                       w.work.offsets[0] + share.offsets[0]}));
  }
  waitFor(rewriter, loc, tokens);

  // Widened work: the piece's columns out of the scratch buffer.
  for (auto [piece, w] : llvm::zip_equal(out.pieces, cubes))
    if (w.target != piece.buffer)
      tokens.push_back(gt::DMAOp::create(
          rewriter, loc, tokenType(rewriter.getContext()), w.target,
          minus(piece.box.offsets, w.work.offsets), piece.buffer, zeros(2),
          piece.box.sizes, /*rank_stride=*/nullptr));
  waitFor(rewriter, loc, tokens);
  return out;
}

/// The placed rank-2 type of a norm's or rope's result, or a located failure.
/// A norm's PE holds a whole row and its `vectors`: a row that does not fit
/// the PE buffer is refused here rather than left to the device op's verifier.
FailureOr<RankedTensorType> checkRowOp(Operation *op, Type type,
                                       const gt::DeviceDescription &device,
                                       int64_t vectors = -1) {
  FailureOr<RankedTensorType> placed = checkPlaced(op, type, device);
  if (failed(placed))
    return failure();
  if (placed->getRank() != 2)
    return op->emitOpError()
           << "is lowered to the device for [rows, columns] tensors, got "
              "rank "
           << placed->getRank();
  if (vectors >= 0) {
    int64_t cols = placed->getDimSize(1);
    int64_t bytes =
        normRowWorkingSet(cols, placed->getElementTypeBitWidth() / 8, vectors);
    if (bytes > device.peBufferBytes())
      return op->emitOpError()
             << "normalizes rows of " << cols << " columns, which need "
             << bytes << " bytes of a PE's buffer (the row, its result and "
             << "the weight" << (vectors == 2 ? " and bias" : "")
             << "), but a PE has " << device.peBufferBytes();
  }
  return placed;
}

struct RMSNormOpLowering : public OpConversionPattern<RMSNormOp> {
  RMSNormOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(RMSNormOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type =
        checkRowOp(op, op.getType(), device, /*vectors=*/1);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    DeviceTensor weight =
        deviceTensor(op.getWeight().getType(), adaptor.getWeight(), device);
    DeviceTensor out =
        lowerRowOp(rewriter, loc, *type, input, {weight}, /*unit=*/0, device,
                   [&](const RowSlab &s) -> Value {
                     return gt::RMSNormOp::create(
                         rewriter, loc, tokenType(op.getContext()), s.pe,
                         s.input, s.inputOffsets, s.vectors[0], s.out,
                         s.outOffsets, s.sizes, op.getEps());
                   });
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

struct LayerNormOpLowering : public OpConversionPattern<LayerNormOp> {
  LayerNormOpLowering(const CubeBufferTypeConverter &converter,
                      MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(LayerNormOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type =
        checkRowOp(op, op.getType(), device, /*vectors=*/2);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    DeviceTensor weight =
        deviceTensor(op.getWeight().getType(), adaptor.getWeight(), device);
    DeviceTensor bias =
        deviceTensor(op.getBias().getType(), adaptor.getBias(), device);
    DeviceTensor out =
        lowerRowOp(rewriter, loc, *type, input, {weight, bias},
                   /*unit=*/0, device, [&](const RowSlab &s) -> Value {
                     return gt::LayerNormOp::create(
                         rewriter, loc, tokenType(op.getContext()), s.pe,
                         s.input, s.inputOffsets, s.vectors[0], s.vectors[1],
                         s.out, s.outOffsets, s.sizes, op.getEps());
                   });
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

struct RoPEOpLowering : public OpConversionPattern<RoPEOp> {
  RoPEOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(RoPEOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkRowOp(op, op.getType(), device);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    DeviceTensor input =
        deviceTensor(op.getInput().getType(), adaptor.getInput(), device);
    int64_t headDim = op.getHeadDim();
    // The TP rule keeps a rope's rows whole on every rank, so a row's index
    // in the local tensor is its token's.
    int64_t offset = op.getPositionOffset();
    DeviceTensor out =
        lowerRowOp(rewriter, loc, *type, input, {}, /*unit=*/headDim, device,
                   [&](const RowSlab &s) -> Value {
                     return gt::RoPEOp::create(
                         rewriter, loc, tokenType(op.getContext()), s.pe,
                         s.input, s.inputOffsets, s.out, s.outOffsets, s.sizes,
                         headDim, offset + s.firstRow, op.getTheta());
                   });
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

/// DMAs of `box` of `source` (in the source's coordinates) into `target`,
/// whose origin is at `targetOrigin` of those coordinates, from the source's
/// distinct pieces that overlap it (a replica in `cube` preferred).
void copyBox(OpBuilder &builder, Location loc, const DeviceTensor &source,
             const Box &box, int64_t cube, Value target,
             ArrayRef<int64_t> targetOrigin, SmallVectorImpl<Value> &tokens) {
  for (const Piece *from : distinctPieces(source, cube)) {
    std::optional<Box> overlap = from->box.intersect(box);
    if (!overlap)
      continue;
    tokens.push_back(gt::DMAOp::create(
        builder, loc, tokenType(builder.getContext()), from->buffer,
        minus(overlap->offsets, from->box.offsets), target,
        minus(overlap->offsets, targetOrigin), overlap->sizes,
        /*rank_stride=*/nullptr));
  }
}

/// A box moved by `by` in dimension `dim`.
Box shifted(Box box, int64_t dim, int64_t by) {
  box.offsets[dim] += by;
  return box;
}

struct KVAppendOpLowering : public OpConversionPattern<KVAppendOp> {
  KVAppendOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(KVAppendOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    DeviceTensor cache =
        deviceTensor(op.getCache().getType(), adaptor.getCache(), device);
    DeviceTensor rows =
        deviceTensor(op.getNewRows().getType(), adaptor.getNewRows(), device);
    int64_t cached = op.getCache().getType().getDimSize(0);
    DeviceTensor out = allocate(rewriter, loc, *type, device);
    SmallVector<Value> tokens;
    // Result rows [0, P) are the cache's, [P, P + N) the new rows' moved by
    // P: each piece takes what it covers of both.
    for (const Piece &piece : out.pieces) {
      copyBox(rewriter, loc, cache, piece.box, piece.cube, piece.buffer,
              piece.box.offsets, tokens);
      copyBox(rewriter, loc, rows, shifted(piece.box, 0, -cached), piece.cube,
              piece.buffer, shifted(piece.box, 0, -cached).offsets, tokens);
    }
    waitFor(rewriter, loc, tokens);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

struct ExtractSliceOpLowering
    : public OpConversionPattern<tensor::ExtractSliceOp> {
  ExtractSliceOpLowering(const CubeBufferTypeConverter &converter,
                         MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(tensor::ExtractSliceOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op->getNumOperands() != 1 ||
        !llvm::all_of(op.getStaticStrides(), [](int64_t s) { return s == 1; }))
      return op.emitOpError() << "is lowered to the device only with static "
                                 "offsets and sizes and unit strides";
    if (op.getSourceType().getRank() != op.getResultType().getRank())
      return op.emitOpError()
             << "is lowered to the device only without rank reduction";
    FailureOr<RankedTensorType> type =
        checkPlaced(op, op.getResultType(), device);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    DeviceTensor source =
        deviceTensor(op.getSourceType(), adaptor.getSource(), device);
    ArrayRef<int64_t> offsets = op.getStaticOffsets();
    DeviceTensor out = allocate(rewriter, loc, *type, device);
    SmallVector<Value> tokens;
    for (const Piece &piece : out.pieces) {
      Box from = piece.box;
      for (auto [o, at] : llvm::zip_equal(from.offsets, offsets))
        o += at;
      copyBox(rewriter, loc, source, from, piece.cube, piece.buffer,
              from.offsets, tokens);
    }
    waitFor(rewriter, loc, tokens);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

} // namespace

void kb::detail::populateDecoderConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<RMSNormOpLowering, LayerNormOpLowering, RoPEOpLowering,
               KVAppendOpLowering, ExtractSliceOpLowering>(
      typeConverter, patterns.getContext());
}
