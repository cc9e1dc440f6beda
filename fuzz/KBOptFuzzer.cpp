//===- KBOptFuzzer.cpp - libFuzzer target: parse, verify, compile ---------===//
//
// Feeds arbitrary text to what kb-opt does with a file: parse it with every
// kb dialect registered, verify it, and run the kb pipeline on a module that
// verifies. Diagnostics are expected and swallowed; a crash is a bug.
//
//===----------------------------------------------------------------------===//

#include "kb/InitAllDialects.h"
#include "kb/InitAllPasses.h"
#include "kb/Pipelines/Pipelines.h"
#include "kb/Support/InputFiles.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    kb::registerAllDialects(*r);
    return r;
  }();
  // Huge inputs only slow the fuzzer down; they exercise nothing new.
  if (size > 64 * 1024)
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
  mlir::PassManager pm(&ctx);
  kb::buildKBPipeline(pm, kb::KBPipelineOptions());
  (void)pm.run(*module);
  return 0;
}
