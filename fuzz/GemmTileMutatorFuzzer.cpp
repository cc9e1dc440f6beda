//===- GemmTileMutatorFuzzer.cpp - libFuzzer target: mutated device IR ----===//
//
// Structure-aware: the custom mutator parses the input as a gemm_tile
// program and deletes, duplicates or swaps operations of a function (the
// mistakes a hand edit or a buggy lowering makes: a ring step missing,
// repeated or out of order, a wait dropped, a DMA twice), keeping the IR
// well formed, and prints it back. Inputs that do not parse get libFuzzer's
// byte mutations. The target does what kb-run does with a program: parse,
// verify, check rings and yield safety, and execute what passes. A crash or
// a sanitizer report is a bug; a refusal is not.
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

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

static mlir::DialectRegistry &registry() {
  static mlir::DialectRegistry *r = [] {
    auto *r = new mlir::DialectRegistry();
    kb::registerAllDialects(*r);
    return r;
  }();
  return *r;
}

static mlir::OwningOpRef<mlir::ModuleOp> parse(llvm::StringRef text,
                                               mlir::MLIRContext &ctx) {
  // kb-opt and kb-run refuse deep nesting before parsing; so does this.
  if (llvm::Error e = kb::checkNesting(text, "fuzz", kb::kMaxProgramNesting)) {
    llvm::consumeError(std::move(e));
    return nullptr;
  }
  return mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
}

/// Deletes, duplicates or swaps one operation of one function body, keeping
/// every use after its definition. False when nothing could be changed.
static bool mutate(mlir::ModuleOp module, std::mt19937 &random) {
  llvm::SmallVector<mlir::Operation *> ops;
  module.walk([&](mlir::Operation *op) {
    if (!op->hasTrait<mlir::OpTrait::IsTerminator>() &&
        !llvm::isa<mlir::ModuleOp, mlir::func::FuncOp>(op))
      ops.push_back(op);
  });
  if (ops.empty())
    return false;
  mlir::Operation *op = ops[random() % ops.size()];
  switch (random() % 3) {
  case 0: // delete
    if (!op->use_empty())
      return false;
    op->erase();
    return true;
  case 1: { // duplicate, right after itself
    mlir::OpBuilder builder(op->getContext());
    builder.setInsertionPointAfter(op);
    builder.clone(*op);
    return true;
  }
  default: { // swap with the next operation
    mlir::Operation *next = op->getNextNode();
    if (!next || next->hasTrait<mlir::OpTrait::IsTerminator>())
      return false;
    for (mlir::Value operand : next->getOperands())
      if (operand.getDefiningOp() == op)
        return false;
    op->moveAfter(next);
    return true;
  }
  }
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned int seed) {
  std::mt19937 random(seed);
  if (random() % 4 != 0) {
    mlir::MLIRContext ctx(registry(), mlir::MLIRContext::Threading::DISABLED);
    ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
    mlir::OwningOpRef<mlir::ModuleOp> module =
        parse(llvm::StringRef(reinterpret_cast<const char *>(data), size), ctx);
    if (module) {
      bool changed = false;
      for (unsigned i = 0, n = 1 + random() % 3; i < n; ++i)
        changed |= mutate(*module, random);
      std::string text;
      llvm::raw_string_ostream os(text);
      module->print(os);
      if (changed && text.size() <= maxSize) {
        std::memcpy(data, text.data(), text.size());
        return text.size();
      }
    }
  }
  return LLVMFuzzerMutate(data, size, maxSize);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 64 * 1024)
    return 0;
  mlir::MLIRContext ctx(registry(), mlir::MLIRContext::Threading::DISABLED);
  ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
  mlir::OwningOpRef<mlir::ModuleOp> module =
      parse(llvm::StringRef(reinterpret_cast<const char *>(data), size), ctx);
  if (!module || mlir::failed(mlir::verify(*module)))
    return 0;
  mlir::PassManager pm(&ctx);
  pm.addPass(kb::gemm_tile::createGemmTileVerifyRingsPass());
  pm.addPass(kb::gemm_tile::createGemmTileCheckYieldSafetyPass());
  if (mlir::failed(pm.run(*module)))
    return 0;
  llvm::Expected<kb::exec::Program> program =
      kb::exec::analyzeProgram(*module, "");
  if (!program) {
    llvm::consumeError(program.takeError());
    return 0;
  }
  if (program->view != kb::exec::View::Lowered || program->worldSize > 16)
    return 0;
  llvm::SmallVector<kb::runtime::HostTensor> inputs;
  for (const kb::exec::TensorSpec &spec : program->args) {
    int64_t n = kb::runtime::checkedNumElements(spec.shape);
    if (n < 0 || n > (1 << 16))
      return 0;
    inputs.push_back(kb::runtime::randomTensor(spec.dtype, spec.shape, 1));
  }
  kb::exec::DeviceRun run;
  llvm::Expected<llvm::SmallVector<kb::runtime::HostTensor>> results =
      kb::exec::runDeviceProgram(*program, inputs,
                                 kb::gemm_tile::lookupDevice(*module), run,
                                 /*recordTrace=*/false);
  if (!results)
    llvm::consumeError(results.takeError());
  return 0;
}
