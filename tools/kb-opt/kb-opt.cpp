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
// `--kb-device=<name|file.json>` gives a module without a `gemm_tile.device`
// attribute the device to compile for (the built-in default otherwise).
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
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

/// Sets `gemm_tile.device` on a module that has none, before any pass that
/// reads it: `device` is a built-in description's name or the parsed JSON.
struct SetModuleDevice
    : public mlir::PassWrapper<SetModuleDevice, mlir::OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SetModuleDevice)
  SetModuleDevice(std::string name, kb::DeviceDescription device)
      : name(std::move(name)), device(device) {}
  llvm::StringRef getArgument() const override { return "kb-set-device"; }
  void runOnOperation() override {
    auto module = llvm::dyn_cast<mlir::ModuleOp>(getOperation());
    if (!module ||
        module->hasAttr(kb::gemm_tile::GemmTileDialect::kDeviceAttrName)) {
      markAllAnalysesPreserved();
      return;
    }
    // A device set here changes what verifies (the cubes a buffer may name,
    // the memory a cube has): nothing is marked preserved, so the verifier
    // checks the module against its new device before any pass runs.
    mlir::MLIRContext *ctx = module.getContext();
    ctx->getOrLoadDialect<kb::gemm_tile::GemmTileDialect>();
    // A built-in description keeps its name in the IR; a file's is spelled
    // out field by field.
    mlir::Attribute attr =
        name.empty() ? mlir::Attribute(device.toAttr(ctx))
                     : mlir::Attribute(mlir::StringAttr::get(ctx, name));
    module->setAttr(kb::gemm_tile::GemmTileDialect::kDeviceAttrName, attr);
  }
  std::string name;
  kb::DeviceDescription device;
};
} // namespace

static llvm::cl::opt<std::string> deviceOption(
    "kb-device",
    llvm::cl::desc("Device for a module without a gemm_tile.device attribute: "
                   "a built-in one by name (ahbm, small) or a description in "
                   "a JSON file (default: the built-in default, ahbm)"),
    llvm::cl::value_desc("name|file.json"));

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
  // --kb-device: a name, else a JSON file, read and checked before any
  // input is.
  std::string deviceName;
  kb::DeviceDescription device;
  if (!deviceOption.empty()) {
    if (std::optional<kb::DeviceDescription> named =
            kb::DeviceDescription::preset(deviceOption)) {
      deviceName = deviceOption;
      device = *named;
    } else {
      llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> json =
          kb::readInputFile(deviceOption, uint64_t(1) << 20);
      if (!json)
        return fail(llvm::createStringError(
            "--kb-device=" + deviceOption + ": not a built-in device (" +
            kb::DeviceDescription::presetNames() +
            ") nor a readable file: " + llvm::toString(json.takeError())));
      llvm::Expected<kb::DeviceDescription> parsed =
          kb::DeviceDescription::fromJSON((*json)->getBuffer());
      if (!parsed)
        return fail(llvm::createStringError(
            deviceOption + ": " + llvm::toString(parsed.takeError())));
      device = *parsed;
    }
  }
  mlir::MlirOptMainConfig userConfig = config;
  bool setDevice = !deviceOption.empty();
  config.setPassPipelineSetupFn(
      [userConfig, setDevice, deviceName, device](mlir::PassManager &pm) {
        pm.addPass(std::make_unique<LocateImplicitModule>());
        if (setDevice)
          pm.addPass(std::make_unique<SetModuleDevice>(deviceName, device));
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
