//===- GemmTileAttentionOps.cpp - attention on one PE ---------------------===//
//
// gemm_tile.attention's verifier, regions, cost and host kernel. Its working
// set is kb/Device/AttentionTiling.h's, which the lowering sizes its blocks
// with, so every block the lowering emits verifies.
//
//===----------------------------------------------------------------------===//

#include "kb/Device/AttentionTiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"

using namespace mlir;
using namespace kb::gemm_tile;

static Type elementTypeOf(Value v) {
  return cast<MemRefType>(v.getType()).getElementType();
}

/// The checks gemm_tile.attention and gemm_tile.attention_partial share
/// before their own: three sizes, a positive head count, and regions inside
/// their buffers.
template <typename AttentionLikeOp>
static LogicalResult verifyAttentionShape(AttentionLikeOp op) {
  ArrayRef<int64_t> sizes = op.getSizes();
  if (sizes.size() != 3)
    return op.emitOpError() << "expects sizes [rows, keys, head_dim], got "
                            << sizes.size() << " sizes";
  if (op.getHeads() <= 0)
    return op.emitOpError()
           << "expects a positive number of heads, got " << op.getHeads();
  return verifyPERegions(op);
}

/// The key chunk is within the keys, and a chunk's working set fits the PE
/// buffer.
template <typename AttentionLikeOp>
static LogicalResult verifyAttentionChunk(AttentionLikeOp op,
                                          Type elementType) {
  int64_t rows = op.getSizes()[0], keys = op.getSizes()[1],
          headDim = op.getSizes()[2], heads = op.getHeads();
  int64_t chunk = op.getKeyChunk();
  if (chunk <= 0 || chunk > keys)
    return op.emitOpError()
           << "key_chunk must be in [1, " << keys << "], got " << chunk;
  DeviceDescription device = lookupDevice(op);
  int64_t working =
      kb::attentionWorkingSet(kb::saturatingMul(heads, rows), chunk, headDim,
                              elementType.getIntOrFloatBitWidth() / 8);
  if (working > device.peBufferBytes())
    return op.emitOpError()
           << "needs " << byteCountText(working) << " bytes of PE buffer for "
           << heads << " x " << rows << " query rows of head_dim " << headDim
           << " with key_chunk " << chunk << ", but a PE has "
           << device.peBufferBytes();
  return success();
}

/// q's rows of every head, and one head's keys and values.
template <typename AttentionLikeOp>
static SmallVector<BufferRegion> attentionReadRegions(AttentionLikeOp op) {
  int64_t rows = op.getSizes()[0], keys = op.getSizes()[1],
          d = op.getSizes()[2];
  int64_t columns = kb::saturatingMul(op.getHeads(), d);
  return {
      {op.getQ(), llvm::to_vector<2>(op.getQOffsets()), {rows, columns}, "q"},
      {op.getK(), llvm::to_vector<2>(op.getKOffsets()), {keys, d}, "k"},
      {op.getV(), llvm::to_vector<2>(op.getVOffsets()), {keys, d}, "v"}};
}

LogicalResult AttentionOp::verify() {
  if (failed(verifyAttentionShape(*this)))
    return failure();
  int64_t rows = getSizes()[0], keys = getSizes()[1];
  int64_t position = getPosition();
  Type elementType = elementTypeOf(getQ());
  if (elementTypeOf(getK()) != elementType ||
      elementTypeOf(getV()) != elementType ||
      elementTypeOf(getOut()) != elementType)
    return emitOpError() << "expects one element type, got "
                         << elementTypeOf(getQ()) << ", "
                         << elementTypeOf(getK()) << ", "
                         << elementTypeOf(getV()) << " and "
                         << elementTypeOf(getOut()) << " for q, k, v and out";
  // Each query row sees at least its own key, and the last row's key is in
  // the region (the region check made rows and keys positive).
  if (position < 0 || position > keys - rows)
    return emitOpError() << "has query rows at positions " << position << " to "
                         << position << " + " << rows
                         << " - 1, but reads keys 0 to " << keys - 1;
  return verifyAttentionChunk(*this, elementType);
}

SmallVector<BufferRegion> AttentionOp::getReadRegions() {
  return attentionReadRegions(*this);
}

SmallVector<BufferRegion> AttentionOp::getWriteRegions() {
  int64_t rows = getSizes()[0], d = getSizes()[2];
  return {{getOut(),
           llvm::to_vector<2>(getOutOffsets()),
           {rows, kb::saturatingMul(getHeads(), d)},
           "out"}};
}

// Every output row needs all of its query row and every key first.
bool AttentionOp::canWorkInPlace() { return false; }

kb::PEWork AttentionOp::getWork() {
  Type elementType = elementTypeOf(getQ());
  return kb::attentionWork(
      getHeads(), getSizes()[0], getSizes()[1], getSizes()[2],
      elementType.getIntOrFloatBitWidth() / 8, elementType.isF32());
}

HostKernel AttentionOp::getHostKernel() {
  HostKernel kernel{HostKernel::Kind::Attention, "attention"};
  kernel.heads = getHeads();
  kernel.position = getPosition();
  return kernel;
}

//===----------------------------------------------------------------------===//
// Attention split over keys: a key range's partial, and the combine
//===----------------------------------------------------------------------===//

static bool isF32Buffer(Value v) { return elementTypeOf(v).isF32(); }

LogicalResult AttentionPartialOp::verify() {
  if (failed(verifyAttentionShape(*this)))
    return failure();
  int64_t rows = getSizes()[0], keys = getSizes()[1];
  int64_t position = getPosition(), keyBegin = getKeyBegin();
  Type elementType = elementTypeOf(getQ());
  if (elementTypeOf(getK()) != elementType ||
      elementTypeOf(getV()) != elementType)
    return emitOpError() << "expects one element type for q, k and v, got "
                         << elementTypeOf(getQ()) << ", "
                         << elementTypeOf(getK()) << " and "
                         << elementTypeOf(getV());
  if (!isF32Buffer(getPartial()))
    return emitOpError() << "writes f32 partials (o, m, l), but partial holds "
                         << elementTypeOf(getPartial());
  if (position < 0)
    return emitOpError() << "has its first query row at position " << position
                         << "; positions are >= 0";
  // Ends saturate: an absurd key_begin or position is refused (or, for the
  // position, seen as "every key visible"), never wrapped around.
  int64_t keyEnd = kb::saturatingAdd(keyBegin, keys);
  int64_t seenEnd = kb::saturatingAdd(position, rows);
  if (keyBegin < 0 || keyEnd > seenEnd)
    return emitOpError() << "reads keys " << keyBegin << " to " << keyEnd - 1
                         << ", but its query rows at positions " << position
                         << " to " << seenEnd - 1 << " see keys 0 to "
                         << seenEnd - 1;
  return verifyAttentionChunk(*this, elementType);
}

SmallVector<BufferRegion> AttentionPartialOp::getReadRegions() {
  return attentionReadRegions(*this);
}

SmallVector<BufferRegion> AttentionPartialOp::getWriteRegions() {
  int64_t rows = getSizes()[0], d = getSizes()[2];
  return {{getPartial(),
           llvm::to_vector<2>(getPartialOffsets()),
           {kb::saturatingMul(getHeads(), rows), kb::saturatingAdd(d, 2)},
           "partial"}};
}

bool AttentionPartialOp::canWorkInPlace() { return false; }

kb::PEWork AttentionPartialOp::getWork() {
  Type elementType = elementTypeOf(getQ());
  return kb::attentionPartialWork(
      getHeads(), getSizes()[0], getSizes()[1], getSizes()[2],
      elementType.getIntOrFloatBitWidth() / 8, elementType.isF32());
}

HostKernel AttentionPartialOp::getHostKernel() {
  HostKernel kernel{HostKernel::Kind::AttentionPartial, "attention_partial"};
  kernel.heads = getHeads();
  kernel.position = getPosition();
  kernel.keyBegin = getKeyBegin();
  return kernel;
}

LogicalResult AttentionCombineOp::verify() {
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.size() != 3)
    return emitOpError() << "expects sizes [splits, rows, head_dim], got "
                         << sizes.size() << " sizes";
  int64_t splits = sizes[0], rows = sizes[1], headDim = sizes[2];
  int64_t heads = getHeads();
  if (heads <= 0)
    return emitOpError() << "expects a positive number of heads, got " << heads;
  if (splits < 2)
    return emitOpError() << "combines " << splits
                         << " partials; a split needs at least 2";
  if (failed(verifyPERegions(*this)))
    return failure();
  if (!isF32Buffer(getPartial()))
    return emitOpError() << "reads f32 partials (o, m, l), but partial holds "
                         << elementTypeOf(getPartial());
  DeviceDescription device = lookupDevice(*this);
  int64_t working =
      kb::attentionCombineWorkingSet(kb::saturatingMul(heads, rows), headDim);
  if (working > device.peBufferBytes())
    return emitOpError() << "needs " << byteCountText(working)
                         << " bytes of PE buffer to combine " << heads << " x "
                         << rows << " rows of head_dim " << headDim
                         << ", but a PE has " << device.peBufferBytes();
  return success();
}

SmallVector<BufferRegion> AttentionCombineOp::getReadRegions() {
  int64_t splits = getSizes()[0], rows = getSizes()[1], d = getSizes()[2];
  int64_t stacked = kb::saturatingMul(getHeads(), rows);
  return {{getPartial(),
           llvm::to_vector<2>(getPartialOffsets()),
           {kb::saturatingMul(splits, stacked), kb::saturatingAdd(d, 2)},
           "partial"}};
}

SmallVector<BufferRegion> AttentionCombineOp::getWriteRegions() {
  int64_t rows = getSizes()[1], d = getSizes()[2];
  return {{getOut(),
           llvm::to_vector<2>(getOutOffsets()),
           {rows, kb::saturatingMul(getHeads(), d)},
           "out"}};
}

// Its output and the partials are different buffers (f32 against the
// output's type, and every output row needs all splits).
bool AttentionCombineOp::canWorkInPlace() { return false; }

kb::PEWork AttentionCombineOp::getWork() {
  return kb::attentionCombineWork(
      getSizes()[0], getHeads(), getSizes()[1], getSizes()[2],
      elementTypeOf(getOut()).getIntOrFloatBitWidth() / 8);
}

HostKernel AttentionCombineOp::getHostKernel() {
  HostKernel kernel{HostKernel::Kind::AttentionCombine, "attention_combine"};
  kernel.heads = getHeads();
  kernel.splits = getSizes()[0];
  return kernel;
}
