//===- CheckCubeMemory.cpp - every rank program fits its cubes ------------===//
//
// Cube memory is not freed while a program runs, so what a program needs in
// a cube is the sum of its argument buffers and of every buffer it allocates
// there, its kernels' included. The check runs on the lowered program, after
// the lowering, so the lowering stays one pattern per op and every producer
// of gemm_tile IR gets the same check.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "llvm/ADT/DenseMap.h"

namespace kb::gemm_tile {
#define GEN_PASS_DEF_GEMMTILECHECKCUBEMEMORYPASS
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"
} // namespace kb::gemm_tile

using namespace mlir;
using namespace kb::gemm_tile;

namespace {

/// Bytes per cube, indexed by cube.
using CubeBytes = SmallVector<int64_t, 16>;

/// Adds `bytes` to cube `cube` of `total`, saturating.
void add(CubeBytes &total, int64_t cube, int64_t bytes) {
  if (static_cast<int64_t>(total.size()) <= cube)
    total.resize(cube + 1, 0);
  total[cube] = saturatingAdd(total[cube], bytes);
}

/// The cube and byte size of a buffer type, or std::nullopt for a value that
/// is not a cube buffer.
std::optional<std::pair<int64_t, int64_t>> cubeBuffer(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  auto cube =
      memref ? dyn_cast_or_null<CubeAttr>(memref.getMemorySpace()) : CubeAttr();
  if (!cube || !memref.hasStaticShape() ||
      !memref.getElementType().isIntOrFloat())
    return std::nullopt;
  int64_t bytes = memref.getElementTypeBitWidth() / 8;
  for (int64_t size : memref.getShape())
    bytes = saturatingMul(bytes, size);
  return std::make_pair(cube.getIndex(), bytes);
}

class CubeMemoryCheck {
public:
  explicit CubeMemoryCheck(const DeviceDescription &device) : device(device) {}

  /// Checks one entry point; fails, with an error, when a cube overflows.
  LogicalResult checkEntry(func::FuncOp func) {
    CubeBytes total;
    for (Type type : func.getArgumentTypes())
      if (auto buffer = cubeBuffer(type))
        add(total, buffer->first, buffer->second);
    WalkResult walk = func.walk([&](Operation *op) {
      if (auto alloc = dyn_cast<AllocOp>(op)) {
        if (auto buffer = cubeBuffer(alloc.getType()))
          add(total, buffer->first, buffer->second);
      } else if (func::FuncOp callee = calleeOf(op)) {
        for (auto [cube, bytes] : llvm::enumerate(allocatedBy(callee)))
          add(total, cube, bytes);
      } else {
        return WalkResult::advance();
      }
      return failed(checkFits(op, total)) ? WalkResult::interrupt()
                                          : WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    // Arguments that alone do not fit, in a function that allocates nothing.
    return checkFits(func, total);
  }

private:
  LogicalResult checkFits(Operation *where, const CubeBytes &total) {
    if (std::optional<std::string> overflow = cubeMemoryOverflow(total, device))
      return where->emitOpError() << *overflow;
    return success();
  }

  func::FuncOp calleeOf(Operation *op) {
    auto call = dyn_cast<CallOpInterface>(op);
    if (!call)
      return nullptr;
    return dyn_cast_or_null<func::FuncOp>(
        call.resolveCallableInTable(&symbols));
  }

  /// What one call of `func` allocates per cube, its callees' allocations
  /// included; computed once per function. A call cycle (which kb-run
  /// rejects) counts its recursive call as allocating nothing.
  const CubeBytes &allocatedBy(func::FuncOp func) {
    auto [it, fresh] = allocations.try_emplace(func);
    if (!fresh)
      return it->second;
    CubeBytes total;
    func.walk([&](Operation *op) {
      if (auto alloc = dyn_cast<AllocOp>(op)) {
        if (auto buffer = cubeBuffer(alloc.getType()))
          add(total, buffer->first, buffer->second);
      } else if (func::FuncOp callee = calleeOf(op)) {
        for (auto [cube, bytes] : llvm::enumerate(allocatedBy(callee)))
          add(total, cube, bytes);
      }
    });
    // The map may have grown meanwhile: look the entry up again.
    CubeBytes &entry = allocations[func];
    entry = std::move(total);
    return entry;
  }

  const DeviceDescription &device;
  SymbolTableCollection symbols;
  llvm::DenseMap<Operation *, CubeBytes> allocations;
};

struct GemmTileCheckCubeMemoryPass
    : public kb::gemm_tile::impl::GemmTileCheckCubeMemoryPassBase<
          GemmTileCheckCubeMemoryPass> {
  void runOnOperation() override {
    // A pure check: the IR is unchanged.
    markAllAnalysesPreserved();
    ModuleOp module = getOperation();
    DeviceDescription device = lookupDevice(module);
    CubeMemoryCheck check(device);
    bool failed = false;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && !func.isPrivate() &&
          mlir::failed(check.checkEntry(func)))
        failed = true;
    if (failed)
      signalPassFailure();
  }
};

} // namespace
