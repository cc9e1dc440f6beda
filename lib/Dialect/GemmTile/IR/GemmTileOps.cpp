//===- GemmTileOps.cpp - gemm_tile operations -----------------------------===//
//
// The verifiers hold the device's rules: a PE touches only its own cube's
// memory, regions stay inside their buffers, and a tile's working set fits
// the PE's local buffer of the module's device.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Runtime/Kernels.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kb::gemm_tile;

int64_t kb::gemm_tile::getCube(Type bufferType) {
  auto memref = dyn_cast<MemRefType>(bufferType);
  if (!memref)
    return -1;
  if (auto cube = dyn_cast_or_null<CubeAttr>(memref.getMemorySpace()))
    return cube.getIndex();
  return -1;
}

namespace {
/// Verification context of one op: its device and its diagnostics.
class BufferChecker {
public:
  explicit BufferChecker(Operation *op) : op(op), device(lookupDevice(op)) {}

  /// `v` must be a static, identity-layout buffer in a cube of the device.
  LogicalResult buffer(Value v, StringRef name) {
    auto type = cast<MemRefType>(v.getType());
    if (!type.hasStaticShape() || !type.getLayout().isIdentity())
      return op->emitOpError()
             << "expects " << name
             << " to be a static, identity-layout buffer, got " << type;
    int64_t cube = getCube(type);
    if (cube < 0)
      return op->emitOpError()
             << "expects " << name
             << " in a cube's memory (#gemm_tile.cube<c>), got " << type;
    if (cube >= device.cubes)
      return op->emitOpError()
             << name << " is in cube " << cube << ", but the device has "
             << device.cubes << " cubes";
    return success();
  }

  /// The `sizes` region at `offsets` must lie inside `v`.
  LogicalResult region(Value v, StringRef name, ArrayRef<int64_t> offsets,
                       ArrayRef<int64_t> sizes) {
    auto type = cast<MemRefType>(v.getType());
    if (static_cast<int64_t>(offsets.size()) != type.getRank() ||
        static_cast<int64_t>(sizes.size()) != type.getRank())
      return op->emitOpError()
             << "expects " << type.getRank() << " offsets and sizes for "
             << name << ", got " << offsets.size() << " offsets and "
             << sizes.size() << " sizes";
    for (int64_t d = 0; d < type.getRank(); ++d) {
      int64_t dim = type.getDimSize(d);
      if (sizes[d] <= 0)
        return op->emitOpError() << "expects positive sizes, got " << sizes[d]
                                 << " in dimension " << d << " of " << name;
      if (offsets[d] < 0 || offsets[d] > dim || sizes[d] > dim - offsets[d])
        return op->emitOpError()
               << "reads or writes " << name << "[" << offsets[d] << " : "
               << offsets[d] << " + " << sizes[d] << "] in dimension " << d
               << ", outside its size " << dim;
    }
    return success();
  }

  /// A PE op: `pe` exists, and every buffer is in the same cube.
  LogicalResult pe(int64_t pe, ArrayRef<std::pair<StringRef, Value>> buffers) {
    if (pe < 0 || pe >= device.pesPerCube)
      return op->emitOpError() << "runs on PE " << pe << ", but a cube has "
                               << device.pesPerCube << " PEs";
    int64_t cube = getCube(buffers.front().second.getType());
    for (auto [name, v] : buffers.drop_front())
      if (getCube(v.getType()) != cube)
        return op->emitOpError()
               << "runs on a PE of cube " << cube << " (where "
               << buffers.front().first << " is), but " << name
               << " is in cube " << getCube(v.getType())
               << "; a PE only reaches its own cube's memory (use "
                  "gemm_tile.dma)";
    return success();
  }

  Operation *op;
  DeviceDescription device;
};

Type elementTypeOf(Value v) {
  return cast<MemRefType>(v.getType()).getElementType();
}

/// What every PE op satisfies: its buffers are static cube buffers of the
/// device, its regions lie inside them, its PE exists, and all its buffers
/// are in that PE's cube.
LogicalResult verifyPEComputeOp(PEComputeOpInterface op, BufferChecker &check) {
  SmallVector<BufferRegion> regions = op.getReadRegions();
  llvm::append_range(regions, op.getWriteRegions());
  for (const BufferRegion &r : regions)
    if (failed(check.buffer(r.buffer, r.name)))
      return failure();
  for (const BufferRegion &r : regions)
    if (failed(check.region(r.buffer, r.name, r.offsets, r.sizes)))
      return failure();
  SmallVector<std::pair<StringRef, Value>> buffers;
  for (const BufferRegion &r : regions)
    buffers.push_back({r.name, r.buffer});
  return check.pe(op.getPe(), buffers);
}
} // namespace

LogicalResult kb::gemm_tile::verifyPERegions(PEComputeOpInterface op) {
  BufferChecker check(op);
  return verifyPEComputeOp(op, check);
}

LogicalResult kb::gemm_tile::verifyElementwiseOp(PEComputeOpInterface op) {
  BufferChecker check(op);
  if (failed(verifyPEComputeOp(op, check)))
    return failure();
  SmallVector<Value> buffers;
  for (const BufferRegion &r : op.getReadRegions())
    buffers.push_back(r.buffer);
  for (const BufferRegion &r : op.getWriteRegions())
    buffers.push_back(r.buffer);
  Type elementType = elementTypeOf(buffers.front());
  if (llvm::all_of(buffers,
                   [&](Value v) { return elementTypeOf(v) == elementType; }))
    return success();
  if (buffers.size() == 2)
    return op->emitOpError()
           << "reads " << elementType << " and writes "
           << elementTypeOf(buffers.back()) << "; they must match";
  InFlightDiagnostic diag = op->emitOpError()
                            << "expects one element type, got ";
  for (auto [i, v] : llvm::enumerate(buffers))
    diag << (i == 0                    ? ""
             : i + 1 == buffers.size() ? " and "
                                       : ", ")
         << elementTypeOf(v);
  return diag;
}

kb::PEWork kb::gemm_tile::elementwiseWorkOf(PEComputeOpInterface op) {
  BufferRegion out = op.getWriteRegions().front();
  double elements = 1;
  for (int64_t size : out.sizes)
    elements *= size;
  return elementwiseWork(elements,
                         elementTypeOf(out.buffer).getIntOrFloatBitWidth() / 8,
                         op.getReadRegions().size());
}

/// A map or zip op's kernel must be one the runtime registers: the device
/// has no other elementwise instructions.
template <typename Op, typename Lookup, typename Names>
static LogicalResult verifyKernelName(Op op, StringRef what, Lookup lookup,
                                      Names names) {
  if (lookup(op.getKernel()))
    return success();
  return op.emitOpError() << "names no registered " << what << " kernel: '"
                          << op.getKernel() << "' (registered: "
                          << llvm::join(names(), ", ") << ")";
}

LogicalResult MapOp::verify() {
  if (failed(verifyKernelName(*this, "map", kb::runtime::lookupMapKernel,
                              kb::runtime::mapKernelNames)))
    return failure();
  double factor = getFactor().convertToDouble();
  if (!std::isfinite(factor))
    return emitOpError() << "factor must be finite, got " << factor;
  return verifyElementwiseOp(*this);
}

LogicalResult ZipOp::verify() {
  if (failed(verifyKernelName(*this, "zip", kb::runtime::lookupZipKernel,
                              kb::runtime::zipKernelNames)))
    return failure();
  return verifyElementwiseOp(*this);
}

LogicalResult AllocOp::verify() {
  BufferChecker check(*this);
  if (failed(check.buffer(getBuffer(), "the buffer")))
    return failure();
  MemRefType type = getType();
  int64_t bytes =
      checkedByteSize(type.getShape(), type.getElementTypeBitWidth() / 8)
          .value_or(std::numeric_limits<int64_t>::max());
  if (!check.device.cubeHolds(bytes))
    return emitOpError() << "allocates " << byteCountText(bytes)
                         << " bytes, more than a cube's "
                         << check.device.cubeMemoryBytes()
                         << " bytes of memory";
  return success();
}

LogicalResult MatmulOp::verify() {
  BufferChecker check(*this);
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.size() != 3)
    return emitOpError() << "expects sizes [m, n, k], got " << sizes.size()
                         << " sizes";
  int64_t m = sizes[0], n = sizes[1], k = sizes[2];
  if (failed(verifyPEComputeOp(*this, check)))
    return failure();
  Type elementType = elementTypeOf(getLhs());
  if (elementTypeOf(getRhs()) != elementType)
    return emitOpError() << "multiplies " << elementType << " by "
                         << elementTypeOf(getRhs())
                         << "; lhs and rhs must have one element type";
  if (elementTypeOf(getOut()) != elementType &&
      !elementTypeOf(getOut()).isF32())
    return emitOpError() << "writes " << elementTypeOf(getOut())
                         << "; out must be " << elementType << " or f32";
  int64_t chunk = getKChunk();
  if (chunk <= 0 || chunk > k)
    return emitOpError() << "k_chunk must be in [1, " << k << "], got "
                         << chunk;
  // Two chunks of lhs and rhs in flight (double buffering) and the f32
  // accumulator.
  int64_t working =
      gemmTileWorkingSet(m, n, chunk, elementType.getIntOrFloatBitWidth() / 8);
  if (working > check.device.peBufferBytes())
    return emitOpError() << "needs " << byteCountText(working)
                         << " bytes of PE buffer for a " << m << "x" << n
                         << " tile with k_chunk " << chunk << ", but a PE has "
                         << check.device.peBufferBytes();
  return success();
}

SmallVector<BufferRegion> MatmulOp::getReadRegions() {
  int64_t m = getSizes()[0], n = getSizes()[1], k = getSizes()[2];
  return {{getLhs(), llvm::to_vector<2>(getLhsOffsets()), {m, k}, "lhs"},
          {getRhs(), llvm::to_vector<2>(getRhsOffsets()),
           getTransposeRhs() ? SmallVector<int64_t, 2>{n, k}
                             : SmallVector<int64_t, 2>{k, n},
           "rhs"}};
}

SmallVector<BufferRegion> MatmulOp::getWriteRegions() {
  int64_t m = getSizes()[0], n = getSizes()[1];
  return {{getOut(), llvm::to_vector<2>(getOutOffsets()), {m, n}, "out"}};
}

// A gemm reads whole rows and columns while it writes.
bool MatmulOp::canWorkInPlace() { return false; }

kb::PEWork MatmulOp::getWork() {
  Type elementType = elementTypeOf(getLhs());
  return matmulWork(getSizes()[0], getSizes()[1], getSizes()[2],
                    elementType.getIntOrFloatBitWidth() / 8,
                    elementTypeOf(getOut()).getIntOrFloatBitWidth() / 8,
                    getAccumulate(), elementType.isF32());
}

HostKernel MatmulOp::getHostKernel() {
  return {HostKernel::Kind::Gemm, "gemm", getAccumulate()};
}

LogicalResult DMAOp::verify() {
  BufferChecker check(*this);
  if (failed(check.buffer(getSource(), "source")) ||
      failed(check.buffer(getTarget(), "target")) ||
      failed(check.region(getSource(), "source", getSourceOffsets(),
                          getSizes())) ||
      failed(
          check.region(getTarget(), "target", getTargetOffsets(), getSizes())))
    return failure();
  if (elementTypeOf(getSource()) != elementTypeOf(getTarget()))
    return emitOpError() << "copies " << elementTypeOf(getSource()) << " into "
                         << elementTypeOf(getTarget())
                         << "; DMA does not convert";
  if (std::optional<ArrayRef<int64_t>> stride = getRankStride()) {
    if (stride->size() != getSizes().size())
      return emitOpError() << "expects " << getSizes().size()
                           << " rank_stride entries, got " << stride->size();
    if (llvm::any_of(*stride, [](int64_t s) { return s < 0; }))
      return emitOpError() << "expects a non-negative rank_stride";
  }
  // The slice index (rank / rank_replicas) mod rank_shards scales
  // rank_stride: without a stride it would move nothing.
  for (auto [name, value] : {std::pair<StringRef, std::optional<uint64_t>>{
                                 "rank_replicas", getRankReplicas()},
                             {"rank_shards", getRankShards()}}) {
    if (!value)
      continue;
    if (!getRankStride())
      return emitOpError() << "has " << name << " " << *value
                           << " but no rank_stride for it to scale";
    if (static_cast<int64_t>(*value) < 1)
      return emitOpError() << "expects " << name << " of at least 1, got "
                           << static_cast<int64_t>(*value);
  }
  if (getClip() && !getRankStride())
    return emitOpError() << "has 'clip' but no rank_stride: a region that "
                            "does not move with the rank is checked whole";
  if (std::optional<ArrayRef<int64_t>> stride = getTargetRankStride()) {
    if (stride->size() != getSizes().size())
      return emitOpError() << "expects " << getSizes().size()
                           << " target_rank_stride entries, got "
                           << stride->size();
    if (llvm::any_of(*stride, [](int64_t s) { return s < 0; }))
      return emitOpError() << "expects a non-negative target_rank_stride";
  }
  // The DMA engines order copies among themselves; a PE's work or a ring
  // step ends where only a wait can see it. (A token may also come in as an
  // argument or a call's result: a copy its caller or callee issued,
  // checked where it runs.)
  for (auto [i, token] : llvm::enumerate(getAfter()))
    if (Operation *def = token.getDefiningOp();
        def && isa<GemmTileDialect>(def->getDialect()) && !isa<DMAOp>(def))
      return emitOpError() << "is ordered after token " << i << " of '"
                           << def->getName()
                           << "': 'after' names copies (gemm_tile.dma) only";
  return success();
}

/// Ring steps: a ring of W SIPs has W - 1 steps per phase.
LogicalResult kb::gemm_tile::verifyRingStep(Operation *op) {
  auto ring = cast<RingStepOpInterface>(op);
  BufferChecker check(op);
  OperandRange buffers = ring.getBuffers();
  if (buffers.empty())
    return op->emitOpError() << "needs at least one buffer";
  for (auto [i, buffer] : llvm::enumerate(buffers)) {
    std::string name = buffers.size() == 1 ? std::string("the buffer")
                                           : "buffer #" + std::to_string(i);
    if (failed(check.buffer(buffer, name)))
      return failure();
    Type first = cast<MemRefType>(buffers.front().getType()).getElementType();
    Type element = cast<MemRefType>(buffer.getType()).getElementType();
    if (element != first)
      return op->emitOpError() << "expects one element type, but buffer #0 "
                                  "holds "
                               << first << " and buffer #" << i << " " << element;
  }
  int64_t ringSize = ring.getRingSize(), step = ring.getStep();
  if (ringSize < 2)
    return op->emitOpError()
           << "needs a ring of at least 2 SIPs, got " << ringSize;
  if (step < 0 || step >= ringSize - 1)
    return op->emitOpError()
           << "is step " << step << " of a ring of " << ringSize
           << ", which has steps 0 to " << ringSize - 2;
  if (std::optional<int64_t> dim = ring.getChunkDim()) {
    if (buffers.size() != 1)
      return op->emitOpError() << "cuts chunks along dimension " << *dim
                               << " of one buffer, but has " << buffers.size();
    auto type = cast<MemRefType>(buffers.front().getType());
    if (*dim < 0 || *dim >= type.getRank())
      return op->emitOpError() << "cuts its chunks along dimension " << *dim
                               << " of a rank-" << type.getRank() << " buffer";
    if (type.getDimSize(*dim) % ringSize != 0)
      return op->emitOpError()
             << "cuts dimension " << *dim << " (size " << type.getDimSize(*dim)
             << ") into " << ringSize
             << " chunks; it must be divisible by the ring size";
  }
  return success();
}

/// `x` mod `w`, in [0, w).
static int64_t ringIndex(int64_t x, int64_t w) { return ((x % w) + w) % w; }

std::optional<kb::ReductionKind> ReduceScatterStepOp::getReduction() {
  return getKind();
}

// Chunks cut along a dimension belong to their rank (chunk r is rank r's
// slice), one index below the flat ring's; see the ops' descriptions.
int64_t ReduceScatterStepOp::getSentChunk(int64_t rank) {
  int64_t own = getAlong() ? -1 : 0;
  return ringIndex(rank - static_cast<int64_t>(getStep()) + own,
                   getRingSize());
}

std::optional<kb::ReductionKind> AllGatherStepOp::getReduction() {
  return std::nullopt;
}

int64_t AllGatherStepOp::getSentChunk(int64_t rank) {
  int64_t own = getAlong() ? -1 : 0;
  return ringIndex(rank + 1 - static_cast<int64_t>(getStep()) + own,
                   getRingSize());
}

LogicalResult WaitOp::verify() {
  if (getTokens().empty())
    return emitOpError() << "waits on nothing; give it at least one token";
  return success();
}

#include "kb/Dialect/GemmTile/IR/GemmTileInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileOps.cpp.inc"
