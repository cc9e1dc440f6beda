//===- DeferWaits.cpp - a kernel's trailing copies waited for by its caller ===//
//
// Every outlined kernel ends waiting for everything it issued, so the copies
// it issues after its last tile (a column-parallel gemm's result moved into
// the layout its reader wants) hold the rank although the next kernel may
// not read them. This pass makes a kernel return the tokens of such copies
// instead; each call waits on them just before the first later op of its
// caller that may touch the copies' buffers, and at the latest before the
// caller returns (docs/design/0021-deferred-copy-waits.md).
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"

#include "KernelCalls.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

namespace kb::gemm_tile {
#define GEN_PASS_DEF_GEMMTILEDEFERWAITSPASS
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"
} // namespace kb::gemm_tile

using namespace mlir;
using namespace kb::gemm_tile;

namespace {

/// Where a kernel's buffer is visible to a caller.
struct Reach {
  // An argument's position, or -1.
  int arg = -1;
  // The positions at which the kernel returns the buffer.
  SmallVector<unsigned, 1> results;
};

/// A copy at the tail of a kernel whose wait its callers could take over.
struct Trailing {
  DMAOp dma;
  Reach source, target;
};

class Deferrer {
public:
  explicit Deferrer(ModuleOp module) : module(module) {}

  void run() {
    // Kernels: private functions of one block called only by func.call
    // from the single block of public functions (as prefetch-copies). The
    // trailing copies are looked for first, in each function alone: a
    // program with none (GPT-3's) costs no walk of the module.
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>()) {
      WaitOp last;
      if (func.isPrivate() && !func.isExternal() &&
          func.getBody().hasOneBlock() && !trailingCopies(func, last).empty())
        kernels.push_back(func);
    }
    if (kernels.empty())
      return;
    KernelCalls calls(module);
    for (func::FuncOp kernel : kernels)
      if (!calls.of(kernel).empty())
        defer(kernel, calls.of(kernel));
  }

private:
  /// How a caller sees the kernel's buffer `value`: through an argument, a
  /// result, both or neither (a buffer the kernel allocates and keeps).
  /// None for a buffer made otherwise (a nested call's result), which the
  /// pass does not follow.
  std::optional<Reach> reachOf(func::FuncOp kernel, Value value) {
    Reach reach;
    Block &body = kernel.getBody().front();
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      if (arg.getOwner() != &body)
        return std::nullopt;
      reach.arg = arg.getArgNumber();
    } else if (!value.getDefiningOp<AllocOp>() ||
               value.getDefiningOp()->getBlock() != &body) {
      return std::nullopt;
    }
    for (OpOperand &returned : body.getTerminator()->getOpOperands())
      if (returned.get() == value)
        reach.results.push_back(returned.getOperandNumber());
    return reach;
  }

  /// The copies issued after the kernel's last other work and waited for
  /// only by its final wait (the op before its return), in issue order.
  SmallVector<Trailing> trailingCopies(func::FuncOp kernel, WaitOp &last) {
    SmallVector<Trailing> copies;
    Block &body = kernel.getBody().front();
    Operation *ret = body.getTerminator();
    last = dyn_cast_or_null<WaitOp>(ret->getPrevNode());
    if (!last)
      return copies;
    for (Operation *op = last->getPrevNode(); op; op = op->getPrevNode()) {
      if (isa<AllocOp>(op))
        continue;
      auto dma = dyn_cast<DMAOp>(op);
      if (!dma)
        break;
      // A token used elsewhere (an earlier wait, a return) is left alone;
      // a later copy ordered after it (a DMA takes tokens only as `after`)
      // is no wait.
      bool waitedLast = false, usedElsewhere = false;
      for (Operation *user : dma.getToken().getUsers()) {
        if (user == last.getOperation())
          waitedLast = true;
        else if (!isa<DMAOp>(user))
          usedElsewhere = true;
      }
      if (!waitedLast || usedElsewhere)
        continue;
      std::optional<Reach> source = reachOf(kernel, dma.getSource());
      std::optional<Reach> target = reachOf(kernel, dma.getTarget());
      if (source && target)
        copies.push_back({dma, *source, *target});
    }
    std::reverse(copies.begin(), copies.end());
    return copies;
  }

  func::FuncOp lookup(func::CallOp call) {
    return symbols.lookupNearestSymbolFrom<func::FuncOp>(call,
                                                         call.getCalleeAttr());
  }

  /// The alias class of a caller's buffer, named by one value: a call's
  /// result is its operand when the callee returns that argument as it is,
  /// and its first result that returns the same buffer otherwise (a callee
  /// may return one buffer twice). Memoized: the scans after each call ask
  /// for the same operands again.
  Value root(Value value) {
    // Iterative: a chain of calls that return their argument (an in-place
    // all-reduce per layer) is as long as the model is deep.
    SmallVector<Value> chain;
    while (true) {
      if (auto known = classOf.find(value); known != classOf.end()) {
        value = known->second;
        break;
      }
      chain.push_back(value);
      auto result = dyn_cast<OpResult>(value);
      auto call = result ? dyn_cast<func::CallOp>(result.getOwner()) : nullptr;
      func::FuncOp callee = call ? lookup(call) : nullptr;
      if (!callee || callee.isExternal() || !callee.getBody().hasOneBlock())
        break;
      auto ret =
          dyn_cast<func::ReturnOp>(callee.getBody().front().getTerminator());
      if (!ret)
        break;
      Value returned = ret.getOperand(result.getResultNumber());
      if (auto arg = dyn_cast<BlockArgument>(returned)) {
        value = call.getOperand(arg.getArgNumber());
        continue;
      }
      for (auto [i, other] : llvm::enumerate(ret.getOperands()))
        if (other == returned) {
          value = call.getResult(i);
          break;
        }
      break;
    }
    for (Value v : chain)
      classOf[v] = value;
    return value;
  }

  /// The caller's alias classes of the buffers a trailing copy touches, as
  /// seen at `call`.
  void rootsAt(func::CallOp call, const Trailing &copy,
               SmallVectorImpl<Value> &roots) {
    for (const Reach &reach : {copy.source, copy.target}) {
      if (reach.arg >= 0)
        roots.push_back(root(call.getOperand(reach.arg)));
      for (unsigned result : reach.results)
        roots.push_back(root(call.getResult(result)));
    }
  }

  /// Whether `op`, after a call in its caller, may touch any buffer for all
  /// the pass can tell. Otherwise it touches only the alias classes of its
  /// buffer operands: a buffer reaches a callee only as an operand and a
  /// caller only as a result (gemm_tile has no views nor globals). Allocs
  /// and waits touch nothing.
  bool isOpaque(Operation *op) {
    if (isa<AllocOp, WaitOp>(op))
      return false;
    if (op->hasTrait<OpTrait::IsTerminator>() || op->getNumRegions() != 0)
      return true;
    if (auto call = dyn_cast<func::CallOp>(op)) {
      func::FuncOp callee = lookup(call);
      return !callee || callee.isExternal();
    }
    // Host-side or unknown ops: not reasoned about.
    return !isa<GemmTileDialect>(op->getDialect());
  }

  /// For each of `copies`, the op of `call`'s block before which its wait
  /// must come, in one scan of the ops after the call. The scan passes
  /// kMaxReach calls at most, and a copy whose buffers nothing before the
  /// next touches waits there: a wait earlier than needed is still right,
  /// and a buffer first read a whole model further on would make the pass
  /// quadratic in the model's depth.
  static constexpr unsigned kMaxReach = 64;
  SmallVector<Operation *> firstTouchers(func::CallOp call,
                                         ArrayRef<Trailing> copies) {
    SmallVector<SmallVector<Value, 4>> classes(copies.size());
    for (auto [copy, roots] : llvm::zip_equal(copies, classes))
      rootsAt(call, copy, roots);
    SmallVector<Operation *> points(copies.size(), nullptr);
    unsigned open = copies.size(), reach = 0;
    for (Operation *op = call->getNextNode(); open; op = op->getNextNode()) {
      bool opaque =
          isOpaque(op) || (isa<func::CallOp>(op) && ++reach > kMaxReach);
      SmallVector<Value, 8> touched;
      if (!opaque)
        for (Value operand : op->getOperands())
          if (isa<MemRefType>(operand.getType()))
            touched.push_back(root(operand));
      for (auto [point, roots] : llvm::zip_equal(points, classes))
        if (!point && (opaque || llvm::any_of(roots, [&](Value v) {
                         return llvm::is_contained(touched, v);
                       }))) {
          point = op;
          --open;
        }
    }
    return points;
  }

  /// Whether some op that does work runs between `call` and `point`: a wait
  /// moved past only allocs and waits is not worth a result.
  static bool passesWork(func::CallOp call, Operation *point) {
    for (Operation *op = call->getNextNode(); op != point;
         op = op->getNextNode())
      if (!isa<AllocOp, WaitOp>(op))
        return true;
    return false;
  }

  /// Defers `kernel`'s trailing copies to its calls, `sites`.
  void defer(func::FuncOp kernel, ArrayRef<func::CallOp> sites) {
    WaitOp last;
    SmallVector<Trailing> copies = trailingCopies(kernel, last);
    if (copies.empty())
      return;
    // Per call site, per copy: the op the copy's wait goes before. A copy
    // is deferred when at some call its wait can pass work; the kernel's
    // signature is then changed for all its calls alike (kernels are never
    // cloned), a call that can pass nothing waiting just after itself.
    SmallVector<SmallVector<Operation *>> points;
    for (func::CallOp call : sites)
      points.push_back(firstTouchers(call, copies));
    SmallVector<unsigned> chosen;
    for (unsigned i = 0; i < copies.size(); ++i)
      if (llvm::any_of(llvm::seq<size_t>(0, sites.size()), [&](size_t s) {
            return passesWork(sites[s], points[s][i]);
          }))
        chosen.push_back(i);
    if (chosen.empty())
      return;

    // The kernel returns the chosen copies' tokens after its results and
    // no longer waits on them.
    Block &body = kernel.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    unsigned firstToken = ret.getNumOperands();
    SmallVector<Value> tokens;
    for (unsigned i : chosen)
      tokens.push_back(copies[i].dma.getToken());
    llvm::DenseSet<Value> deferred(tokens.begin(), tokens.end());
    SmallVector<Value> kept;
    for (Value t : last.getTokens())
      if (!deferred.contains(t))
        kept.push_back(t);
    if (kept.empty())
      last.erase();
    else
      last.getTokensMutable().assign(kept);
    ret.getOperandsMutable().append(tokens);
    SmallVector<Type> resultTypes(kernel.getResultTypes());
    for (Value t : tokens)
      resultTypes.push_back(t.getType());
    kernel.setFunctionType(FunctionType::get(
        kernel.getContext(), kernel.getArgumentTypes(), resultTypes));

    for (auto [s, site] : llvm::enumerate(sites)) {
      func::CallOp call = site;
      OpBuilder builder(call);
      auto replacement = func::CallOp::create(builder, call.getLoc(), kernel,
                                              call.getOperands());
      replacement->setDiscardableAttrs(call->getDiscardableAttrDictionary());
      call.replaceAllUsesWith(
          replacement.getResults().take_front(call.getNumResults()));
      // One wait per point, its tokens in the kernel's issue order; the
      // points are found on the old call, whose later ops are the same.
      llvm::MapVector<Operation *, SmallVector<Value>> waits;
      for (auto [n, i] : llvm::enumerate(chosen))
        waits[points[s][i]].push_back(replacement.getResult(firstToken + n));
      for (auto &[point, waited] : waits) {
        builder.setInsertionPoint(point);
        WaitOp::create(builder, call.getLoc(), waited);
      }
      call.erase();
    }
    // The erased calls' results may be keys or classes of the memo.
    classOf.clear();
  }

  ModuleOp module;
  SymbolTableCollection symbols;
  llvm::DenseMap<Value, Value> classOf; // root()'s memo
};

struct GemmTileDeferWaitsPass
    : public kb::gemm_tile::impl::GemmTileDeferWaitsPassBase<
          GemmTileDeferWaitsPass> {
  void runOnOperation() override { Deferrer(getOperation()).run(); }
};

} // namespace
