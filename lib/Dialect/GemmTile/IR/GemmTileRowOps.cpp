//===- GemmTileRowOps.cpp - norms and RoPE on one PE ----------------------===//
//
// The row ops share the elementwise ops' checks (buffers in the PE's cube,
// regions inside them, one element type) and add what makes a row op
// computable by one PE: a norm's region spans whole rows of its buffers and
// its weight (and bias) has one element per column; a rope's region is whole
// heads.
//
//===----------------------------------------------------------------------===//

#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"

using namespace mlir;
using namespace kb;
using namespace kb::gemm_tile;

namespace {

int64_t elementBytesOf(Value v) {
  return cast<MemRefType>(v.getType()).getElementTypeBitWidth() / 8;
}

bool isF32(Value v) {
  return cast<MemRefType>(v.getType()).getElementType().isF32();
}

/// The columns of a row region, for the vectors read beside it (0 for a
/// malformed op, which the verifier rejects before anyone asks).
int64_t columnsOf(ArrayRef<int64_t> sizes) {
  return sizes.empty() ? 0 : sizes.back();
}

LogicalResult verifyTwoSizes(Operation *op, ArrayRef<int64_t> sizes) {
  if (sizes.size() == 2)
    return success();
  return op->emitOpError() << "expects sizes [rows, cols], got " << sizes.size()
                           << " sizes";
}

/// A norm's region must be whole rows of `buffer`: its reduction runs over
/// the row, so a PE must hold all of it.
LogicalResult verifyWholeRows(Operation *op, StringRef name, Value buffer,
                              ArrayRef<int64_t> offsets,
                              ArrayRef<int64_t> sizes) {
  int64_t rowLength = cast<MemRefType>(buffer.getType()).getDimSize(1);
  if (offsets[1] == 0 && sizes[1] == rowLength)
    return success();
  return op->emitOpError() << "normalizes columns [" << offsets[1] << ", "
                           << offsets[1] + sizes[1] << ") of " << name
                           << " rows of " << rowLength
                           << " columns; a PE normalizes whole rows";
}

/// A weight or bias must have one element per column of the rows.
LogicalResult verifyVector(Operation *op, StringRef name, Value vector,
                           int64_t columns) {
  int64_t length = cast<MemRefType>(vector.getType()).getDimSize(0);
  if (length == columns)
    return success();
  return op->emitOpError() << "expects " << name << " of " << columns
                           << " elements (one per column of a row), got "
                           << length;
}

template <typename NormOp> LogicalResult verifyNorm(NormOp op) {
  ArrayRef<int64_t> sizes = op.getSizes();
  if (failed(verifyTwoSizes(op, sizes)) || failed(verifyElementwiseOp(op)))
    return failure();
  if (failed(verifyWholeRows(op, "input", op.getInput(), op.getInputOffsets(),
                             sizes)) ||
      failed(
          verifyWholeRows(op, "out", op.getOut(), op.getOutOffsets(), sizes)))
    return failure();
  for (const BufferRegion &r : op.getReadRegions())
    if (r.buffer != op.getInput() &&
        failed(verifyVector(op, r.name, r.buffer, sizes[1])))
      return failure();
  // The PE holds a whole row while it reduces over it.
  int64_t vectors = op.getReadRegions().size() - 1;
  int64_t bytes =
      normRowWorkingSet(sizes[1], elementBytesOf(op.getInput()), vectors);
  int64_t buffer = lookupDevice(op).peBufferBytes();
  if (bytes > buffer)
    return op.emitOpError()
           << "needs " << bytes << " bytes of PE buffer for a row of "
           << sizes[1] << " columns (the row, its result and " << vectors
           << (vectors == 1 ? " vector" : " vectors") << "), but a PE has "
           << buffer;
  if (!(op.getEps().convertToFloat() > 0))
    return op.emitOpError()
           << "expects a positive eps, got " << op.getEps().convertToFloat();
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// gemm_tile.rms_norm
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() { return verifyNorm(*this); }

SmallVector<BufferRegion> RMSNormOp::getReadRegions() {
  return {{getInput(), llvm::to_vector<2>(getInputOffsets()),
           llvm::to_vector<2>(getSizes()), "input"},
          {getWeight(), {0}, {columnsOf(getSizes())}, "weight"}};
}

SmallVector<BufferRegion> RMSNormOp::getWriteRegions() {
  return {{getOut(), llvm::to_vector<2>(getOutOffsets()),
           llvm::to_vector<2>(getSizes()), "out"}};
}

PEWork RMSNormOp::getWork() {
  return normWork(getSizes().front(), columnsOf(getSizes()),
                  elementBytesOf(getInput()), /*vectors=*/1,
                  /*layerNorm=*/false, isF32(getInput()));
}

HostKernel RMSNormOp::getHostKernel() {
  return {HostKernel::Kind::Rows,
          "rms_norm",
          false,
          1.0,
          {getEps().convertToDouble()}};
}

//===----------------------------------------------------------------------===//
// gemm_tile.layer_norm
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() { return verifyNorm(*this); }

SmallVector<BufferRegion> LayerNormOp::getReadRegions() {
  return {{getInput(), llvm::to_vector<2>(getInputOffsets()),
           llvm::to_vector<2>(getSizes()), "input"},
          {getWeight(), {0}, {columnsOf(getSizes())}, "weight"},
          {getBias(), {0}, {columnsOf(getSizes())}, "bias"}};
}

SmallVector<BufferRegion> LayerNormOp::getWriteRegions() {
  return {{getOut(), llvm::to_vector<2>(getOutOffsets()),
           llvm::to_vector<2>(getSizes()), "out"}};
}

PEWork LayerNormOp::getWork() {
  return normWork(getSizes().front(), columnsOf(getSizes()),
                  elementBytesOf(getInput()), /*vectors=*/2,
                  /*layerNorm=*/true, isF32(getInput()));
}

HostKernel LayerNormOp::getHostKernel() {
  return {HostKernel::Kind::Rows,
          "layer_norm",
          false,
          1.0,
          {getEps().convertToDouble()}};
}

//===----------------------------------------------------------------------===//
// gemm_tile.rope
//===----------------------------------------------------------------------===//

LogicalResult RoPEOp::verify() {
  ArrayRef<int64_t> sizes = getSizes();
  if (failed(verifyTwoSizes(*this, sizes)) ||
      failed(verifyElementwiseOp(*this)))
    return failure();
  int64_t headDim = getHeadDim();
  if (headDim <= 0 || headDim % 2 != 0)
    return emitOpError() << "expects a positive, even head_dim, got "
                         << headDim;
  if (sizes[1] % headDim != 0)
    return emitOpError() << "rotates " << sizes[1]
                         << " columns, which are not whole heads of head_dim "
                         << headDim;
  // I64Attr reads back unsigned: a negative position is a huge one.
  int64_t position = static_cast<int64_t>(getPosition());
  if (position < 0)
    return emitOpError() << "expects a non-negative position, got " << position;
  if (!(getTheta().convertToDouble() > 0))
    return emitOpError() << "expects a positive theta, got "
                         << getTheta().convertToDouble();
  return success();
}

SmallVector<BufferRegion> RoPEOp::getReadRegions() {
  return {{getInput(), llvm::to_vector<2>(getInputOffsets()),
           llvm::to_vector<2>(getSizes()), "input"}};
}

SmallVector<BufferRegion> RoPEOp::getWriteRegions() {
  return {{getOut(), llvm::to_vector<2>(getOutOffsets()),
           llvm::to_vector<2>(getSizes()), "out"}};
}

PEWork RoPEOp::getWork() {
  return ropeWork(getSizes().front(), columnsOf(getSizes()),
                  elementBytesOf(getInput()), isF32(getInput()));
}

HostKernel RoPEOp::getHostKernel() {
  return {HostKernel::Kind::Rows,
          "rope",
          false,
          1.0,
          {static_cast<double>(getHeadDim()),
           static_cast<double>(static_cast<int64_t>(getPosition())),
           getTheta().convertToDouble()}};
}
