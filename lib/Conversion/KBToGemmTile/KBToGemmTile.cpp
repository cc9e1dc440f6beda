//===- KBToGemmTile.cpp - placed local view to device ops -----------------===//
//
// Each rank-local tensor becomes the buffers its DPPolicy puts in the cubes
// of the SIP; each kb op becomes the tile, DMA and ring work that produces
// its result's buffers. The lowering is op by op and ends every group of
// asynchronous work with a wait, so data is complete before it is read;
// overlapping one op's communication with the next op's compute is left to a
// later scheduling pass. With outlining, each distinct op's device work is a
// private function (a kernel) emitted once and called wherever the op occurs.
//
//===----------------------------------------------------------------------===//

#include "kb/Conversion/Passes.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

#include <limits>
#include <map>
#include <vector>

namespace kb {
#define GEN_PASS_DEF_CONVERTKBTOGEMMTILEPASS
#include "kb/Conversion/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;
namespace gt = kb::gemm_tile;

namespace {

/// More tiles than this on one PE means a program no device could hold; the
/// bound keeps absurd shapes from exhausting the compiler's memory.
constexpr int64_t kMaxTilesPerSlab = 1 << 20;

/// A cube piece of a tensor with the buffer that holds it.
struct Piece {
  int64_t cube;
  Box box;
  Value buffer;
};

/// A rank-local tensor as the device holds it.
struct DeviceTensor {
  RankedTensorType type;
  SmallVector<Piece> pieces;
};

/// A region of a tensor already brought into a cube by DMA.
struct Staged {
  Value tensor;
  int64_t cube;
  Box box;
  Value buffer;
};

SmallVector<int64_t> minus(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  SmallVector<int64_t> r;
  for (auto [x, y] : llvm::zip_equal(a, b))
    r.push_back(x - y);
  return r;
}

/// The pieces with distinct regions, taking for each region the replica in
/// `preferredCube` if there is one, else the first.
SmallVector<const Piece *> distinctPieces(const DeviceTensor &t,
                                          int64_t preferredCube = -1) {
  SmallVector<const Piece *> result;
  for (const Piece &p : t.pieces) {
    auto it =
        llvm::find_if(result, [&](const Piece *q) { return q->box == p.box; });
    if (it == result.end())
      result.push_back(&p);
    else if (p.cube == preferredCube)
      *it = &p;
  }
  return result;
}

/// The device work of one kind of kb op, emitted once as a private function
/// from the operands' buffers to the result's.
struct Kernel {
  func::FuncOp func;
  /// The result's cube pieces, in the order the kernel returns their buffers.
  SmallVector<Piece> resultPieces;
  /// What one call allocates, per cube.
  SmallVector<int64_t> bytesPerCube;
};

/// Kernels by what makes two ops' device work identical: the op's name and
/// attributes, its operand and result types (with their policies), which
/// operands are the same value, and for an all_reduce whether it may reduce
/// in place. Opaque pointers of uniqued MLIR objects and small integers.
using KernelKey = std::vector<const void *>;
struct KernelCache {
  std::map<KernelKey, Kernel> byKey;
  /// The next number to try for a kernel named after each op mnemonic.
  llvm::StringMap<unsigned> nextNumber;
};

class FunctionLowering {
public:
  FunctionLowering(func::FuncOp func, int64_t worldSize,
                   const gt::DeviceDescription &device, KernelCache *kernels)
      : oldFunc(func), worldSize(worldSize), device(device),
        builder(func.getContext()), kernels(kernels) {}

  LogicalResult run();

private:
  MemRefType bufferType(ArrayRef<int64_t> shape, Type elementType,
                        int64_t cube);
  FailureOr<DPPolicyAttr> policyOf(Operation *where, Type type);
  /// Fresh buffers for a tensor of `type`, one per cube piece.
  FailureOr<DeviceTensor> allocate(Operation *where, Type type);
  /// A buffer in `cube` holding `box` of `tensor`, and the box's offsets in
  /// it; DMAs what is not already there (their tokens join `pendingDMAs`).
  std::pair<Value, SmallVector<int64_t>> bring(Value tensor, int64_t cube,
                                               const Box &box);
  void waitFor(SmallVector<Value> &tokens);
  /// Fails, naming the cube and both byte counts, once a cube overflows.
  LogicalResult checkMemory(Operation *where);
  Type token() { return gt::TokenType::get(builder.getContext()); }
  LogicalResult lowerMatmul(MatmulOp op);
  LogicalResult lowerElementwise(Operation *op);
  LogicalResult lowerAllReduce(AllReduceOp op);
  LogicalResult lowerSlice(TPSliceOp op);
  LogicalResult lowerReturn(func::ReturnOp op);
  /// Lowers `op` (one that does device work) inline at the builder.
  LogicalResult lowerWork(Operation *op);
  /// Lowers `op` as a call of its kernel, emitting the kernel first if it is
  /// the first op of its kind.
  LogicalResult lowerOutlined(Operation *op);
  FailureOr<Kernel> emitKernel(Operation *op, ArrayRef<Value> inputs);
  LogicalResult lowerOp(Operation *op);

  func::FuncOp oldFunc, newFunc;
  int64_t worldSize;
  const gt::DeviceDescription &device;
  OpBuilder builder;
  llvm::DenseMap<Value, DeviceTensor> tensors;
  // Regions brought into cubes, by tensor.
  llvm::DenseMap<Value, SmallVector<Staged, 4>> staged;
  SmallVector<Value> pendingDMAs;
  SmallVector<int64_t> bytesPerCube;
  SmallVector<Type> resultTypes;
  SmallVector<Attribute> resultPieces;
  SmallVector<int64_t> resultSplitDims;
  // Tile sizes by (rows, cols, k, element bytes): a model's layers repeat
  // their slabs, so each shape is sized once.
  llvm::DenseMap<std::tuple<int64_t, int64_t, int64_t, int64_t>,
                 std::optional<GemmTileSizes>>
      tileSizes;
  // Shared by the module's functions; null when lowering inline.
  KernelCache *kernels;
};

} // namespace

MemRefType FunctionLowering::bufferType(ArrayRef<int64_t> shape,
                                        Type elementType, int64_t cube) {
  if (static_cast<int64_t>(bytesPerCube.size()) <= cube)
    bytesPerCube.resize(cube + 1, 0);
  bytesPerCube[cube] = gt::saturatingAdd(
      bytesPerCube[cube],
      checkedByteSize(shape, elementType.getIntOrFloatBitWidth() / 8)
          .value_or(std::numeric_limits<int64_t>::max()));
  return MemRefType::get(shape, elementType, MemRefLayoutAttrInterface(),
                         gt::CubeAttr::get(builder.getContext(), cube));
}

FailureOr<DPPolicyAttr> FunctionLowering::policyOf(Operation *where,
                                                   Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  DPPolicyAttr policy = getDPPolicy(type);
  if (!tensor || !tensor.hasStaticShape() || !policy)
    return where->emitOpError() << "has a value of type " << type
                                << " without a DPPolicy; run kb-place before "
                                   "convert-kb-to-gemm-tile";
  if (!gt::isDeviceElementType(tensor.getElementType()))
    return where->emitOpError()
           << "has a value of type " << type
           << ": cube buffers hold f16, bf16 and f32 elements";
  if (policy.getNumCubes() > device.cubes)
    return where->emitOpError()
           << "places a tensor on " << policy.getNumCubes()
           << " cubes, but the device has " << device.cubes;
  return policy;
}

LogicalResult FunctionLowering::checkMemory(Operation *where) {
  if (std::optional<std::string> overflow =
          cubeMemoryOverflow(bytesPerCube, device))
    return where->emitOpError() << *overflow;
  return success();
}

FailureOr<DeviceTensor> FunctionLowering::allocate(Operation *where,
                                                   Type type) {
  FailureOr<DPPolicyAttr> policy = policyOf(where, type);
  if (failed(policy))
    return failure();
  // Fail before emitting work for a program the device cannot hold.
  if (failed(checkMemory(where)))
    return failure();
  auto tensor = cast<RankedTensorType>(type);
  DeviceTensor result{tensor, {}};
  for (CubePiece &piece : cubePieces(tensor.getShape(), *policy)) {
    Value buffer = gt::AllocOp::create(
        builder, where->getLoc(),
        bufferType(piece.box.sizes, tensor.getElementType(), piece.cube));
    result.pieces.push_back({piece.cube, piece.box, buffer});
  }
  return result;
}

std::pair<Value, SmallVector<int64_t>>
FunctionLowering::bring(Value tensor, int64_t cube, const Box &box) {
  const DeviceTensor &t = tensors[tensor];
  for (const Piece &p : t.pieces)
    if (p.cube == cube && p.box.contains(box))
      return {p.buffer, minus(box.offsets, p.box.offsets)};
  for (const Staged &s : staged.lookup(tensor))
    if (s.cube == cube && s.box.contains(box))
      return {s.buffer, minus(box.offsets, s.box.offsets)};

  Location loc = tensor.getLoc();
  Value buffer = gt::AllocOp::create(
      builder, loc, bufferType(box.sizes, t.type.getElementType(), cube));
  for (const Piece *source : distinctPieces(t, cube)) {
    std::optional<Box> overlap = source->box.intersect(box);
    if (!overlap)
      continue;
    pendingDMAs.push_back(
        gt::DMAOp::create(builder, loc, token(), source->buffer,
                          minus(overlap->offsets, source->box.offsets), buffer,
                          minus(overlap->offsets, box.offsets), overlap->sizes,
                          /*rank_stride=*/nullptr));
  }
  staged[tensor].push_back({tensor, cube, box, buffer});
  return {buffer, SmallVector<int64_t>(box.sizes.size(), 0)};
}

void FunctionLowering::waitFor(SmallVector<Value> &tokens) {
  if (tokens.empty())
    return;
  gt::WaitOp::create(builder, tokens.front().getLoc(), tokens);
  tokens.clear();
}

LogicalResult FunctionLowering::lowerMatmul(MatmulOp op) {
  FailureOr<DeviceTensor> out = allocate(op, op.getType());
  if (failed(out))
    return failure();
  DPPolicyAttr policy = getDPPolicy(op.getType());
  int64_t k = op.getLhs().getType().getDimSize(1);
  int64_t elementBytes = op.getLhs().getType().getElementTypeBitWidth() / 8;
  ArrayRef<int64_t> shape = op.getType().getShape();

  // What each cube computes (one box per piece of the output).
  SmallVector<Box> computeBoxes = matmulComputeBoxes(shape, policy);

  struct Operands {
    Value a, b;
    SmallVector<int64_t> aOffsets, bOffsets;
  };
  SmallVector<Operands> operands;
  for (auto [piece, box] : llvm::zip_equal(out->pieces, computeBoxes)) {
    if (box.numElements() == 0) {
      operands.push_back({});
      continue;
    }
    Box rows{{box.offsets[0], 0}, {box.sizes[0], k}};
    Box cols{{0, box.offsets[1]}, {k, box.sizes[1]}};
    auto [a, aOffsets] = bring(op.getLhs(), piece.cube, rows);
    auto [b, bOffsets] = bring(op.getRhs(), piece.cube, cols);
    operands.push_back({a, b, aOffsets, bOffsets});
  }
  if (failed(checkMemory(op)))
    return failure();
  waitFor(pendingDMAs);

  SmallVector<Value> tiles;
  for (auto [piece, box, ops] :
       llvm::zip_equal(out->pieces, computeBoxes, operands)) {
    if (box.numElements() == 0)
      continue;
    // The compute box relative to the piece's buffer.
    Box local{minus(box.offsets, piece.box.offsets), box.sizes};
    SmallVector<Box> slabs = peShares(local, policy, device.pesPerCube);
    for (auto [pe, slab] : llvm::enumerate(slabs)) {
      int64_t rows = slab.sizes[0], cols = slab.sizes[1];
      auto [cached, fresh] =
          tileSizes.try_emplace({rows, cols, k, elementBytes}, std::nullopt);
      if (fresh)
        cached->second = chooseGemmTile(rows, cols, k, elementBytes, device);
      std::optional<GemmTileSizes> tile = cached->second;
      if (!tile)
        return op.emitOpError() << "has no gemm tile that fits a PE buffer of "
                                << device.peBufferBytes() << " bytes";
      int64_t count =
          ((rows + tile->m - 1) / tile->m) * ((cols + tile->n - 1) / tile->n);
      if (count > kMaxTilesPerSlab)
        return op.emitOpError()
               << "would need " << count << " tiles on one PE (at most "
               << kMaxTilesPerSlab << "); the shapes are beyond the device";
      for (int64_t i = 0; i < rows; i += tile->m) {
        for (int64_t j = 0; j < cols; j += tile->n) {
          int64_t m = std::min(tile->m, rows - i),
                  n = std::min(tile->n, cols - j);
          // Offsets of this tile in the output buffer and in the operands
          // (which hold the compute box's rows and columns).
          int64_t r = slab.offsets[0] + i, c = slab.offsets[1] + j;
          int64_t ar = r - local.offsets[0], bc = c - local.offsets[1];
          tiles.push_back(gt::MatmulOp::create(
              builder, op.getLoc(), token(), pe, ops.a,
              SmallVector<int64_t>{ops.aOffsets[0] + ar, ops.aOffsets[1]},
              ops.b,
              SmallVector<int64_t>{ops.bOffsets[0], ops.bOffsets[1] + bc},
              piece.buffer, SmallVector<int64_t>{r, c},
              SmallVector<int64_t>{m, n, k}, tile->kChunk,
              /*accumulate=*/false));
        }
      }
    }
  }
  waitFor(tiles);

  if (policy.isCubeReplicated()) {
    // Every replica takes the shares the other cubes computed.
    SmallVector<Value> copies;
    for (auto [from, box] : llvm::zip_equal(out->pieces, computeBoxes)) {
      if (box.numElements() == 0)
        continue;
      for (const Piece &to : out->pieces) {
        if (to.cube == from.cube)
          continue;
        copies.push_back(gt::DMAOp::create(
            builder, op.getLoc(), token(), from.buffer,
            minus(box.offsets, from.box.offsets), to.buffer,
            minus(box.offsets, to.box.offsets), box.sizes, nullptr));
      }
    }
    waitFor(copies);
  }
  tensors[op.getResult()] = *out;
  return success();
}

LogicalResult FunctionLowering::lowerElementwise(Operation *op) {
  Value result = op->getResult(0);
  FailureOr<DeviceTensor> out = allocate(op, result.getType());
  if (failed(out))
    return failure();
  DPPolicyAttr policy = getDPPolicy(result.getType());
  Value input = op->getOperand(0);
  Value rhs = op->getNumOperands() > 1 ? op->getOperand(1) : Value();
  bool bias = rhs && cast<RankedTensorType>(rhs.getType()).getRank() !=
                         cast<RankedTensorType>(input.getType()).getRank();

  struct Operands {
    Value in, rhs;
    SmallVector<int64_t> inOffsets, rhsOffsets;
  };
  SmallVector<Operands> operands;
  for (const Piece &piece : out->pieces) {
    Operands o;
    std::tie(o.in, o.inOffsets) = bring(input, piece.cube, piece.box);
    if (rhs) {
      Box rhsBox =
          bias ? Box{{piece.box.offsets.back()}, {piece.box.sizes.back()}}
               : piece.box;
      std::tie(o.rhs, o.rhsOffsets) = bring(rhs, piece.cube, rhsBox);
    }
    operands.push_back(o);
  }
  waitFor(pendingDMAs);

  SmallVector<Value> work;
  for (auto [piece, o] : llvm::zip_equal(out->pieces, operands)) {
    Box whole{SmallVector<int64_t, 2>(piece.box.sizes.size(), 0),
              piece.box.sizes};
    for (auto [pe, slabBox] :
         llvm::enumerate(peShares(whole, policy, device.pesPerCube))) {
      struct {
        int64_t pe;
        Box box;
      } slab{static_cast<int64_t>(pe), slabBox};
      SmallVector<int64_t> inOffsets;
      for (auto [a, b] : llvm::zip_equal(o.inOffsets, slab.box.offsets))
        inOffsets.push_back(a + b);
      if (!rhs) {
        work.push_back(gt::GeluOp::create(
            builder, op->getLoc(), token(), slab.pe, o.in, inOffsets,
            piece.buffer, slab.box.offsets, slab.box.sizes));
        continue;
      }
      SmallVector<int64_t> rhsOffsets;
      if (bias) {
        rhsOffsets = {o.rhsOffsets[0] + slab.box.offsets.back()};
      } else {
        for (auto [a, b] : llvm::zip_equal(o.rhsOffsets, slab.box.offsets))
          rhsOffsets.push_back(a + b);
      }
      work.push_back(gt::AddOp::create(
          builder, op->getLoc(), token(), slab.pe, o.in, inOffsets, o.rhs,
          rhsOffsets, piece.buffer, slab.box.offsets, slab.box.sizes));
    }
  }
  waitFor(work);
  tensors[result] = *out;
  return success();
}

LogicalResult FunctionLowering::lowerAllReduce(AllReduceOp op) {
  DeviceTensor input = tensors[op.getInput()];
  if (worldSize == 1) {
    tensors[op.getResult()] = input;
    return success();
  }
  DeviceTensor result = input;
  if (!op.getInput().hasOneUse()) {
    // The input lives on; reduce a copy.
    FailureOr<DeviceTensor> copy = allocate(op, op.getType());
    if (failed(copy))
      return failure();
    SmallVector<Value> copies;
    for (auto [from, to] : llvm::zip_equal(input.pieces, copy->pieces))
      copies.push_back(gt::DMAOp::create(
          builder, op.getLoc(), token(), from.buffer,
          SmallVector<int64_t>(from.box.sizes.size(), 0), to.buffer,
          SmallVector<int64_t>(to.box.sizes.size(), 0), from.box.sizes,
          nullptr));
    waitFor(copies);
    result = *copy;
  }
  ReductionKind kind = op.getReduction();
  SmallVector<const Piece *> distinct = distinctPieces(result);
  for (const Piece *piece : distinct) {
    for (int64_t step = 0; step + 1 < worldSize; ++step)
      gt::ReduceScatterStepOp::create(builder, op.getLoc(), kind, piece->buffer,
                                      step, worldSize);
    for (int64_t step = 0; step + 1 < worldSize; ++step)
      gt::AllGatherStepOp::create(builder, op.getLoc(), piece->buffer, step,
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
    broadcasts.push_back(gt::DMAOp::create(builder, op.getLoc(), token(),
                                           reduced->buffer, zeros, piece.buffer,
                                           zeros, piece.box.sizes, nullptr));
  }
  waitFor(broadcasts);
  tensors[op.getResult()] = result;
  return success();
}

LogicalResult FunctionLowering::lowerSlice(TPSliceOp op) {
  FailureOr<DeviceTensor> out = allocate(op, op.getType());
  if (failed(out))
    return failure();
  const DeviceTensor &input = tensors[op.getInput()];
  int64_t dim = op.getDim();
  int64_t sliceSize = op.getType().getDimSize(dim);
  SmallVector<int64_t> stride(op.getType().getRank(), 0);
  stride[dim] = sliceSize;
  SmallVector<Value> copies;
  for (const Piece &piece : out->pieces) {
    // The box every rank may read: rank r reads `piece.box` moved r slices on.
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
    copies.push_back(gt::DMAOp::create(
        builder, op.getLoc(), token(), source->buffer,
        minus(piece.box.offsets, source->box.offsets), piece.buffer,
        SmallVector<int64_t>(piece.box.sizes.size(), 0), piece.box.sizes,
        builder.getDenseI64ArrayAttr(stride)));
  }
  waitFor(copies);
  tensors[op.getResult()] = *out;
  return success();
}

LogicalResult FunctionLowering::lowerReturn(func::ReturnOp op) {
  SmallVector<Value> buffers;
  for (auto [index, value] : llvm::enumerate(op.getOperands())) {
    const DeviceTensor &t = tensors[value];
    for (const Piece *piece : distinctPieces(t)) {
      buffers.push_back(piece->buffer);
      resultTypes.push_back(piece->buffer.getType());
      resultPieces.push_back(
          gt::PieceAttr::get(builder.getContext(), index, piece->box.offsets));
    }
  }
  func::ReturnOp::create(builder, op.getLoc(), buffers);
  return success();
}

LogicalResult FunctionLowering::lowerWork(Operation *op) {
  if (auto matmul = dyn_cast<MatmulOp>(op))
    return lowerMatmul(matmul);
  if (isa<GeluOp, AddOp>(op))
    return lowerElementwise(op);
  if (auto reduce = dyn_cast<AllReduceOp>(op))
    return lowerAllReduce(reduce);
  return lowerSlice(cast<TPSliceOp>(op));
}

FailureOr<Kernel> FunctionLowering::emitKernel(Operation *op,
                                               ArrayRef<Value> inputs) {
  MLIRContext *ctx = op->getContext();
  ModuleOp module = newFunc->getParentOfType<ModuleOp>();
  SmallVector<Type> argTypes;
  for (Value input : inputs)
    for (const Piece &piece : tensors[input].pieces)
      argTypes.push_back(piece.buffer.getType());

  // A name no other symbol has: the op's mnemonic and the next number (past
  // any a user function already took).
  StringRef mnemonic = op->getName().stripDialect();
  unsigned &number = kernels->nextNumber[mnemonic];
  std::string name;
  do
    name = (mnemonic + "_" + Twine(number++)).str();
  while (SymbolTable::lookupSymbolIn(module, name));
  auto kernel = func::FuncOp::create(op->getLoc(), name,
                                     FunctionType::get(ctx, argTypes, {}));
  kernel.setPrivate();
  module.getBody()->getOperations().insert(newFunc->getIterator(), kernel);
  Block *body = kernel.addEntryBlock();

  // Inside the kernel the operands are its arguments; no region of them has
  // been staged yet. The caller's view comes back afterwards.
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(body);
  SmallVector<DeviceTensor> outer;
  unsigned next = 0;
  for (Value input : inputs) {
    outer.push_back(tensors[input]);
    for (Piece &piece : tensors[input].pieces)
      piece.buffer = body->getArgument(next++);
  }
  auto outerStaged = std::move(staged);
  staged.clear();
  SmallVector<int64_t> bytesBefore = bytesPerCube;
  llvm::scope_exit restore([&] {
    for (auto [input, tensor] : llvm::zip_equal(inputs, outer))
      tensors[input] = tensor;
    staged = std::move(outerStaged);
  });

  if (failed(lowerWork(op))) {
    kernel.erase();
    return failure();
  }
  Kernel result{kernel, {}, {}};
  SmallVector<Value> buffers;
  SmallVector<Type> resultTypes;
  for (const Piece &piece : tensors[op->getResult(0)].pieces) {
    buffers.push_back(piece.buffer);
    resultTypes.push_back(piece.buffer.getType());
    result.resultPieces.push_back({piece.cube, piece.box, Value()});
  }
  func::ReturnOp::create(builder, op->getLoc(), buffers);
  kernel.setFunctionType(FunctionType::get(ctx, argTypes, resultTypes));
  result.bytesPerCube = bytesPerCube;
  for (auto [i, before] : llvm::enumerate(bytesBefore))
    result.bytesPerCube[i] -= before;
  return result;
}

LogicalResult FunctionLowering::lowerOutlined(Operation *op) {
  // The distinct tensor operands, and for each operand which of them it is.
  SmallVector<Value> inputs;
  KernelKey key{op->getName().getAsOpaquePointer(),
                op->getAttrDictionary().getAsOpaquePointer(),
                op->getResult(0).getType().getAsOpaquePointer()};
  for (Value operand : op->getOperands()) {
    if (!isa<RankedTensorType>(operand.getType()))
      continue;
    auto *it = llvm::find(inputs, operand);
    if (it == inputs.end())
      inputs.push_back(operand);
    key.push_back(operand.getType().getAsOpaquePointer());
    key.push_back(reinterpret_cast<const void *>(
        static_cast<uintptr_t>(it - inputs.begin())));
  }
  // An all_reduce reduces its input in place only when nothing else reads it.
  if (isa<AllReduceOp>(op))
    key.push_back(reinterpret_cast<const void *>(
        static_cast<uintptr_t>(op->getOperand(0).hasOneUse())));

  auto found = kernels->byKey.find(key);
  if (found == kernels->byKey.end()) {
    FailureOr<Kernel> kernel = emitKernel(op, inputs);
    if (failed(kernel))
      return failure();
    found = kernels->byKey.emplace(std::move(key), std::move(*kernel)).first;
  } else {
    // The kernel's allocations happen again at every call.
    if (bytesPerCube.size() < found->second.bytesPerCube.size())
      bytesPerCube.resize(found->second.bytesPerCube.size(), 0);
    for (auto [i, bytes] : llvm::enumerate(found->second.bytesPerCube))
      bytesPerCube[i] = gt::saturatingAdd(bytesPerCube[i], bytes);
    if (failed(checkMemory(op)))
      return failure();
  }
  const Kernel &kernel = found->second;

  SmallVector<Value> args;
  for (Value input : inputs)
    for (const Piece &piece : tensors[input].pieces)
      args.push_back(piece.buffer);
  auto call = func::CallOp::create(builder, op->getLoc(), kernel.func, args);
  DeviceTensor result{cast<RankedTensorType>(op->getResult(0).getType()), {}};
  for (auto [piece, buffer] :
       llvm::zip_equal(kernel.resultPieces, call.getResults()))
    result.pieces.push_back({piece.cube, piece.box, buffer});
  tensors[op->getResult(0)] = std::move(result);
  return success();
}

LogicalResult FunctionLowering::lowerOp(Operation *op) {
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return lowerReturn(ret);
  if (auto rank = dyn_cast<TPRankOp>(op)) {
    // The rank only feeds slices, whose DMAs carry it as a rank stride.
    for (Operation *user : rank->getUsers())
      if (!isa<TPSliceOp>(user))
        return user->emitOpError()
               << "uses kb.tp_rank, which convert-kb-to-gemm-tile lowers only "
                  "into kb.tp_slice";
    return success();
  }
  if (!isa<MatmulOp, GeluOp, AddOp, AllReduceOp, TPSliceOp>(op))
    return op->emitOpError() << "is not supported by convert-kb-to-gemm-tile";
  // An all_reduce over one rank is the identity: no work to outline.
  bool identity = isa<AllReduceOp>(op) && worldSize == 1;
  if (kernels && !identity)
    return lowerOutlined(op);
  return lowerWork(op);
}

LogicalResult FunctionLowering::run() {
  if (oldFunc.isExternal())
    return success();
  if (!oldFunc.getBody().hasOneBlock())
    return oldFunc.emitOpError() << "must have one block to be lowered";
  MLIRContext *ctx = oldFunc.getContext();

  // The new signature: one buffer per cube piece of each argument.
  SmallVector<Type> argTypes;
  SmallVector<Attribute> argPieces;
  SmallVector<int64_t> argSplitDims;
  SmallVector<std::pair<Value, Piece>> argPieceOf;
  for (BlockArgument arg : oldFunc.getArguments()) {
    FailureOr<DPPolicyAttr> policy = policyOf(oldFunc, arg.getType());
    if (failed(policy))
      return failure();
    auto type = cast<RankedTensorType>(arg.getType());
    for (CubePiece &piece : cubePieces(type.getShape(), *policy)) {
      argTypes.push_back(
          bufferType(piece.box.sizes, type.getElementType(), piece.cube));
      argPieces.push_back(
          gt::PieceAttr::get(ctx, arg.getArgNumber(), piece.box.offsets));
      argPieceOf.push_back({arg, Piece{piece.cube, piece.box, Value()}});
    }
    auto split = oldFunc.getArgAttrOfType<IntegerAttr>(
        arg.getArgNumber(), KBDialect::kSplitDimAttrName);
    argSplitDims.push_back(split ? split.getInt() : -1);
  }

  builder.setInsertionPoint(oldFunc);
  newFunc =
      func::FuncOp::create(builder, oldFunc.getLoc(), oldFunc.getSymName(),
                           builder.getFunctionType(argTypes, {}));
  newFunc.setVisibility(oldFunc.getVisibility());
  Block *entry = newFunc.addEntryBlock();
  for (auto [arg, pieceOf] :
       llvm::zip_equal(entry->getArguments(), argPieceOf)) {
    Piece piece = pieceOf.second;
    piece.buffer = arg;
    tensors[pieceOf.first].type =
        cast<RankedTensorType>(pieceOf.first.getType());
    tensors[pieceOf.first].pieces.push_back(piece);
  }
  builder.setInsertionPointToStart(entry);

  for (Operation &op : oldFunc.getBody().front())
    if (failed(lowerOp(&op))) {
      newFunc.erase();
      return failure();
    }

  if (std::optional<std::string> overflow =
          cubeMemoryOverflow(bytesPerCube, device)) {
    newFunc.erase();
    return oldFunc.emitOpError() << *overflow;
  }

  for (unsigned i = 0; i < oldFunc.getNumResults(); ++i) {
    auto split = oldFunc.getResultAttrOfType<IntegerAttr>(
        i, KBDialect::kSplitDimAttrName);
    resultSplitDims.push_back(split ? split.getInt() : -1);
  }
  newFunc.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  // All at once: setting them one by one rebuilds the array each time.
  auto pieceDicts = [&](ArrayRef<Attribute> pieces) {
    SmallVector<DictionaryAttr> dicts;
    for (Attribute piece : pieces)
      dicts.push_back(builder.getDictionaryAttr(
          builder.getNamedAttr(gt::GemmTileDialect::kPieceAttrName, piece)));
    return dicts;
  };
  newFunc.setAllArgAttrs(pieceDicts(argPieces));
  newFunc.setAllResultAttrs(pieceDicts(resultPieces));
  newFunc->setAttr(KBDialect::kLocalFunctionTypeAttrName,
                   TypeAttr::get(oldFunc.getFunctionType()));
  newFunc->setAttr(KBDialect::kArgSplitDimsAttrName,
                   builder.getDenseI64ArrayAttr(argSplitDims));
  newFunc->setAttr(KBDialect::kResultSplitDimsAttrName,
                   builder.getDenseI64ArrayAttr(resultSplitDims));
  oldFunc.erase();
  return success();
}

namespace {
struct ConvertKBToGemmTilePass
    : public kb::impl::ConvertKBToGemmTilePassBase<ConvertKBToGemmTilePass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!module->hasAttr(KBDialect::kSPMDAttrName)) {
      module.emitError() << "convert-kb-to-gemm-tile lowers the local view: "
                            "run kb-tp-partition and kb-place first";
      return signalPassFailure();
    }
    int64_t worldSize = lookupWorldSize(module).value_or(1);
    gt::DeviceDescription device = gt::lookupDevice(module);
    KernelCache kernels;
    for (auto func :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      // Functions already lowered (no tensors in their signature) stay.
      if (llvm::none_of(func.getArgumentTypes(), llvm::IsaPred<TensorType>) &&
          llvm::none_of(func.getResultTypes(), llvm::IsaPred<TensorType>))
        continue;
      FunctionLowering lowering(func, worldSize, device,
                                outlineOps ? &kernels : nullptr);
      if (failed(lowering.run()))
        return signalPassFailure();
    }
  }
};
} // namespace
