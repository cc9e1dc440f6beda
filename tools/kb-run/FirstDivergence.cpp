//===- FirstDivergence.cpp - which kb op a failed check starts at ---------===//
//
// A failed --check names the worst element of a result; the op that went
// wrong may be many ops earlier. Cutting the program after each kb op in turn
// and checking that op's result, compiled and unsharded, finds the first one
// that diverges. It costs a compile and a run per op, and runs only when a
// check has failed.
//
//===----------------------------------------------------------------------===//

#include "FirstDivergence.h"

#include "kb/Dialect/KB/IR/KBDialect.h"
#include "kb/Dialect/KB/IR/OpOrigin.h"
#include "kb/Executor/Execute.h"
#include "kb/Executor/Report.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace kb;
using namespace kb::exec;

/// Whether the check can compare `op`'s results: a kb op of tensors.
static bool isComparable(Operation &op) {
  return isa<KBDialect>(op.getDialect()) && op.getNumResults() > 0 &&
         llvm::all_of(op.getResultTypes(), llvm::IsaPred<RankedTensorType>);
}

/// `global` cut after the `index`-th op of its entry, returning its results.
static OwningOpRef<ModuleOp> cutAfter(ModuleOp global, StringRef entry,
                                      size_t index) {
  OwningOpRef<ModuleOp> cut = global.clone();
  auto func = cut->lookupSymbol<func::FuncOp>(entry);
  Block &body = func.getBody().front();
  Operation *op = &*std::next(body.begin(), index);
  Operation *ret = body.getTerminator();
  ret->setOperands(op->getResults());
  while (ret->getPrevNode() != op)
    ret->getPrevNode()->erase();
  func.setFunctionType(FunctionType::get(
      func.getContext(), func.getArgumentTypes(), op->getResultTypes()));
  func.removeResAttrsAttr();
  return cut;
}

std::string kb::findFirstDivergingOp(
    ModuleOp global, StringRef entryName, ArrayRef<runtime::HostTensor> inputs,
    const gemm_tile::DeviceDescription &device,
    llvm::function_ref<void(OpPassManager &)> buildPipeline, int threads) {
  llvm::Expected<Program> whole = analyzeProgram(global, entryName);
  if (!whole) {
    llvm::consumeError(whole.takeError());
    return "";
  }
  std::string entry = whole->entry.getSymName().str();
  MLIRContext *ctx = global.getContext();
  // A cut that does not compile or run is skipped: its messages are not the
  // user's errors.
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  size_t index = 0;
  for (Operation &op : whole->entry.getBody().front()) {
    size_t at = index++;
    if (!isComparable(op))
      continue;
    OwningOpRef<ModuleOp> reference = cutAfter(global, entry, at);
    OwningOpRef<ModuleOp> compiled = reference->clone();
    PassManager pm(ctx);
    buildPipeline(pm);
    if (failed(pm.run(*compiled)))
      continue;
    llvm::Expected<Program> want = analyzeProgram(*reference, entry);
    llvm::Expected<Program> got = analyzeProgram(*compiled, entry);
    if (!want || !got) {
      llvm::consumeError(want.takeError());
      llvm::consumeError(got.takeError());
      continue;
    }
    DeviceRun run;
    auto results = runDeviceProgram(*got, inputs, device, run, false, threads);
    auto expected = runKBProgram(*want, inputs);
    if (!results || !expected) {
      llvm::consumeError(results.takeError());
      llvm::consumeError(expected.takeError());
      continue;
    }
    CheckResult check = compareResults(*results, *expected, got->worldSize);
    if (check.passed)
      continue;
    OpOrigin origin = originOf(op.getLoc());
    std::string where = locationOf(&op);
    return op.getName().getStringRef().str() + " at " + where +
           (origin.layer.empty() ? "" : " (" + origin.layer + ")") + ": " +
           check.worst;
  }
  return "";
}
