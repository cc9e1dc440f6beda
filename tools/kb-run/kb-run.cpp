//===- kb-run.cpp - run kb programs on a simulated AHBM system ------------===//
//
// Reads a kb program (global view, local view or lowered gemm_tile), compiles
// a global-view one with the kb pipeline, runs it for W ranks with real
// arithmetic, optionally checks it against the unsharded program, and reports
// the device time under the cost model. Every failure is a message and exit
// status 1, and leaves no output file: the outputs of a run (results, saved
// inputs, report, trace) are put in place together or not at all. A failed
// --check is the exception: the run itself completed, and its outputs are
// kept so that the mismatch can be examined.
//
//===----------------------------------------------------------------------===//

#include "kb/Executor/Execute.h"
#include "kb/Executor/Report.h"
#include "kb/InitAllDialects.h"
#include "kb/InitAllPasses.h"
#include "kb/Pipelines/Pipelines.h"
#include "kb/Runtime/Npy.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

#include <cstdlib>
#include <thread>

using namespace mlir;
using namespace kb;
using namespace kb::exec;
using runtime::HostTensor;
namespace cl = llvm::cl;

static cl::OptionCategory category("kb-run options");
static cl::opt<std::string> inputFile(cl::Positional,
                                      cl::desc("<program.mlir>"), cl::Required,
                                      cl::cat(category));
static cl::opt<std::string> entryName("entry", cl::desc("Entry function"),
                                      cl::value_desc("name"),
                                      cl::cat(category));
static cl::list<std::string>
    inputs("input",
           cl::desc("A global argument as .npy, in argument order (repeat)"),
           cl::value_desc("file.npy"), cl::cat(category));
static cl::opt<uint64_t> seed("seed",
                              cl::desc("Seed of the random inputs (default 0)"),
                              cl::init(0), cl::cat(category));
static cl::opt<std::string>
    outputDir("output-dir",
              cl::desc("Write the global results as result<i>.npy here"),
              cl::value_desc("dir"), cl::cat(category));
static cl::opt<bool> saveInputs("save-inputs",
                                cl::desc("Also write the inputs as arg<i>.npy"),
                                cl::cat(category));
static cl::opt<bool>
    check("check", cl::desc("Compare with the unsharded global program"),
          cl::cat(category));
static cl::opt<std::string>
    referenceFile("reference",
                  cl::desc("The global-view program --check compares with, "
                           "when the input is already partitioned"),
                  cl::value_desc("global.mlir"), cl::cat(category));
static cl::opt<std::string> reportFile("report",
                                       cl::desc("Write the JSON report here"),
                                       cl::value_desc("file.json"),
                                       cl::cat(category));
static cl::opt<std::string>
    traceFile("trace", cl::desc("Write a Chrome/Perfetto trace here"),
              cl::value_desc("file.json"), cl::cat(category));
static cl::opt<std::string>
    deviceFile("device", cl::desc("Device description (JSON) to use"),
               cl::value_desc("file.json"), cl::cat(category));
static cl::opt<bool>
    printResultsFlag("print-results",
                     cl::desc("Print a summary of each result"),
                     cl::cat(category));
static cl::opt<int> threads(
    "host-threads",
    cl::desc("Host threads for the device program's tile work (default: "
             "$KB_RUN_THREADS, else every core)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("Do not print the report"),
                           cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "kb-run") << message << "\n";
  return 1;
}

static int fail(llvm::Error error) {
  return fail(llvm::toString(std::move(error)));
}

/// Parses `path` as a module, printing diagnostics against the file.
static OwningOpRef<ModuleOp> parseFile(llvm::StringRef path, MLIRContext &ctx,
                                       llvm::SourceMgr &sourceMgr) {
  std::string message;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(path, &message);
  if (!file) {
    fail("cannot read " + path + ": " + message);
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, &ctx);
}

/// The global inputs: read from --input files or made from --seed.
static llvm::Expected<SmallVector<HostTensor>>
loadInputs(const Program &program) {
  SmallVector<HostTensor> result;
  if (!inputs.empty() && inputs.size() != program.args.size())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the entry takes " + llvm::Twine(program.args.size()) +
            " arguments but " + llvm::Twine(inputs.size()) +
            " --input files were given");
  for (auto [i, spec] : llvm::enumerate(program.args)) {
    if (inputs.empty()) {
      result.push_back(runtime::randomTensor(spec.dtype, spec.shape, seed + i));
      continue;
    }
    llvm::Expected<HostTensor> t = runtime::readNpy(inputs[i], spec.dtype);
    if (!t)
      return t.takeError();
    if (t->dtype != spec.dtype)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          inputs[i] + ": holds " + runtime::dtypeName(t->dtype) +
              " but argument " + llvm::Twine(i) + " is " +
              runtime::dtypeName(spec.dtype));
    if (llvm::ArrayRef<int64_t>(t->shape) !=
        llvm::ArrayRef<int64_t>(spec.shape))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          inputs[i] + ": has shape " + runtime::shapeString(t->shape) +
              " but argument " + llvm::Twine(i) + " is " +
              runtime::shapeString(spec.shape));
    result.push_back(std::move(*t));
  }
  return result;
}

/// Refuses interfaces whose tensors could not be held on the host.
static llvm::Error checkSizes(const Program &program) {
  double total = 0;
  for (const TensorSpec &spec :
       llvm::concat<const TensorSpec>(program.args, program.results)) {
    int64_t n = runtime::checkedNumElements(spec.shape);
    if (n < 0 || n > runtime::kMaxNpyElements)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "a tensor of shape " + runtime::shapeString(spec.shape) +
              " is too large to run (at most 2^31 elements)");
    total += 4.0 * n;
  }
  if (total > 8.0 * (1ull << 30))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the program's tensors need " +
            llvm::Twine(static_cast<int64_t>(total / (1 << 20))) +
            " MiB of host memory, more than kb-run's 8 GiB limit");
  return llvm::Error::success();
}

/// --host-threads, else $KB_RUN_THREADS, else the machine's cores.
static int hostThreads() {
  if (threads > 0)
    return threads;
  if (const char *env = std::getenv("KB_RUN_THREADS"))
    if (int n = std::atoi(env); n > 0)
      return n;
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Refuses an output file whose directory cannot take it, before any work.
static llvm::Error checkOutputFile(llvm::StringRef flag, llvm::StringRef path) {
  auto refuse = [&](const llvm::Twine &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   flag + " " + path +
                                       ": cannot write: " + why);
  };
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir))
    return refuse(dir + " is not a directory");
  if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
    return refuse(dir + " is not writable");
  if (llvm::sys::fs::is_directory(path))
    return refuse("it is a directory");
  return llvm::Error::success();
}

static std::string render(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", value) << "\n";
  return text;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  kb::registerAllPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kb-run: run a kb program on a simulated AHBM system\n\n"
      "  A global-view program is compiled with the kb pipeline first; with\n"
      "  --check the unsharded program runs too and the results are "
      "compared.\n");

  DialectRegistry registry;
  kb::registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);

  // Output locations are checked before any work, so a bad one costs nothing
  // and leaves nothing behind.
  if (!outputDir.empty() && !llvm::sys::fs::is_directory(outputDir))
    return fail("--output-dir " + outputDir + " is not a directory");
  if (!outputDir.empty() &&
      llvm::sys::fs::access(outputDir, llvm::sys::fs::AccessMode::Write))
    return fail("--output-dir " + outputDir + " is not writable");
  if (!reportFile.empty())
    if (llvm::Error e = checkOutputFile("--report", reportFile))
      return fail(std::move(e));
  if (!traceFile.empty())
    if (llvm::Error e = checkOutputFile("--trace", traceFile))
      return fail(std::move(e));

  OwningOpRef<ModuleOp> module = parseFile(inputFile, ctx, sourceMgr);
  if (!module)
    return 1;
  llvm::Expected<Program> analyzed = analyzeProgram(*module, entryName);
  if (!analyzed)
    return fail(analyzed.takeError());

  // The device: --device, else the module's, else the built-in default.
  gemm_tile::DeviceDescription device = gemm_tile::lookupDevice(*module);
  if (!deviceFile.empty()) {
    std::string message;
    std::unique_ptr<llvm::MemoryBuffer> json =
        openInputFile(deviceFile, &message);
    if (!json)
      return fail("cannot read " + deviceFile + ": " + message);
    llvm::Expected<gemm_tile::DeviceDescription> parsed =
        gemm_tile::DeviceDescription::fromJSON(json->getBuffer());
    if (!parsed)
      return fail(deviceFile + ": " + llvm::toString(parsed.takeError()));
    device = *parsed;
    (*module)->setAttr(gemm_tile::GemmTileDialect::kDeviceAttrName,
                       device.toAttr(&ctx));
  }

  // A global-view program is its own reference; compile a copy of it.
  OwningOpRef<ModuleOp> reference;
  std::optional<Program> referenceProgram;
  Program program = *analyzed;
  if (program.view == View::Global) {
    reference = module->clone();
    PassManager pm(&ctx);
    kb::buildKBPipeline(pm, kb::KBPipelineOptions());
    if (failed(pm.run(*module)))
      return fail("the kb pipeline failed on " + inputFile);
    llvm::Expected<Program> compiled = analyzeProgram(*module, entryName);
    if (!compiled)
      return fail(compiled.takeError());
    program = *compiled;
  } else if (check) {
    if (referenceFile.empty())
      return fail("--check on a " + viewName(program.view) +
                  " needs --reference GLOBAL.mlir (the unsharded program)");
    llvm::SourceMgr referenceSourceMgr;
    SourceMgrDiagnosticHandler referenceDiagnostics(referenceSourceMgr, &ctx);
    reference = parseFile(referenceFile, ctx, referenceSourceMgr);
    if (!reference)
      return 1;
  }
  if (check) {
    llvm::Expected<Program> ref = analyzeProgram(*reference, entryName);
    if (!ref)
      return fail(referenceFile + ": " + llvm::toString(ref.takeError()));
    if (ref->view != View::Global)
      return fail("the reference must be a global-view program, not a " +
                  viewName(ref->view));
    referenceProgram = *ref;
  }

  if (llvm::Error e = checkSizes(program))
    return fail(std::move(e));
  llvm::Expected<SmallVector<HostTensor>> globalInputs = loadInputs(program);
  if (!globalInputs)
    return fail(globalInputs.takeError());
  if (referenceProgram) {
    bool same = referenceProgram->args.size() == program.args.size();
    for (size_t i = 0; same && i < program.args.size(); ++i)
      same = referenceProgram->args[i].shape == program.args[i].shape &&
             referenceProgram->args[i].dtype == program.args[i].dtype;
    if (!same)
      return fail("the reference program takes different arguments than " +
                  inputFile);
  }

  DeviceRun run;
  llvm::Expected<SmallVector<HostTensor>> results =
      program.view == View::Lowered
          ? runDeviceProgram(program, *globalInputs, device, run,
                             !traceFile.empty(), hostThreads())
          : runKBProgram(program, *globalInputs);
  if (!results)
    return fail(results.takeError());

  std::optional<CheckResult> checked;
  if (referenceProgram) {
    llvm::Expected<SmallVector<HostTensor>> expected =
        runKBProgram(*referenceProgram, *globalInputs);
    if (!expected)
      return fail(expected.takeError());
    if (expected->size() != results->size())
      return fail("the reference returns " + llvm::Twine(expected->size()) +
                  " results, the program " + llvm::Twine(results->size()));
    checked = compareResults(*results, *expected);
  }

  // Every output is written before any is put in place: a failure on the last
  // one must not leave the first ones behind.
  const DeviceRun *device_run = program.view == View::Lowered ? &run : nullptr;
  runtime::OutputFileSet outputs;
  if (!outputDir.empty()) {
    auto add = [&](llvm::StringRef stem, size_t i, const HostTensor &t) {
      llvm::SmallString<256> path(outputDir);
      llvm::sys::path::append(path, stem + llvm::Twine(i) + ".npy");
      return outputs.add(path, runtime::serializeNpy(t));
    };
    for (auto [i, t] : llvm::enumerate(*results))
      if (llvm::Error e = add("result", i, t))
        return fail(std::move(e));
    if (saveInputs)
      for (auto [i, t] : llvm::enumerate(*globalInputs))
        if (llvm::Error e = add("arg", i, t))
          return fail(std::move(e));
  }
  if (!reportFile.empty())
    if (llvm::Error e = outputs.add(
            reportFile,
            render(reportJSON(program, device, device_run, checked))))
      return fail(std::move(e));
  if (!traceFile.empty())
    if (llvm::Error e =
            outputs.add(traceFile, render(traceJSON(run, program.worldSize))))
      return fail(std::move(e));
  if (llvm::Error e = outputs.commit())
    return fail(std::move(e));
  if (printResultsFlag)
    printResults(llvm::outs(), *results);
  if (!quiet)
    printReport(llvm::outs(), program, device, device_run, checked);
  if (checked && !checked->passed)
    return fail("check failed: " + checked->worst + " (tolerance " +
                std::to_string(checked->tolerance) +
                " of the largest magnitude)");
  return 0;
}
