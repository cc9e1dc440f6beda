//===- PrefetchCopies.cpp - a kernel's first copies issued by its caller --===//
//
// Every outlined kernel starts with the copies its first tiles wait for and
// ends waiting for everything, so a copy of a weight (an entry argument that
// no kernel writes) could start no earlier than the previous kernel's last
// tile. This pass moves such copies, with their buffers, out of the kernel
// into each caller, before the calls that neither write their source nor
// use a DMA engine; the kernel receives the buffer and the copy's token as
// arguments and waits on the token where it waited on the copy
// (docs/design/0020-prefetched-copies.md).
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"

#include "KernelCalls.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

#include <optional>

namespace kb::gemm_tile {
#define GEN_PASS_DEF_GEMMTILEPREFETCHCOPIESPASS
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"
} // namespace kb::gemm_tile

using namespace mlir;
using namespace kb::gemm_tile;

namespace {

/// A copy at the head of a kernel that a caller could issue: it reads the
/// kernel's argument `sourceArg` into a buffer the kernel allocates.
struct Candidate {
  DMAOp dma;
  unsigned sourceArg;
  AllocOp alloc;
};

/// Whether `func` only reads its argument `arg` (never writes it, never
/// returns it, never passes it on): a call of it may run while a copy of
/// that argument is in flight.
bool onlyReads(func::FuncOp func, BlockArgument arg) {
  for (OpOperand &use : arg.getUses()) {
    Operation *user = use.getOwner();
    if (auto dma = dyn_cast<DMAOp>(user)) {
      if (dma.getTarget() == arg)
        return false;
      continue;
    }
    if (auto gather = dyn_cast<GatherRowsOp>(user)) {
      if (gather.getOut() == arg)
        return false;
      continue;
    }
    if (auto compute = dyn_cast<PEComputeOpInterface>(user)) {
      for (const BufferRegion &write : compute.getWriteRegions())
        if (write.buffer == arg)
          return false;
      continue;
    }
    // A ring step reduces or overwrites its buffers; a return or a call
    // hands the buffer to code this analysis does not follow.
    return false;
  }
  return true;
}

/// Whether a call of `func` uses a cube's DMA engine. Engines serve copies
/// in the order they are issued, so a copy issued before such a call would
/// delay the call's own copies, which its tiles wait for.
bool usesDMAEngine(func::FuncOp func) {
  return func
      .walk([](Operation *op) {
        // A nested call is not followed: counted as using the engines.
        return isa<DMAOp, GatherRowsOp, CallOpInterface>(op)
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

class Prefetcher {
public:
  explicit Prefetcher(ModuleOp module) : module(module) {}

  void run() {
    // Kernels: private functions of one block called only by func.call
    // from the single block of public functions.
    // Only kernels with a candidate copy need their calls found.
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPrivate() && !func.isExternal() &&
          func.getBody().hasOneBlock() && !headCopies(func).empty() &&
          collectCallers(func))
        kernels.push_back(func);
    for (func::FuncOp kernel : kernels)
      planKernel(kernel);
    if (hoisted.empty())
      return;
    // The copies go into the callers in program order, so that where two
    // kernels' copies meet before one call, the earlier kernel's come first
    // (each engine serves them in that order).
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isPrivate() || func.isExternal())
        continue;
      SmallVector<func::CallOp> calls(func.getOps<func::CallOp>());
      for (func::CallOp call : calls)
        if (auto it = sitePoint.find(call); it != sitePoint.end())
          issueInCaller(call, it->second);
    }
    for (auto &[kernel, candidates] : hoisted)
      rewriteKernel(kernel, candidates);
  }

private:
  /// Records the calls of `kernel`; false when it has none or one whose
  /// caller the pass cannot read in order (KernelCalls).
  bool collectCallers(func::FuncOp kernel) {
    // Found once, for every kernel, when the first has copies to move.
    if (!kernelCalls)
      kernelCalls.emplace(module);
    ArrayRef<func::CallOp> sites = kernelCalls->of(kernel);
    if (sites.empty())
      return false;
    callers[kernel].assign(sites.begin(), sites.end());
    return true;
  }

  /// The copies at the head of `kernel` (before its first operation other
  /// than an alloc or a copy) from an argument into a buffer of its own.
  SmallVector<Candidate> headCopies(func::FuncOp kernel) {
    SmallVector<Candidate> candidates;
    Block &body = kernel.getBody().front();
    llvm::DenseSet<Value> written; // arguments an earlier head copy writes
    for (Operation &op : body) {
      if (isa<AllocOp>(op))
        continue;
      auto dma = dyn_cast<DMAOp>(op);
      if (!dma)
        break;
      auto source = dyn_cast<BlockArgument>(dma.getSource());
      auto alloc = dma.getTarget().getDefiningOp<AllocOp>();
      if (source && source.getOwner() == &body && !written.contains(source) &&
          alloc && alloc->getBlock() == &body)
        candidates.push_back({dma, source.getArgNumber(), alloc});
      if (isa<BlockArgument>(dma.getTarget()))
        written.insert(dma.getTarget());
    }
    return candidates;
  }

  /// The alias class of a caller's buffer: a call's result is its operand
  /// when the callee returns that argument as it is; null when unknown.
  Value root(Value value) {
    auto [it, fresh] = roots.try_emplace(value, value);
    if (!fresh)
      return it->second;
    Value found = rootOf(value);
    roots[value] = found;
    return found;
  }
  Value rootOf(Value value) {
    while (true) {
      auto result = dyn_cast<OpResult>(value);
      auto call = result ? dyn_cast<func::CallOp>(result.getOwner()) : nullptr;
      func::FuncOp callee = call ? lookup(call) : nullptr;
      if (!call)
        return value;
      // A callee whose returns this does not read may return any argument:
      // its result may be any buffer (the null class, which meets all).
      auto ret = callee && callee.getBody().hasOneBlock()
                     ? dyn_cast<func::ReturnOp>(
                           callee.getBody().front().getTerminator())
                     : func::ReturnOp();
      if (!ret)
        return Value();
      auto arg =
          dyn_cast<BlockArgument>(ret.getOperand(result.getResultNumber()));
      if (!arg)
        return value;
      value = call.getOperand(arg.getArgNumber());
    }
  }

  func::FuncOp lookup(func::CallOp call) {
    return symbols.lookupNearestSymbolFrom<func::FuncOp>(call,
                                                         call.getCalleeAttr());
  }

  /// Whether a copy of `source` issued before `op` still reads what it would
  /// have read after it: `op` is a call that does not make `source`, writes
  /// nothing that may be it, and issues no copy the prefetch would delay.
  bool canPass(Operation *op, Value source) {
    auto call = dyn_cast<func::CallOp>(op);
    func::FuncOp callee = call ? lookup(call) : nullptr;
    if (!callee || callee.isExternal() || !callee.getBody().hasOneBlock() ||
        llvm::is_contained(call->getResults(), source))
      return false;
    auto [engine, fresh] = dmaUsers.try_emplace(callee, false);
    if (fresh)
      engine->second = usesDMAEngine(callee);
    if (engine->second)
      return false;
    Value sourceRoot = root(source);
    for (auto [i, operand] : llvm::enumerate(call.getOperands())) {
      Value operandRoot = root(operand);
      if (operandRoot && sourceRoot && operandRoot != sourceRoot)
        continue;
      BlockArgument arg = callee.getArgument(i);
      auto [reads, first] = readOnly.try_emplace(arg, false);
      if (first)
        reads->second = onlyReads(callee, arg);
      if (!reads->second)
        return false;
    }
    return true;
  }

  /// How many calls before `call` a copy of its operand `source` can go.
  /// Every point from there to `call` is legal (a prefix of passable calls).
  /// At most kMaxCalls: a kernel's copies are due in its own kernel's
  /// time, and the bound keeps the pass linear in the calls of a program
  /// whose kernels issue no copies.
  unsigned reach(func::CallOp call, Value source) {
    unsigned calls = 0;
    for (Operation *op = call->getPrevNode();
         op && calls < kMaxCalls && canPass(op, source); op = op->getPrevNode())
      ++calls;
    return calls;
  }
  static constexpr unsigned kMaxCalls = 16;

  /// Chooses which head copies of `kernel` its callers issue: those that at
  /// some call can start during an earlier call. The kernel's signature
  /// changes for all its calls, so every call issues them, each as early as
  /// all of them can go there (at worst just before the call, as before).
  void planKernel(func::FuncOp kernel) {
    SmallVector<Candidate> candidates = headCopies(kernel);
    if (candidates.empty())
      return;
    ArrayRef<func::CallOp> sites = callers[kernel];
    SmallVector<SmallVector<unsigned>> reaches(candidates.size());
    SmallVector<Candidate> chosen;
    SmallVector<unsigned> chosenIndex;
    // Candidates often share a source (a weight's column groups): its
    // reach at a call is found once.
    llvm::DenseMap<std::pair<Operation *, unsigned>, unsigned> reachOf;
    for (auto [i, candidate] : llvm::enumerate(candidates)) {
      bool earlier = false;
      for (func::CallOp call : sites) {
        auto [it, fresh] =
            reachOf.try_emplace({call, candidate.sourceArg}, 0);
        if (fresh)
          it->second = reach(call, call.getOperand(candidate.sourceArg));
        reaches[i].push_back(it->second);
        earlier |= it->second > 0;
      }
      if (earlier) {
        chosen.push_back(candidate);
        chosenIndex.push_back(i);
      }
    }
    if (chosen.empty())
      return;
    for (auto [s, call] : llvm::enumerate(sites)) {
      unsigned calls = ~0u;
      for (unsigned i : chosenIndex)
        calls = std::min(calls, reaches[i][s]);
      Operation *point = call;
      for (unsigned n = 0; n < calls; ++n)
        point = point->getPrevNode();
      sitePoint[call] = {kernel, point};
    }
    hoisted[kernel] = std::move(chosen);
  }

  struct Site {
    func::FuncOp kernel;
    Operation *point;
  };

  /// Issues `call`'s hoisted copies at its point, into buffers allocated
  /// there, and passes the buffers and tokens to the call.
  void issueInCaller(func::CallOp call, Site site) {
    func::FuncOp kernel = site.kernel;
    ArrayRef<Candidate> candidates = hoisted[kernel];
    OpBuilder builder(site.point);
    // The report names a device op after the kernel and the call it came
    // from ("kernel"(callsite(op at call)), kb/Dialect/KB/IR/OpOrigin.h):
    // a hoisted copy is still its kernel's.
    auto located = [&](Operation *op) {
      return NameLoc::get(builder.getStringAttr(kernel.getSymName()),
                          CallSiteLoc::get(op->getLoc(), call.getLoc()));
    };
    IRMapping mapping;
    mapping.map(kernel.getArguments(), call.getOperands());
    SmallVector<Value> buffers, tokens;
    for (Candidate c : candidates)
      if (!mapping.contains(c.alloc.getResult())) {
        Operation *alloc = builder.clone(*c.alloc, mapping);
        alloc->setLoc(located(c.alloc));
        buffers.push_back(alloc->getResult(0));
      }
    for (Candidate c : candidates) {
      Operation *dma = builder.clone(*c.dma, mapping);
      dma->setLoc(located(c.dma));
      tokens.push_back(dma->getResult(0));
    }
    call->insertOperands(call->getNumOperands(), buffers);
    call->insertOperands(call->getNumOperands(), tokens);
  }

  /// Makes the hoisted buffers and tokens arguments of `kernel`, in the order
  /// issueInCaller passes them, and drops the allocs and copies they replace.
  void rewriteKernel(func::FuncOp kernel, ArrayRef<Candidate> candidates) {
    llvm::SetVector<AllocOp> allocs;
    for (const Candidate &c : candidates)
      allocs.insert(c.alloc);
    SmallVector<Type> types;
    SmallVector<Location> locs;
    for (AllocOp alloc : allocs) {
      types.push_back(alloc.getType());
      locs.push_back(alloc.getLoc());
    }
    for (Candidate c : candidates) {
      types.push_back(c.dma.getToken().getType());
      locs.push_back(c.dma.getLoc());
    }
    unsigned first = kernel.getNumArguments();
    SmallVector<unsigned> positions(types.size(), first);
    SmallVector<DictionaryAttr> attrs(types.size());
    if (failed(kernel.insertArguments(positions, types, attrs, locs)))
      llvm_unreachable("a func.func takes any argument types");
    unsigned token = first + allocs.size();
    for (Candidate c : candidates) {
      c.dma.getToken().replaceAllUsesWith(kernel.getArgument(token++));
      c.dma.erase();
    }
    for (auto [i, kept] : llvm::enumerate(allocs)) {
      AllocOp alloc = kept;
      alloc.getResult().replaceAllUsesWith(kernel.getArgument(first + i));
      alloc.erase();
    }
  }

  ModuleOp module;
  SymbolTableCollection symbols;
  llvm::DenseMap<func::FuncOp, SmallVector<func::CallOp>> callers;
  llvm::MapVector<func::FuncOp, SmallVector<Candidate>> hoisted;
  llvm::DenseMap<Operation *, Site> sitePoint;
  // Per callee: whether it issues copies (usesDMAEngine); per argument:
  // whether its function only reads it (onlyReads).
  llvm::DenseMap<Operation *, bool> dmaUsers;
  llvm::DenseMap<Value, bool> readOnly;
  // A caller's values by their alias class (root).
  llvm::DenseMap<Value, Value> roots;
  std::optional<KernelCalls> kernelCalls;
};

struct GemmTilePrefetchCopiesPass
    : public kb::gemm_tile::impl::GemmTilePrefetchCopiesPassBase<
          GemmTilePrefetchCopiesPass> {
  void runOnOperation() override { Prefetcher(getOperation()).run(); }
};

} // namespace
