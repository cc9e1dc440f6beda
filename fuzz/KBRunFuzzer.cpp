//===- KBRunFuzzer.cpp - libFuzzer target: executing device programs -----===//
//
// Parses arbitrary text as a module and, when it verifies and is a kb
// program of modest size, runs it the way kb-run does (a lowered one on the
// device interpreter, a global or local one on the reference interpreter).
// Whatever the program, the executor must return results or an error; and
// where a lowered program runs, its --cost-only estimate must run too and
// give the identical device time.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/Transforms/Passes.h"
#include "kb/Executor/Execute.h"
#include "kb/InitAllDialects.h"
#include "kb/Support/InputFiles.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    kb::registerAllDialects(*r);
    return r;
  }();
  if (size > 32 * 1024)
    return 0;
  mlir::MLIRContext ctx(*registry, mlir::MLIRContext::Threading::DISABLED);
  ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
  std::string text(reinterpret_cast<const char *>(data), size);
  // The tools refuse nesting deeper than the parser's stack takes; so does
  // this target, which otherwise only rediscovers that.
  if (llvm::Error e = kb::checkNesting(text, "fuzz", kb::kMaxProgramNesting)) {
    llvm::consumeError(std::move(e));
    return 0;
  }
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module || mlir::failed(mlir::verify(*module)))
    return 0;
  llvm::Expected<kb::exec::Program> program =
      kb::exec::analyzeProgram(*module, "");
  if (!program) {
    llvm::consumeError(program.takeError());
    return 0;
  }
  // kb-run refuses a lowered program whose rings are broken.
  if (program->view == kb::exec::View::Lowered) {
    mlir::PassManager pm(&ctx);
    pm.addPass(kb::gemm_tile::createGemmTileVerifyRingsPass());
    if (mlir::failed(pm.run(*module)))
      return 0;
  }
  // Keep runs fast: small tensors and few ranks only.
  if (program->worldSize > 16)
    return 0;
  llvm::SmallVector<kb::runtime::HostTensor> inputs;
  for (const kb::exec::TensorSpec &spec : program->args) {
    int64_t n = kb::runtime::checkedNumElements(spec.shape);
    if (n < 0 || n > (1 << 16))
      return 0;
    inputs.push_back(kb::runtime::randomTensor(spec.dtype, spec.shape, 1));
  }
  for (const kb::exec::TensorSpec &spec : program->results) {
    int64_t n = kb::runtime::checkedNumElements(spec.shape);
    if (n < 0 || n > (1 << 16))
      return 0;
  }
  kb::exec::DeviceRun run;
  llvm::Expected<llvm::SmallVector<kb::runtime::HostTensor>> results =
      program->view == kb::exec::View::Lowered
          ? kb::exec::runDeviceProgram(
                *program, inputs, kb::gemm_tile::lookupDevice(*module), run,
                /*recordTrace=*/true)
          : kb::exec::runKBProgram(*program, inputs);
  if (!results) {
    llvm::consumeError(results.takeError());
    return 0;
  }
  // --cost-only runs the same schedule on shapes alone: where the numeric run
  // succeeds, it must too, with the same device time to the bit.
  if (program->view == kb::exec::View::Lowered) {
    kb::exec::DeviceRun estimate;
    if (llvm::Error e = kb::exec::estimateDeviceProgram(
            *program, kb::gemm_tile::lookupDevice(*module), estimate)) {
      llvm::errs() << "kb-run-fuzzer: --cost-only fails where the numeric run "
                      "succeeds: "
                   << llvm::toString(std::move(e)) << "\n";
      abort();
    }
    if (estimate.deviceSeconds != run.deviceSeconds) {
      llvm::errs() << "kb-run-fuzzer: --cost-only device time "
                   << estimate.deviceSeconds << " s, numeric "
                   << run.deviceSeconds << " s\n";
      abort();
    }
  }
  return 0;
}
