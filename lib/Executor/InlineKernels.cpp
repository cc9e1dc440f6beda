//===- InlineKernels.cpp - flatten kernel calls for the executor ----------===//
//
// The device runs a rank's program as one stream of operations; a call of an
// outlined kernel is that kernel's operations in place. Flattening the entry
// once, before execution, keeps the scheduler a plain program counter over a
// straight line.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/OpOrigin.h"
#include "kb/Executor/Program.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using kb::exec::errorAt;

/// More operations than this after flattening is a program no SIP could run
/// (kernels calling each other twice over grow it exponentially): an error,
/// not an exhausted host.
static constexpr int64_t kMaxFlattenedOps = int64_t(1) << 22;

/// Calls nested deeper than this are refused (and the check's own recursion
/// stays far from the host's stack limit).
static constexpr int kMaxCallDepth = 256;

/// Fails on a call cycle reachable from `func`, which no flattening ends.
static llvm::Error checkAcyclic(func::FuncOp func, ModuleOp module,
                                SymbolTableCollection &symbols,
                                llvm::DenseMap<Operation *, bool> &done,
                                int depth = 0) {
  if (depth > kMaxCallDepth)
    return errorAt(func, "calls nest more than " + Twine(kMaxCallDepth) +
                             " deep below the entry");
  auto [it, fresh] = done.try_emplace(func, false);
  if (!fresh) {
    if (!it->second)
      return errorAt(func, "'" + func.getSymName() +
                               "' calls itself, directly or through other "
                               "functions; a device program is straight-line");
    return llvm::Error::success();
  }
  SmallVector<func::FuncOp> callees;
  func.walk([&](func::CallOp call) {
    // A missing callee is reported when the call is expanded.
    if (auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
            module, call.getCalleeAttr()))
      callees.push_back(callee);
  });
  for (func::FuncOp callee : callees)
    if (llvm::Error e = checkAcyclic(callee, module, symbols, done, depth + 1))
      return e;
  done[func] = true;
  return llvm::Error::success();
}

llvm::Error kb::exec::inlineKernelCalls(func::FuncOp entry) {
  if (!entry.getBody().hasOneBlock())
    return errorAt(entry, "kb-run executes straight-line device programs (one "
                          "block)");
  auto module = entry->getParentOfType<ModuleOp>();
  SymbolTableCollection symbols;
  llvm::DenseMap<Operation *, bool> acyclic;
  if (llvm::Error e = checkAcyclic(entry, module, symbols, acyclic))
    return e;
  Block &body = entry.getBody().front();
  int64_t count = 0;
  for (Block::iterator it = body.begin(); it != body.end();) {
    // Calls count too: kernels of nothing but calls of empty kernels would
    // otherwise expand for ever without growing the program.
    if (++count > kMaxFlattenedOps)
      return errorAt(entry, "the device program has more than " +
                                Twine(kMaxFlattenedOps) +
                                " operations (kernel calls expanded), more "
                                "than kb-run executes");
    auto call = dyn_cast<func::CallOp>(&*it);
    if (!call) {
      ++it;
      continue;
    }
    auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
        module, call.getCalleeAttr());
    if (!callee || callee.isExternal())
      return errorAt(call, "calls '" + call.getCallee() +
                               "', which is not a function with a body");
    if (!callee.getBody().hasOneBlock())
      return errorAt(callee,
                     "kb-run executes straight-line kernels (one block)");
    Block &kernel = callee.getBody().front();
    auto ret = kernel.empty() ? func::ReturnOp()
                              : dyn_cast<func::ReturnOp>(&kernel.back());
    if (!ret || ret.getNumOperands() != call.getNumResults())
      return errorAt(callee, "a kernel must end in a return of its results");

    // The kernel's operations go in place of the call, its arguments bound to
    // the call's operands; scanning resumes at the first of them, so calls
    // inside the kernel are expanded in turn.
    IRMapping mapping;
    mapping.map(kernel.getArguments(), call.getOperands());
    OpBuilder builder(call);
    Operation *first = nullptr;
    // Each copy is located at the call site, named after the kernel: the
    // call's location is the user's line of the layer (kb/Dialect/KB/IR/
    // OpOrigin.h).
    for (Operation &op : kernel.without_terminator()) {
      Operation *copy = builder.clone(op, mapping);
      copy->setLoc(kb::flattenedLocation(callee.getSymName(), op.getLoc(),
                                         call.getLoc()));
      if (!first)
        first = copy;
    }
    for (auto [result, value] :
         llvm::zip_equal(call.getResults(), ret.getOperands()))
      result.replaceAllUsesWith(mapping.lookupOrDefault(value));
    it = first ? first->getIterator() : std::next(call->getIterator());
    call.erase();
  }
  return llvm::Error::success();
}
