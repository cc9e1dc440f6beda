//===- CheckYieldSafety.cpp - every path of a rank program yields ---------===//

#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"

#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/DenseSet.h"

namespace kb::gemm_tile {
#define GEN_PASS_DEF_GEMMTILECHECKYIELDSAFETYPASS
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"
} // namespace kb::gemm_tile

using namespace mlir;
using namespace kb::gemm_tile;

static bool isYieldPoint(Operation *op) {
  return isa<WaitOp, ReduceScatterStepOp, AllGatherStepOp>(op);
}

static bool regionAlwaysYields(Region &region);

/// Whether every execution of `op` passes a yield point.
static bool opAlwaysYields(Operation *op) {
  if (isYieldPoint(op))
    return true;
  // A loop body may run zero times; other region ops (if/else) yield when
  // every one of their regions does.
  if (op->getNumRegions() == 0 || isa<LoopLikeOpInterface>(op))
    return false;
  return llvm::all_of(op->getRegions(), [](Region &region) {
    return regionAlwaysYields(region);
  });
}

/// Whether every path from the region's entry to an exit of the region
/// passes a yield point. A block that yields cuts the paths through it.
static bool regionAlwaysYields(Region &region) {
  if (region.empty())
    return false;
  llvm::DenseSet<Block *> visited;
  SmallVector<Block *> worklist = {&region.front()};
  while (!worklist.empty()) {
    Block *block = worklist.pop_back_val();
    if (!visited.insert(block).second)
      continue;
    if (llvm::any_of(*block, [](Operation &op) { return opAlwaysYields(&op); }))
      continue;
    if (block->empty() || block->getNumSuccessors() == 0)
      return false; // reached an exit without yielding
    for (Block *successor : block->getSuccessors())
      worklist.push_back(successor);
  }
  return true;
}

namespace {
struct GemmTileCheckYieldSafetyPass
    : public kb::gemm_tile::impl::GemmTileCheckYieldSafetyPassBase<
          GemmTileCheckYieldSafetyPass> {
  void runOnOperation() override {
    // A pure check: saying so also spares the pass manager from verifying the
    // whole device program again after it.
    markAllAnalysesPreserved();
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    bool isRankProgram = false;
    func.walk([&](Operation *op) {
      if (isa<GemmTileDialect>(op->getDialect())) {
        isRankProgram = true;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (!isRankProgram || regionAlwaysYields(func.getBody()))
      return;
    func.emitError() << "function '" << func.getSymName()
                     << "' has a path with no gemm_tile.wait and no ring "
                        "step: the scheduler could never switch ranks on it "
                        "(yield safety)";
    signalPassFailure();
  }
};
} // namespace
