//===- kb-opt.cpp - kb optimizer driver -----------------------------------===//
//
// mlir-opt for kb: the kb and gemm_tile dialects, the upstream dialects their
// programs use, every kb pass and the kb pipeline.
//
// It is MlirOptMain with three differences that make it safe on any input:
// the input is read bounded and must be a regular file (or stdin), text
// nested deeper than the parser can recurse is refused before parsing, and
// the output (`-o`) is written all or nothing, so a failed run never deletes
// or truncates an existing file, not even its own input. Diagnostics do not
// print the operation they are attached to unless
// `--mlir-print-op-on-diagnostic` asks for it: the location says where.
//
//===----------------------------------------------------------------------===//

#include "kb/InitAllDialects.h"
#include "kb/InitAllPasses.h"
#include "kb/Support/InputFiles.h"
#include "kb/Support/OutputFiles.h"
#include "kb/Version.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace {
/// Moves the module the parser wraps around a file's top-level ops from line
/// 0 to its first op, so that errors about the module point into the file.
struct LocateImplicitModule
    : public mlir::PassWrapper<LocateImplicitModule, mlir::OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LocateImplicitModule)
  llvm::StringRef getArgument() const override {
    return "kb-locate-implicit-module";
  }
  void runOnOperation() override {
    markAllAnalysesPreserved();
    auto module = llvm::dyn_cast<mlir::ModuleOp>(getOperation());
    if (!module || module.getBody()->empty())
      return;
    if (auto loc = llvm::dyn_cast<mlir::FileLineColLoc>(module.getLoc());
        loc && loc.getLine() == 0)
      module->setLoc(module.getBody()->front().getLoc());
  }
};
} // namespace

static int fail(llvm::Error error) {
  llvm::WithColor::error(llvm::errs(), "kb-opt")
      << llvm::toString(std::move(error)) << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::SetVersionPrinter(
      [](llvm::raw_ostream &os) { os << kb::versionString() << "\n"; });
  // A write beyond `ulimit -f` becomes an error with a message.
  kb::ignoreFileSizeLimitSignal();
  mlir::DialectRegistry registry;
  kb::registerAllDialects(registry);
  kb::registerAllPasses();

  // Off by default, before the user's flags so that they can turn it on.
  std::vector<char *> args(argv, argv + argc);
  static char noOpOnDiagnostic[] = "--mlir-print-op-on-diagnostic=false";
  args.insert(args.begin() + 1, noOpOnDiagnostic);
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      args.size(), args.data(), "kb optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  mlir::MlirOptMainConfig userConfig = config;
  config.setPassPipelineSetupFn([userConfig](mlir::PassManager &pm) {
    pm.addPass(std::make_unique<LocateImplicitModule>());
    return userConfig.setupPassPipeline(pm);
  });
  if (config.shouldShowDialects()) {
    llvm::outs() << "Available Dialects: ";
    llvm::interleaveComma(registry.getDialectNames(), llvm::outs());
    llvm::outs() << "\n";
    return 0;
  }
  if (config.shouldListPasses()) {
    mlir::printRegisteredPasses();
    return 0;
  }

  if (outputFilename != "-")
    if (llvm::Error e = kb::checkOutputPath(outputFilename, "-o"))
      return fail(std::move(e));
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> input =
      kb::readInputFile(inputFilename, kb::kMaxProgramBytes);
  if (!input)
    return fail(input.takeError());
  if (llvm::Error e =
          kb::checkNesting((*input)->getBuffer(),
                           inputFilename == "-" ? "<stdin>" : inputFilename,
                           kb::kMaxProgramNesting))
    return fail(std::move(e));

  // The output is held until the run succeeds.
  std::string output;
  llvm::raw_string_ostream os(output);
  if (mlir::failed(mlir::MlirOptMain(os, std::move(*input), registry, config)))
    return 1;
  os.flush();
  if (outputFilename == "-") {
    llvm::outs() << output;
    llvm::outs().flush();
    if (llvm::outs().has_error()) {
      llvm::outs().clear_error();
      return fail(llvm::createStringError(llvm::inconvertibleErrorCode(),
                                          "cannot write to standard output"));
    }
    return 0;
  }
  if (llvm::Error e = kb::writeFileAtomic(outputFilename, output))
    return fail(std::move(e));
  return 0;
}
