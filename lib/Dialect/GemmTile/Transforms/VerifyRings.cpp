//===- VerifyRings.cpp - every ring collective complete and in order ------===//
//
// The chunk a ring step moves is a function of its step index, so a broken
// ring (a step missing, repeated or swapped, an all-gather half missing)
// still executes and silently leaves chunks unreduced or stale. This pass
// follows each buffer's steps in program order and refuses any sequence
// other than complete rings. An asynchronous step (one with a token) keeps
// its buffers on the ring link until a gemm_tile.wait on its token: any other
// use before that, or a token never waited for, is refused too.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/MapVector.h"

namespace kb::gemm_tile {
#define GEN_PASS_DEF_GEMMTILEVERIFYRINGSPASS
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"
} // namespace kb::gemm_tile

using namespace mlir;
using namespace kb::gemm_tile;

namespace {

/// Where a buffer is in its ring.
struct RingState {
  enum Phase { ReduceScatter, ReduceScatterDone, AllGather } phase;
  int64_t nextStep;       // the step due
  int64_t ringSize;       // W
  kb::ReductionKind kind; // of the reduce-scatter
  Operation *opening;     // the ring's first step
  // The dimension its chunks are cut along: such a reduce-scatter or
  // all-gather is a collective of its own; a flat reduce-scatter is half
  // of an all-reduce.
  std::optional<int64_t> along;
  // The buffers whose chunks it moves (one tensor's pieces), in order.
  llvm::SmallVector<Value> buffers;
};

/// One ring step, whichever half.
struct Step {
  bool reduce;
  int64_t step, ringSize;
  kb::ReductionKind kind;
  llvm::SmallVector<Value> buffers;
  std::optional<int64_t> along;
};

std::optional<Step> asStep(Operation *op) {
  if (auto rs = dyn_cast<ReduceScatterStepOp>(op))
    return Step{true, static_cast<int64_t>(rs.getStep()),
                static_cast<int64_t>(rs.getRingSize()), rs.getKind(),
                llvm::SmallVector<Value>(rs.getBuffers()), rs.getAlong()};
  if (auto ag = dyn_cast<AllGatherStepOp>(op))
    return Step{false, static_cast<int64_t>(ag.getStep()),
                static_cast<int64_t>(ag.getRingSize()), kb::ReductionKind::Sum,
                llvm::SmallVector<Value>(ag.getBuffers()), ag.getAlong()};
  return std::nullopt;
}

const char *halfName(bool reduce) {
  return reduce ? "reduce-scatter" : "all-gather";
}

/// What is missing from a ring in `state`, for messages.
std::string missing(const RingState &s) {
  std::string range = "steps 0 to " + std::to_string(s.ringSize - 2);
  switch (s.phase) {
  case RingState::ReduceScatter:
    return "its reduce-scatter stops before step " +
           std::to_string(s.nextStep) + " (" + range + " are needed)";
  case RingState::ReduceScatterDone:
    return "its all-gather half (" + range + ") is missing";
  case RingState::AllGather:
    return "its all-gather stops before step " + std::to_string(s.nextStep) +
           " (" + range + " are needed)";
  }
  return "";
}

class RingChecker {
public:
  explicit RingChecker(std::optional<int64_t> worldSize)
      : worldSize(worldSize) {}

  /// Checks the rings of one block; false after reporting an error.
  bool checkBlock(Block &block) {
    // Open rings by their first buffer, and every buffer of an open ring.
    llvm::MapVector<Value, RingState> open;
    llvm::DenseMap<Value, Value> member;
    auto ringOf = [&](Value buffer) {
      auto m = member.find(buffer);
      return m == member.end() ? open.end() : open.find(m->second);
    };
    // Asynchronous steps not yet waited for, in program order, and how many
    // of them move each buffer: an op's operands are looked up, not
    // compared with every step in flight (a whole model's overlapped rings
    // keep dozens in flight).
    SmallVector<RingStepOpInterface> inFlight;
    llvm::DenseMap<Value, unsigned> movedBy;
    for (Operation &op : block) {
      if (std::optional<Step> step = asStep(&op)) {
        if (!advance(&op, *step, open, member))
          return false;
        if (auto ring = cast<RingStepOpInterface>(&op); ring.getAsyncToken()) {
          inFlight.push_back(ring);
          for (Value buffer : ring.getBuffers())
            ++movedBy[buffer];
        }
        continue;
      }
      if (auto wait = dyn_cast<WaitOp>(&op)) {
        llvm::erase_if(inFlight, [&](RingStepOpInterface ring) {
          if (!llvm::is_contained(wait.getTokens(), ring.getAsyncToken()))
            return false;
          for (Value buffer : ring.getBuffers())
            if (--movedBy[buffer] == 0)
              movedBy.erase(buffer);
          return true;
        });
        continue;
      }
      // The link may still be moving a buffer's chunks.
      for (Value operand : op.getOperands())
        if (movedBy.contains(operand))
          for (RingStepOpInterface ring : inFlight)
            if (llvm::is_contained(ring.getBuffers(), operand)) {
              InFlightDiagnostic diag =
                  emitError(op.getLoc())
                  << "'" << op.getName()
                  << "' uses a buffer that an asynchronous ring step still "
                     "moves: no gemm_tile.wait on its token before this use";
              diag.attachNote(ring.getLoc()) << "the ring step is here";
              return false;
            }
      // Any other use sees a buffer whose chunks are half reduced or half
      // gathered; nested regions are checked block by block below.
      for (Value operand : op.getOperands()) {
        auto it = ringOf(operand);
        if (it == open.end())
          continue;
        InFlightDiagnostic diag = emitError(op.getLoc())
                                  << "'" << op.getName()
                                  << "' uses a buffer whose ring is not "
                                     "complete: "
                                  << missing(it->second);
        diag.attachNote(it->second.opening->getLoc()) << "the ring starts here";
        return false;
      }
      bool usedInside = false;
      op.walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          if (inner != &op && ringOf(operand) != open.end()) {
            emitError(inner->getLoc())
                << "'" << inner->getName()
                << "' uses a buffer whose ring is not complete: "
                << missing(ringOf(operand)->second);
            usedInside = true;
            return WalkResult::interrupt();
          }
        return WalkResult::advance();
      });
      if (usedInside)
        return false;
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          if (!checkBlock(inner))
            return false;
    }
    for (auto &[buffer, state] : open) {
      emitError(state.opening->getLoc())
          << "the ring that starts here is not complete: " << missing(state);
      return false;
    }
    if (!inFlight.empty()) {
      emitError(inFlight.front().getLoc())
          << "the token of this asynchronous ring step is never waited for "
             "(a gemm_tile.wait on it must come before the block ends)";
      return false;
    }
    return true;
  }

private:
  bool advance(Operation *op, const Step &step,
               llvm::MapVector<Value, RingState> &open,
               llvm::DenseMap<Value, Value> &member) {
    auto refuse = [&]() { return emitError(op->getLoc()); };
    if (worldSize && step.ringSize != *worldSize) {
      refuse() << halfName(step.reduce) << " step " << step.step
               << " is a step of a ring of " << step.ringSize
               << " SIPs, but the module's kb.world_size is " << *worldSize;
      return false;
    }
    // A step belongs to the open ring of any buffer it names, and must then
    // name exactly that ring's buffers.
    auto it = open.end();
    for (Value buffer : step.buffers)
      if (auto m = member.find(buffer); m != member.end()) {
        it = open.find(m->second);
        break;
      }
    if (it != open.end() && it->second.buffers != step.buffers) {
      refuse() << halfName(step.reduce) << " step " << step.step << " moves "
               << step.buffers.size()
               << " buffers that are not the ring's own (it has "
               << it->second.buffers.size()
               << "); every step of a ring moves the same buffers, in order";
      return false;
    }
    if (it == open.end()) {
      if (step.step != 0) {
        refuse() << halfName(step.reduce) << " step " << step.step << " of "
                 << step.ringSize
                 << " has no step 0 before it on this buffer: a ring runs "
                    "steps 0 to "
                 << step.ringSize - 2 << " in order, each once";
        return false;
      }
      RingState state{step.reduce ? RingState::ReduceScatter
                                  : RingState::AllGather,
                      1, step.ringSize, step.kind, op, step.along,
                      step.buffers};
      if (state.nextStep == step.ringSize - 1)
        state.phase =
            step.reduce ? RingState::ReduceScatterDone : RingState::AllGather;
      if ((!step.reduce || step.along) && state.nextStep == step.ringSize - 1)
        return true; // a two-SIP all-gather or reduce-scatter: one step
      open.insert({step.buffers.front(), state});
      for (Value buffer : step.buffers)
        member[buffer] = step.buffers.front();
      return true;
    }
    RingState &state = it->second;
    if (step.along != state.along) {
      auto chunks = [](std::optional<int64_t> along) {
        return along ? "chunks along dimension " + std::to_string(*along)
                     : std::string("flat chunks");
      };
      refuse() << halfName(step.reduce) << " step " << step.step << " cuts "
               << chunks(step.along) << ", but the ring on this buffer cuts "
               << chunks(state.along);
      return false;
    }
    if (step.ringSize != state.ringSize) {
      refuse() << halfName(step.reduce) << " step " << step.step
               << " is a step of a ring of " << step.ringSize
               << " SIPs, but the ring on this buffer has " << state.ringSize;
      return false;
    }
    if (state.phase == RingState::ReduceScatterDone) {
      if (step.reduce) {
        refuse() << "reduce-scatter step " << step.step
                 << " on a buffer whose reduce-scatter is complete: "
                 << missing(state) << " before another ring may start";
        return false;
      }
      if (step.step != 0) {
        refuse() << "all-gather step " << step.step
                 << " comes where step 0 is due (steps 0 to "
                 << state.ringSize - 2 << " run in order, each once)";
        return false;
      }
      state.phase = RingState::AllGather;
      state.nextStep = 1;
    } else {
      bool inReduce = state.phase == RingState::ReduceScatter;
      if (step.reduce != inReduce) {
        refuse() << halfName(step.reduce) << " step " << step.step
                 << " comes before the " << halfName(inReduce)
                 << " on this buffer is complete: " << missing(state);
        return false;
      }
      if (step.step != state.nextStep) {
        refuse() << halfName(step.reduce) << " step " << step.step
                 << (step.step < state.nextStep ? " repeats a step taken"
                                                : " skips ahead")
                 << ": step " << state.nextStep << " is due (steps 0 to "
                 << state.ringSize - 2 << " run in order, each once)";
        return false;
      }
      if (step.reduce && step.kind != state.kind) {
        refuse() << "reduce-scatter step " << step.step << " reduces with <"
                 << kb::stringifyReductionKind(step.kind)
                 << "> but step 0 with <"
                 << kb::stringifyReductionKind(state.kind) << ">";
        return false;
      }
      ++state.nextStep;
    }
    if (state.nextStep == state.ringSize - 1) {
      if (state.phase == RingState::AllGather || state.along) {
        for (Value buffer : state.buffers)
          member.erase(buffer);
        open.erase(it);
        return true;
      }
      state.phase = RingState::ReduceScatterDone;
    }
    return true;
  }

  std::optional<int64_t> worldSize;
};

struct GemmTileVerifyRingsPass
    : public kb::gemm_tile::impl::GemmTileVerifyRingsPassBase<
          GemmTileVerifyRingsPass> {
  void runOnOperation() override {
    markAllAnalysesPreserved();
    ModuleOp module = getOperation();
    // The TP world size, named here rather than through the kb dialect so
    // that gemm_tile stays independent of it.
    std::optional<int64_t> worldSize;
    if (auto attr = module->getAttrOfType<IntegerAttr>("kb.world_size"))
      worldSize = attr.getInt();
    RingChecker checker(worldSize);
    bool ok = true;
    for (auto func : module.getOps<func::FuncOp>())
      for (Block &block : func.getBody())
        ok &= checker.checkBlock(block);
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
