//===- CheckYieldSafety.cpp - every path of a rank program yields ---------===//

#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace kb::gemm_tile {
#define GEN_PASS_DEF_GEMMTILECHECKYIELDSAFETYPASS
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"
} // namespace kb::gemm_tile

using namespace mlir;
using namespace kb::gemm_tile;

namespace {

/// Which functions of a module yield on every path, and which are rank
/// programs at all; each function is analysed once, through the calls.
class YieldAnalysis {
public:
  explicit YieldAnalysis(ModuleOp module) : module(module) {}

  /// Whether every path from the function's entry to a return passes a yield
  /// point. A function still being analysed (recursion) counts as not
  /// yielding, which can only reject, never wrongly accept.
  bool alwaysYields(func::FuncOp func) {
    auto [it, fresh] = yields.try_emplace(func, false);
    if (!fresh)
      return it->second;
    bool result = !func.isExternal() && regionAlwaysYields(func.getBody());
    yields[func] = result;
    return result;
  }

  /// Whether the function does device work, itself or through a call.
  bool isRankProgram(func::FuncOp func) {
    auto [it, fresh] = rankPrograms.try_emplace(func, false);
    if (!fresh)
      return it->second;
    bool result = false;
    func.walk([&](Operation *op) {
      func::FuncOp callee;
      if (isa<GemmTileDialect>(op->getDialect()) ||
          ((callee = calleeOf(op)) && isRankProgram(callee))) {
        result = true;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    rankPrograms[func] = result;
    return result;
  }

private:
  func::FuncOp calleeOf(Operation *op) {
    auto call = dyn_cast<CallOpInterface>(op);
    if (!call)
      return {};
    auto symbol = dyn_cast<SymbolRefAttr>(call.getCallableForCallee());
    if (!symbol)
      return {};
    return symbols.lookupNearestSymbolFrom<func::FuncOp>(module, symbol);
  }

  /// Where the scheduler may switch ranks: a wait, or any ring step.
  static bool isYieldPoint(Operation *op) {
    return isa<WaitOp, RingStepOpInterface>(op);
  }

  /// Whether every execution of `op` passes a yield point.
  bool opAlwaysYields(Operation *op) {
    if (isYieldPoint(op))
      return true;
    if (func::FuncOp callee = calleeOf(op))
      return alwaysYields(callee);
    // A loop body may run zero times; other region ops (if/else) yield when
    // every one of their regions does.
    if (op->getNumRegions() == 0 || isa<LoopLikeOpInterface>(op))
      return false;
    return llvm::all_of(op->getRegions(), [&](Region &region) {
      return regionAlwaysYields(region);
    });
  }

  /// Whether every path from the region's entry to an exit of the region
  /// passes a yield point. A block that yields cuts the paths through it.
  bool regionAlwaysYields(Region &region) {
    if (region.empty())
      return false;
    llvm::DenseSet<Block *> visited;
    SmallVector<Block *> worklist = {&region.front()};
    while (!worklist.empty()) {
      Block *block = worklist.pop_back_val();
      if (!visited.insert(block).second)
        continue;
      if (llvm::any_of(*block,
                       [&](Operation &op) { return opAlwaysYields(&op); }))
        continue;
      if (block->empty() || block->getNumSuccessors() == 0) {
        // Reached an exit without yielding. The outermost region's exit is
        // recorded last: the one the error points at.
        exitWithoutYield =
            block->empty() ? region.getParentOp() : block->getTerminator();
        return false;
      }
      for (Block *successor : block->getSuccessors())
        worklist.push_back(successor);
    }
    return true;
  }

public:
  /// The exit (a terminator) of the last region found with a path that does
  /// not yield.
  Operation *exitWithoutYield = nullptr;

private:
  ModuleOp module;
  SymbolTableCollection symbols;
  llvm::DenseMap<Operation *, bool> yields, rankPrograms;
};

struct GemmTileCheckYieldSafetyPass
    : public kb::gemm_tile::impl::GemmTileCheckYieldSafetyPassBase<
          GemmTileCheckYieldSafetyPass> {
  void runOnOperation() override {
    // A pure check: saying so also spares the pass manager from verifying the
    // whole device program again after it.
    markAllAnalysesPreserved();
    YieldAnalysis analysis(getOperation());
    bool failed = false;
    // The entry points; a private function (an outlined kernel) runs only
    // where it is called and is checked as part of its callers' paths.
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || func.isPrivate() ||
          !analysis.isRankProgram(func) || analysis.alwaysYields(func))
        continue;
      // Point at the exit the path reaches, not at the whole function (a
      // diagnostic on the function would print all of it). A fresh analysis
      // finds this function's own path, not one memoized from a callee.
      YieldAnalysis witness(getOperation());
      witness.alwaysYields(func);
      Operation *exit = witness.exitWithoutYield;
      Location loc = exit ? exit->getLoc() : func.getLoc();
      InFlightDiagnostic diag =
          emitError(loc)
          << "function '" << func.getSymName() << "' reaches this "
          << (exit ? "'" + exit->getName().getStringRef().str() + "'"
                   : std::string("exit"))
          << " on a path with no gemm_tile.wait and no ring step: the "
             "scheduler could never switch ranks on it (yield safety)";
      if (exit && exit->getLoc() != func.getLoc())
        diag.attachNote(func.getLoc()) << "the function starts here";
      failed = true;
    }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
