//===- kb-run.cpp - run kb programs on a simulated AHBM system ------------===//
//
// Reads a kb program (global view, local view or lowered gemm_tile), compiles
// a global-view one with the kb pipeline and a local-view one with the
// kb-device-pipeline (the kb pipeline after partition), runs it for W ranks
// with real arithmetic, optionally checks it against a reference (the
// unsharded program, or a local view's own run on the host), and reports the
// device time under the cost model. Every failure is a message and exit
// status 1, and leaves no output file and loses no existing one: the outputs
// of a run (results, saved inputs, report, trace) are put in place together
// or not at all (kb::OutputFileSet). A failed --check is the exception: the
// run itself completed, and its outputs are kept so that the mismatch can be
// examined. Every file read is bounded and must be a regular file
// (kb/Support/InputFiles.h), and a program nested too deep for the parser is
// refused before parsing.
//
//===----------------------------------------------------------------------===//

#include "FirstDivergence.h"
#include "HugePageMalloc.h"
#include "PlacementAdvice.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"
#include "kb/Executor/Execute.h"
#include "kb/Executor/OpProfile.h"
#include "kb/Executor/Report.h"
#include "kb/InitAllDialects.h"
#include "kb/InitAllPasses.h"
#include "kb/Pipelines/Pipelines.h"
#include "kb/Runtime/Npy.h"
#include "kb/Support/InputFiles.h"
#include "kb/Support/OutputFiles.h"

#include "kb/Version.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include <cstdlib>
#include <future>
#include <thread>

extern char **environ; // the process's environment, passed on to kb.plot

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
                           "when the input is already partitioned (a "
                           "local-view input then runs on the host)"),
                  cl::value_desc("global.mlir"), cl::cat(category));
static cl::opt<std::string> reportFile("report",
                                       cl::desc("Write the JSON report here"),
                                       cl::value_desc("file.json"),
                                       cl::cat(category));
static cl::opt<std::string>
    traceFile("trace", cl::desc("Write a Chrome/Perfetto trace here"),
              cl::value_desc("file.json"), cl::cat(category));
static cl::opt<std::string>
    plotFile("plot",
             cl::desc("Draw the timeline of one SIP and the time by layer "
                      "(PNG; runs python3 -m kb.plot, needs matplotlib)"),
             cl::value_desc("file.png"), cl::cat(category));
static cl::list<int64_t> traceRanks(
    "trace-ranks",
    cl::desc("Trace only these SIPs (comma-separated ranks; default all)"),
    cl::value_desc("r,r,..."), cl::CommaSeparated, cl::cat(category));
static cl::opt<std::string>
    deviceFile("device",
               cl::desc("Device to use: a built-in one by name (ahbm, "
                        "small) or a description in a JSON file"),
               cl::value_desc("name|file.json"), cl::cat(category));
static cl::opt<bool>
    printResultsFlag("print-results",
                     cl::desc("Print a summary of each result"),
                     cl::cat(category));
static cl::opt<int> threads(
    "host-threads",
    cl::desc("Host threads kb-run uses, for the compile and the device "
             "program's tile work, or with --cost-only for simulating the "
             "ranks at once (default: $KB_RUN_THREADS, else every core)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("Do not print the report"),
                           cl::cat(category));
static cl::opt<bool> costOnly(
    "cost-only",
    cl::desc("Run the device program's schedule on shapes alone: the same "
             "report, no inputs, no arithmetic, no results"),
    cl::cat(category));
static cl::opt<bool> verifyEach(
    "verify-each",
    cl::desc("Verify the IR after every pass of the pipeline, as kb-opt and "
             "mlir-opt do (default: once, after the last pass)"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> progressFlag(
    "progress",
    cl::desc("Show a progress line on stderr (default: on a terminal, for "
             "runs longer than 2 s)"),
    cl::cat(category));
// The kb-pipeline's options, for a global-view or local-view program kb-run
// compiles (kb-device-pipeline takes the same ones).
static cl::opt<bool> outlineOps(
    "outline-ops",
    cl::desc("kb-pipeline: emit each distinct op's device work once, as a "
             "kernel called where the op occurs (default true)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> costModel(
    "cost-model",
    cl::desc("kb-pipeline: kb-place chooses policies by the placement cost "
             "model, else by the rule alone (default true)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> overlapCollectives(
    "overlap-collectives",
    cl::desc("kb-pipeline: cut a row-parallel gemm and its all-reduce into "
             "row chunks whose rings run beside the next chunk's gemm, where "
             "the cost model says it is faster (default true)"),
    cl::init(true), cl::cat(category));
static cl::opt<int64_t> overlapChunks(
    "overlap-chunks",
    cl::desc("kb-pipeline: the most row chunks the overlap of collectives "
             "cuts a gemm into (default: the kb-pipeline's)"),
    cl::init(0), cl::cat(category));

/// A progress line on stderr: what kb-run is doing and how far the device
/// program is. On a terminal it appears once a run has taken 2 s and is
/// rewritten in place; --progress shows it from the start, on any stderr.
class ProgressLine {
public:
  ProgressLine()
      : forced(progressFlag),
        terminal(llvm::sys::Process::StandardErrIsDisplayed()),
        start(std::chrono::steady_clock::now()) {}
  ~ProgressLine() { finish(); }

  /// Starts a phase ("running the device program").
  void phase(llvm::StringRef what) {
    current = what.str();
    show(-1, true);
  }
  /// The phase's share done, 0 to 1.
  void update(double fraction) { show(fraction, false); }
  /// Clears the line (on a terminal) or ends it.
  void finish() {
    if (!shown)
      return;
    if (terminal)
      llvm::errs() << "\r" << std::string(width, ' ') << "\r";
    else
      llvm::errs() << "\n";
    shown = false;
  }

private:
  void show(double fraction, bool newPhase) {
    if (!forced && !terminal)
      return;
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - start).count();
    if (!forced && elapsed < 2)
      return;
    // A few updates a second are enough to see it move.
    if (!newPhase && std::chrono::duration<double>(now - last).count() < 0.2)
      return;
    last = now;
    std::string text = "kb-run: " + current;
    if (fraction >= 0)
      text += llvm::formatv(" {0,3:F0}%", 100 * fraction).str();
    text += llvm::formatv(" ({0:F1} s)", elapsed).str();
    if (terminal) {
      llvm::errs() << "\r" << text
                   << std::string(text.size() < width ? width - text.size() : 0,
                                  ' ');
      width = std::max(width, text.size());
    } else {
      llvm::errs() << (shown ? "\n" : "") << text;
    }
    llvm::errs().flush();
    shown = true;
  }

  bool forced, terminal, shown = false;
  size_t width = 0;
  std::string current;
  std::chrono::steady_clock::time_point start, last;
};

/// Adds the kb-pipeline (for a global-view program) or the
/// kb-device-pipeline (the stages after partition, for a local-view one), as
/// the options ask for it, to `pm`; with `advise`, kb-place remarks on given
/// policies its own choice clearly beats.
static void buildPipeline(OpPassManager &pm, View view, bool advise = false) {
  kb::KBPipelineOptions options;
  options.outlineOps = outlineOps;
  options.costModel = costModel;
  options.overlapCollectives = overlapCollectives;
  if (overlapChunks.getNumOccurrences())
    options.overlapChunks = overlapChunks;
  options.advisePlacement = advise;
  if (view == View::Local)
    kb::buildKBDevicePipeline(pm, options);
  else
    kb::buildKBPipeline(pm, options);
}

/// The progress line, ended before an error is printed.
static std::function<void()> endProgressLine;

// Whether the build checks for leaks at exit (AddressSanitizer, with gcc or
// clang): kb-run then frees everything before it exits.
#if defined(__SANITIZE_ADDRESS__)
#define KB_RUN_LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KB_RUN_LEAK_CHECKED 1
#endif
#endif
#ifndef KB_RUN_LEAK_CHECKED
#define KB_RUN_LEAK_CHECKED 0
#endif

static int fail(const llvm::Twine &message) {
  if (endProgressLine)
    endProgressLine();
  llvm::WithColor::error(llvm::errs(), "kb-run") << message << "\n";
  return 1;
}

static int fail(llvm::Error error) {
  return fail(llvm::toString(std::move(error)));
}

/// Parses `path` as a module, printing diagnostics against the file. The
/// text is bounded and its nesting checked first: MLIR's parser recurses
/// once per level and would overflow the stack.
static OwningOpRef<ModuleOp> parseFile(llvm::StringRef path, MLIRContext &ctx,
                                       llvm::SourceMgr &sourceMgr) {
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> file =
      readInputFile(path, kMaxProgramBytes);
  if (!file) {
    fail(file.takeError());
    return nullptr;
  }
  if (llvm::Error e =
          checkNesting((*file)->getBuffer(), path, kMaxProgramNesting)) {
    fail(std::move(e));
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  // The module the parser wraps around a file's top-level ops is at line 0;
  // errors about the module point at its first op instead.
  if (module && !module->getBody()->empty())
    if (auto loc = dyn_cast<FileLineColLoc>(module->getLoc());
        loc && loc.getLine() == 0)
      module->getOperation()->setLoc(module->getBody()->front().getLoc());
  return module;
}

/// Refuses a lowered program whose ring collectives are not complete and in
/// order (gemm-tile-verify-rings): a broken ring runs to the end with wrong
/// numbers. The pass reports what is wrong through the diagnostics.
/// With `instrument` (a lowered input: no pipeline ran), MLIR's pass-manager
/// options (--mlir-print-ir-*) apply to it and its pass is timed in
/// `timing`.
static LogicalResult verifyRings(ModuleOp module, bool instrument,
                                 TimingScope &timing) {
  PassManager pm(module->getContext());
  if (instrument) {
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    pm.enableTiming(timing);
  }
  pm.addPass(kb::gemm_tile::createGemmTileVerifyRingsPass());
  return pm.run(module);
}

/// The global inputs: read from --input files or made from --seed.
static llvm::Expected<SmallVector<HostTensor>>
loadInputs(const Program &program, int threads) {
  SmallVector<HostTensor> result;
  if (!inputs.empty() && inputs.size() != program.args.size())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the entry takes " + llvm::Twine(program.args.size()) +
            " arguments but " + llvm::Twine(inputs.size()) +
            " --input files were given");
  for (auto [i, spec] : llvm::enumerate(program.args)) {
    if (inputs.empty() && runtime::isIntegerDType(spec.dtype)) {
      // Token ids: valid ones, uniform in [0, V) of the embedding reading
      // them, from the same generator as the floats.
      HostTensor t = runtime::randomTensor(runtime::DType::F32, spec.shape,
                                           seed + i);
      int64_t bound = spec.idBound > 0 ? spec.idBound : kDefaultIdBound;
      for (float &v : t.data)
        v = std::min<float>(std::floor((v + 1.0f) * 0.5f * bound), bound - 1);
      t.dtype = spec.dtype;
      result.push_back(std::move(t));
      continue;
    }
    if (inputs.empty()) {
      HostTensor t = runtime::randomTensor(spec.dtype, spec.shape, seed + i);
      if (spec.fanIn > 0) {
        float scale = 1.0f / std::sqrt(static_cast<float>(spec.fanIn));
        for (float &v : t.data)
          v *= scale;
        runtime::roundBufferToDType(t.data.data(), t.data.size(), t.dtype);
      }
      // Held 16-bit like a read f16 input (hostBytesNeeded counts it so).
      t.narrow();
      result.push_back(std::move(t));
      continue;
    }
    // f16 inputs stay 16-bit (the weights are most of a run's memory); the
    // gemms widen them as they read them.
    llvm::Expected<HostTensor> t =
        runtime::readNpy(inputs[i], spec.dtype, /*keepHalf=*/true, threads);
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

/// kb-run's host memory limit.
constexpr double kHostMemoryLimit = 16.0 * (1ull << 30);

/// Whether the global arguments may be read before the host-memory check:
/// each a size kb-run accepts, all together at most a quarter of the limit
/// in their own dtypes.
static bool inputsFitEarly(const Program &program) {
  double bytes = 0;
  for (const TensorSpec &spec : program.args) {
    int64_t n = runtime::checkedNumElements(spec.shape);
    if (n < 0 || n > runtime::kMaxNpyElements)
      return false;
    bytes += double(n) * runtime::dtypeSize(spec.dtype);
  }
  return bytes <= kHostMemoryLimit / 4;
}

/// Refuses interfaces whose tensors could not be held on the host, before any
/// is made.
static llvm::Error checkSizes(const Program &program, bool withReference) {
  double total = 0;
  for (const TensorSpec &spec :
       llvm::concat<const TensorSpec>(program.args, program.results)) {
    int64_t n = runtime::checkedNumElements(spec.shape);
    if (n < 0 || n > runtime::kMaxNpyElements)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "a tensor of shape " + runtime::shapeString(spec.shape) +
              " is too large to run (at most 2^31 elements)");
  }
  total = hostBytesNeeded(program, withReference);
  if (total > kHostMemoryLimit)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the program's tensors need " +
            llvm::Twine(static_cast<int64_t>(total / (1 << 20))) +
            " MiB of host memory, more than kb-run's 16 GiB limit");
  return llvm::Error::success();
}

/// More host threads than this are refused: the tile work of one wait is
/// never that wide, and each thread costs a stack.
constexpr int kMaxHostThreads = 1024;

/// --host-threads, else $KB_RUN_THREADS, else the machine's cores; a value
/// that is not a count of threads is an error.
static llvm::Expected<int> hostThreads() {
  auto bad = [](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + " must be a whole number from 1 to " +
                                       llvm::Twine(kMaxHostThreads));
  };
  if (threads.getNumOccurrences()) {
    if (threads < 1 || threads > kMaxHostThreads)
      return bad("--host-threads " + llvm::Twine(threads.getValue()) + ":");
    return threads.getValue();
  }
  if (const char *env = std::getenv("KB_RUN_THREADS")) {
    int n = 0;
    if (llvm::StringRef(env).getAsInteger(10, n) || n < 1 ||
        n > kMaxHostThreads)
      return bad(llvm::Twine("KB_RUN_THREADS=") + env + ":");
    return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

/// The outputs of the run, as (flag, path): the results (and inputs) under
/// --output-dir, --report and --trace.
static std::vector<std::pair<std::string, std::string>>
outputPaths(const Program &program) {
  std::vector<std::pair<std::string, std::string>> paths;
  auto underDir = [&](llvm::StringRef stem, size_t i) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, stem + llvm::Twine(i) + ".npy");
    return path.str().str();
  };
  if (!outputDir.empty()) {
    for (size_t i = 0; i < program.results.size(); ++i)
      paths.push_back({"--output-dir", underDir("result", i)});
    if (saveInputs)
      for (size_t i = 0; i < program.args.size(); ++i)
        paths.push_back({"--output-dir", underDir("arg", i)});
  }
  if (!reportFile.empty())
    paths.push_back({"--report", reportFile});
  if (!traceFile.empty())
    paths.push_back({"--trace", traceFile});
  if (!plotFile.empty())
    paths.push_back({"--plot", plotFile});
  return paths;
}

/// Refuses, before any work, outputs that could not be written: a
/// destination that is a directory or a device kb does not write through, a
/// directory that is missing (other than --output-dir, which is created) or
/// not writable, two outputs at one path.
static llvm::Error checkOutputs(const Program *program) {
  if (!outputDir.empty()) {
    if (llvm::sys::fs::exists(outputDir) &&
        !llvm::sys::fs::is_directory(outputDir))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "--output-dir " + outputDir +
                                         " exists and is not a directory");
    llvm::SmallString<256> probe(outputDir);
    llvm::sys::path::append(probe, "result0.npy");
    if (llvm::Error e = checkOutputPath(probe, "--output-dir", true))
      return e;
  }
  if (!reportFile.empty())
    if (llvm::Error e = checkOutputPath(reportFile, "--report"))
      return e;
  if (!traceFile.empty())
    if (llvm::Error e = checkOutputPath(traceFile, "--trace"))
      return e;
  if (!plotFile.empty())
    if (llvm::Error e = checkOutputPath(plotFile, "--plot"))
      return e;
  if (!program)
    return llvm::Error::success();
  std::vector<std::pair<std::string, std::string>> paths =
      outputPaths(*program);
  std::map<std::string, std::string> seen; // identity -> flag and path
  for (const auto &[flag, path] : paths) {
    if (llvm::Error e = checkOutputPath(path, flag, flag == "--output-dir"))
      return e;
    std::string id = outputIdentity(path);
    auto [it, fresh] = seen.try_emplace(id, flag + " " + path);
    if (!fresh)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          flag + " " + path + ": cannot write: " + it->second +
              " is the same file; each output needs its own path");
  }
  return llvm::Error::success();
}

/// Creates --output-dir (and its missing parents) for the commit; returns the
/// directories it created, innermost first, for removal if the commit fails.
static llvm::Expected<std::vector<std::string>> createOutputDir() {
  std::vector<std::string> created;
  llvm::SmallString<256> dir(outputDir);
  while (!dir.empty() && !llvm::sys::fs::exists(dir)) {
    created.push_back(dir.str().str());
    dir = llvm::sys::path::parent_path(created.back());
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "--output-dir " + outputDir +
                                       ": cannot create it: " + ec.message());
  return created;
}

static std::string render(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", value) << "\n";
  return text;
}

static llvm::Error plotError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "--plot: " + message);
}

/// The PNG `python3 -m kb.plot` draws from the report and the trace (of the
/// SIP the report's per-op table describes), made in a scratch directory so
/// that it joins the run's other outputs, all put in place or none. The
/// interpreter is $KB_PYTHON, else /usr/bin/python3, else python3 on PATH;
/// the checkout's python/
/// directory goes first on its PYTHONPATH, so an uninstalled kb is found.
static llvm::Expected<std::string> renderPlot(llvm::StringRef report,
                                              llvm::StringRef trace) {
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("kb-run-plot", dir))
    return plotError("cannot make a scratch directory: " + ec.message());
  llvm::scope_exit removeDir([&] { llvm::sys::fs::remove_directories(dir); });
  auto inDir = [&](llvm::StringRef name) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return path.str().str();
  };
  std::string reportPath = inDir("report.json"),
              tracePath = inDir("trace.json"), pngPath = inDir("plot.png"),
              errPath = inDir("stderr.txt");
  for (auto [path, text] :
       {std::make_pair(reportPath, report), std::make_pair(tracePath, trace)}) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (!ec)
      os << text;
    os.close();
    if (ec || os.has_error())
      return plotError("cannot write " + path);
  }
  std::string python;
  if (const char *env = std::getenv("KB_PYTHON"); env && *env) {
    python = env;
  } else if (llvm::sys::fs::can_execute("/usr/bin/python3")) {
    // Debian's, which python3-matplotlib and python3-numpy serve.
    python = "/usr/bin/python3";
  } else {
    llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("python3");
    if (!found)
      return plotError("python3 is not on PATH (set KB_PYTHON to the "
                       "interpreter that has kb and matplotlib)");
    python = *found;
  }
  std::vector<std::string> environment;
  std::string pythonPath = KB_PYTHON_DIR;
  for (char **e = environ; *e; ++e) {
    llvm::StringRef entry(*e);
    if (entry.consume_front("PYTHONPATH="))
      pythonPath += ":" + entry.str();
    else
      environment.push_back(entry.str());
  }
  environment.push_back("PYTHONPATH=" + pythonPath);
  llvm::SmallVector<llvm::StringRef> envRefs(environment.begin(),
                                             environment.end());
  llvm::SmallVector<llvm::StringRef> args{
      python, "-m", "kb.plot", reportPath, tracePath, "-o", pngPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, std::nullopt,
                                                llvm::StringRef(errPath)};
  std::string why;
  int status = llvm::sys::ExecuteAndWait(python, args, envRefs, redirects,
                                         /*SecondsToWait=*/600, 0, &why);
  if (status != 0) {
    std::string stderrText;
    if (auto err = llvm::MemoryBuffer::getFile(errPath))
      stderrText = (*err)->getBuffer().trim().str();
    return plotError(python + " -m kb.plot failed" +
                     (status > 0
                          ? " (exit status " + std::to_string(status) + ")"
                          : ": " + why) +
                     (stderrText.empty() ? "" : ":\n" + stderrText));
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> png =
      llvm::MemoryBuffer::getFile(pngPath);
  if (!png)
    return plotError("kb.plot wrote no picture");
  return (*png)->getBuffer().str();
}

int main(int argc, char **argv) {
  // kb-run may have executed itself again before getting here, to put its
  // heap on huge pages (HugePageMalloc.h).
  llvm::InitLLVM init(argc, argv);
  cl::SetVersionPrinter(
      [](llvm::raw_ostream &os) { os << kb::versionString() << "\n"; });
  // A write beyond `ulimit -f` becomes an error with a message.
  ignoreFileSizeLimitSignal();
  kb::registerAllPasses();
  // MLIR's pass-manager, timing and printing options, as kb-opt has them:
  // --mlir-timing, --mlir-print-ir-after-all, --mlir-print-debuginfo, ...
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  auto registered = cl::getRegisteredOptions();
  for (llvm::StringRef name :
       {"mlir-timing", "mlir-timing-display", "mlir-print-ir-after-all",
        "mlir-print-ir-before-all", "mlir-print-ir-after-failure",
        "mlir-print-debuginfo"})
    if (cl::Option *option = registered.lookup(name))
      option->addCategory(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kb-run: run a kb program on a simulated AHBM system\n\n"
      "  A global-view program is compiled with the kb pipeline first, a\n"
      "  local-view one with the kb-device-pipeline; with --check the\n"
      "  unsharded program (or, for a local view, its run on the host) runs\n"
      "  too and the results are compared.\n");

  // Options that would be ignored are errors: the user meant something.
  llvm::Expected<int> hostThreadCount = hostThreads();
  if (!hostThreadCount)
    return fail(hostThreadCount.takeError());
  if (!referenceFile.empty() && !check)
    return fail("--reference is only used by --check; add --check or drop "
                "--reference");
  if (saveInputs && outputDir.empty())
    return fail("--save-inputs writes into --output-dir; give one");
  if (!traceRanks.empty() && traceFile.empty())
    return fail("--trace-ranks limits --trace; add --trace or drop "
                "--trace-ranks");
  // --cost-only has no numbers: what reads or writes them is refused.
  if (costOnly)
    for (cl::Option *option : std::initializer_list<cl::Option *>{
             // (A cl::list's operator& gives its vector of values.)
             &check, std::addressof(inputs), &seed, &outputDir, &saveInputs,
             &printResultsFlag, &referenceFile})
      if (option->getNumOccurrences())
        return fail("--" + option->ArgStr +
                    " needs the program's numbers, which --cost-only does "
                    "not compute (it runs the schedule on shapes alone); "
                    "drop one of the two");

  DialectRegistry registry;
  kb::registerAllDialects(registry);
  // The compile's threads are the host threads too: --host-threads 1 runs
  // kb-run on one thread, its compile included (kb-place's two searches and
  // the verifier run side by side otherwise).
  std::optional<llvm::DefaultThreadPool> compileThreads;
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  if (*hostThreadCount > 1) {
    compileThreads.emplace(llvm::hardware_concurrency(*hostThreadCount));
    ctx.setThreadPool(*compileThreads);
  }
  ctx.loadAllAvailableDialects();
  // A diagnostic names its location and says what is wrong; printing the op
  // with it would dump a whole function or module.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);

  // --mlir-timing times kb-run's phases, with the pipeline's passes nested
  // in the compile: where a run's time goes, and which part of it the host
  // threads do not share.
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();
  TimingScope phaseTiming;
  auto timePhase = [&](llvm::StringRef name) {
    phaseTiming.stop();
    phaseTiming = rootTiming.nest(name);
  };

  ProgressLine progress;
  endProgressLine = [&] { progress.finish(); };
  // Output locations are checked before any work, so a bad one costs nothing
  // and leaves nothing behind.
  if (llvm::Error e = checkOutputs(nullptr))
    return fail(std::move(e));

  timePhase("parse");
  OwningOpRef<ModuleOp> module = parseFile(inputFile, ctx, sourceMgr);
  if (!module)
    return 1;
  llvm::Expected<Program> analyzed = analyzeProgram(*module, entryName);
  if (!analyzed)
    return fail(analyzed.takeError());
  // A local-view program is compiled for the device, unless --reference asks
  // for the check of its partition alone: its ranks run on the host.
  bool compileLocal = analyzed->view == View::Local && referenceFile.empty();
  bool compiles = analyzed->view == View::Global || compileLocal;
  if (!compiles)
    for (cl::Option *option : {static_cast<cl::Option *>(&outlineOps),
                               static_cast<cl::Option *>(&costModel),
                               static_cast<cl::Option *>(&overlapCollectives),
                               static_cast<cl::Option *>(&overlapChunks)})
      if (option->getNumOccurrences())
        return fail(
            "--" + option->ArgStr + " is an option of the kb-pipeline, " +
            (analyzed->view == View::Local
                 ? "which a local-view program given --reference does not go "
                   "through (its ranks run on the host); drop --reference "
                   "to compile " +
                       inputFile + " for the device"
                 : "which only a global-view or local-view program goes "
                   "through; " +
                       inputFile + " is a " + viewName(analyzed->view)));
  if (analyzed->view == View::Global && !referenceFile.empty())
    return fail("--reference: " + inputFile +
                " is a global-view program, which --check compares with "
                "itself unsharded; drop --reference");

  // The device: --device, else the module's, else the built-in default.
  gemm_tile::DeviceDescription device = gemm_tile::lookupDevice(*module);
  if (std::optional<gemm_tile::DeviceDescription> named =
          gemm_tile::DeviceDescription::preset(deviceFile)) {
    device = *named;
    (*module)->setAttr(gemm_tile::GemmTileDialect::kDeviceAttrName,
                       device.toAttr(&ctx));
  } else if (!deviceFile.empty()) {
    llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> json =
        readInputFile(deviceFile, uint64_t(1) << 20);
    if (!json)
      return fail(json.takeError());
    llvm::Expected<gemm_tile::DeviceDescription> parsed =
        gemm_tile::DeviceDescription::fromJSON((*json)->getBuffer());
    if (!parsed)
      return fail(deviceFile + ": " + llvm::toString(parsed.takeError()));
    device = *parsed;
    (*module)->setAttr(gemm_tile::GemmTileDialect::kDeviceAttrName,
                       device.toAttr(&ctx));
  }

  // Reading the --input files needs only the global interface, so with a
  // second host thread they are read beside the compile (which keeps one
  // core busy and the other idle): on a small layer the compile and the
  // reads are a third of the run, and the part the device work's threads do
  // not speed up. Only interfaces that fit well inside the host-memory limit
  // are read early, so a program the check below refuses costs no more
  // than its inputs.
  std::future<llvm::Expected<SmallVector<HostTensor>>> earlyInputs;
  if (!costOnly && !inputs.empty() && compiles && *hostThreadCount > 1 &&
      inputsFitEarly(*analyzed))
    earlyInputs = std::async(
        std::launch::async,
        [global = *analyzed, readers = *hostThreadCount - 1] {
          return loadInputs(global, readers);
        });

  // A global-view program is its own reference, a local-view one compiled
  // here its own run on the host; compile a copy of it.
  OwningOpRef<ModuleOp> reference;
  std::optional<Program> referenceProgram;
  Program program = *analyzed;
  SmallVector<PlacementAdvice> placementAdvice;
  std::string referenceName = "the unsharded global program";
  if (compiles) {
    reference = module->clone();
    llvm::StringRef pipelineName =
        compileLocal ? "kb-device-pipeline" : "kb-pipeline";
    progress.phase(("compiling with the " + pipelineName).str());
    timePhase(("compile (" + pipelineName + ")").str());
    PassManager pm(&ctx);
    if (failed(applyPassManagerCLOptions(pm)))
      return fail("invalid pass-manager options");
    pm.enableTiming(phaseTiming);
    // kb-opt verifies the IR after every pass, as mlir-opt does; kb-run
    // verifies the pipeline's result once (below), its check passes still
    // guarding what the executor relies on: verifying after each of a dozen
    // passes was a fifth of a small layer's compile. --verify-each restores
    // it, to find the pass that broke the IR.
    pm.enableVerifier(verifyEach);
    buildPipeline(pm, analyzed->view, /*advise=*/true);
    {
      PlacementAdviceCollector collector(&ctx);
      if (failed(pm.run(*module)) || (!verifyEach && failed(verify(*module))))
        return fail(compileLocal
                        ? "the kb-device-pipeline failed on " + inputFile +
                              " (a local-view program: placement and "
                              "lowering to gemm_tile)"
                        : "the kb pipeline failed on " + inputFile);
      placementAdvice.assign(collector.getAdvice().begin(),
                             collector.getAdvice().end());
    }
    llvm::Expected<Program> compiled = analyzeProgram(*module, entryName);
    if (!compiled)
      return fail(compiled.takeError());
    // The compiled program's arguments are the global program's.
    for (auto [to, from] : llvm::zip(compiled->args, program.args))
      to.fanIn = from.fanIn;
    program = *compiled;
    if (compileLocal)
      referenceName = "the local view, run on the host";
  } else if (check) {
    if (referenceFile.empty())
      return fail("--check on a " + viewName(program.view) +
                  " needs --reference GLOBAL.mlir (the unsharded program)");
    llvm::SourceMgr referenceSourceMgr;
    SourceMgrDiagnosticHandler referenceDiagnostics(referenceSourceMgr, &ctx);
    reference = parseFile(referenceFile, ctx, referenceSourceMgr);
    if (!reference)
      return 1;
    referenceName += " (" + referenceFile + ")";
  }
  if (program.view == View::Lowered && analyzed->view == View::Lowered)
    timePhase("verify rings");
  if (program.view == View::Lowered &&
      failed(verifyRings(*module, analyzed->view == View::Lowered,
                         phaseTiming)))
    return fail("the ring collectives of " + inputFile +
                " are incomplete or out of order");
  if (check) {
    llvm::Expected<Program> ref = analyzeProgram(*reference, entryName);
    if (!ref)
      return fail(referenceFile + ": " + llvm::toString(ref.takeError()));
    if (ref->view != View::Global && !compileLocal)
      return fail("the reference must be a global-view program, not a " +
                  viewName(ref->view));
    // A local view whose ops kb-outline-kernels already made into kernel
    // calls runs on the host with the calls expanded: the host interpreter
    // runs straight-line kb ops.
    if (ref->view == View::Local)
      if (llvm::Error e = inlineKernelCalls(ref->entry))
        return fail(std::move(e));
    referenceProgram = *ref;
  }
  if (referenceProgram) {
    bool same = referenceProgram->args.size() == program.args.size();
    for (size_t i = 0; same && i < program.args.size(); ++i)
      same = referenceProgram->args[i].shape == program.args[i].shape &&
             referenceProgram->args[i].dtype == program.args[i].dtype;
    if (!same)
      return fail("the reference program takes different arguments than " +
                  inputFile);
    // The reference's kb ops say exactly which arguments are weights.
    for (auto [to, from] : llvm::zip(program.args, referenceProgram->args))
      to.fanIn = from.fanIn;
  }

  if (!plotFile.empty() && program.view == View::Local)
    return fail("--plot draws the device program's timeline; a local-view "
                "program with --reference runs on the host (drop "
                "--reference to compile and run it on the device)");
  for (int64_t r : traceRanks)
    if (r < 0 || r >= program.worldSize)
      return fail("--trace-ranks: rank " + llvm::Twine(r) +
                  " is not a SIP of this program (ranks 0 to " +
                  llvm::Twine(program.worldSize - 1) + ")");
  if (program.view == View::Local)
    if (llvm::Error e = inlineKernelCalls(program.entry))
      return fail(std::move(e));
  // Cost-only: no host tensors, so no host-memory limit and no inputs.
  if (!costOnly)
    if (llvm::Error e = checkSizes(program, referenceProgram.has_value()))
      return fail(std::move(e));
  if (llvm::Error e = checkOutputs(&program))
    return fail(std::move(e));
  auto readInputs = [&]() -> llvm::Expected<SmallVector<HostTensor>> {
    if (costOnly)
      return SmallVector<HostTensor>();
    if (!earlyInputs.valid())
      return loadInputs(program, *hostThreadCount);
    llvm::Expected<SmallVector<HostTensor>> early = earlyInputs.get();
    // The compiled entry takes the global arguments; were its shapes or
    // dtypes ever to differ, the files are read again against its own.
    if (!early || early->size() != program.args.size())
      return early;
    for (auto [t, spec] : llvm::zip(*early, program.args))
      if (t.dtype != spec.dtype || llvm::ArrayRef<int64_t>(t.shape) !=
                                       llvm::ArrayRef<int64_t>(spec.shape))
        return loadInputs(program, *hostThreadCount);
    return early;
  };
  // Inputs read beside the compile: only the wait for them is timed here.
  timePhase(earlyInputs.valid() ? "read inputs (what the compile did not hide)"
                                : "read inputs");
  llvm::Expected<SmallVector<HostTensor>> globalInputs = readInputs();
  if (!globalInputs)
    return fail(globalInputs.takeError());

  DeviceRun run;
  progress.phase(program.view == View::Lowered
                     ? "running the device program"
                     : "running the local view on the host");
  timePhase(costOnly ? "estimate the device program (cost only)"
            : program.view == View::Lowered ? "run the device program"
                                            : "run the local view on the host");
  auto onProgress = [&](double done) { progress.update(done); };
  // The events' details (device op, tile, ring step) are printed by the
  // trace alone; a whole model's worth is kept only when it is written.
  bool traceDetails = !traceFile.empty() || !plotFile.empty();
  auto estimate = [&]() -> llvm::Expected<SmallVector<HostTensor>> {
    if (llvm::Error e = estimateDeviceProgram(program, device, run, onProgress,
                                              traceDetails, *hostThreadCount))
      return std::move(e);
    return SmallVector<HostTensor>(); // no numbers, no results
  };
  // The run's host memory is left to kb-run's exit (see its end), unless a
  // check runs next: then the run frees it as the reference runs. Freed on
  // a host thread while the results were written, its munmaps slowed the
  // writing (2048-token Llama MLP at 2 host threads: 0.18 -> 0.09 s).
  RunMemory runMemory;
  llvm::Expected<SmallVector<HostTensor>> results =
      costOnly ? estimate()
      : program.view == View::Lowered
          ? runDeviceProgram(program, *globalInputs, device, run, traceDetails,
                             *hostThreadCount, onProgress,
                             referenceProgram ? nullptr : &runMemory)
          : runKBProgram(program, *globalInputs);
  if (!results)
    return fail(results.takeError());

  std::optional<CheckResult> checked;
  if (referenceProgram) {
    progress.phase(compileLocal ? "running the local view on the host"
                                : "running the unsharded reference");
    timePhase("check against the reference");
    llvm::Expected<SmallVector<HostTensor>> expected =
        runKBProgram(*referenceProgram, *globalInputs);
    if (!expected)
      return fail(expected.takeError());
    if (expected->size() != results->size())
      return fail("the reference returns " + llvm::Twine(expected->size()) +
                  " results, the program " + llvm::Twine(results->size()));
    checked = compareResults(*results, *expected, program.worldSize);
    // Which op went wrong first: each kb op's result, compiled and
    // unsharded, in program order (a global-view program only: kb-run
    // compiles it and so can cut it after any op).
    if (!checked->passed && compiles) {
      progress.finish();
      if (!quiet)
        llvm::errs() << "kb-run: the check failed; looking for the first kb "
                        "op whose result diverges\n";
      progress.phase("looking for the first diverging kb op");
      checked->firstDivergingOp =
          findFirstDivergingOp(
              *reference, entryName, *globalInputs, device,
              [&](OpPassManager &pm) { buildPipeline(pm, analyzed->view); },
              *hostThreadCount);
    }
  }

  progress.phase("writing the outputs");
  timePhase("write outputs and the report");
  // Every output is written before any is put in place: a failure on the last
  // one must not leave the first ones behind.
  const DeviceRun *device_run = program.view == View::Lowered ? &run : nullptr;
  std::vector<std::string> createdDirs;
  auto removeCreatedDirs = [&] {
    for (const std::string &dir : createdDirs)
      llvm::sys::fs::remove(dir); // only if still empty
  };
  OutputFileSet outputs;
  auto failWriting = [&](llvm::Error e) {
    outputs.discard();
    removeCreatedDirs();
    return fail(std::move(e));
  };
  if (!outputDir.empty()) {
    llvm::Expected<std::vector<std::string>> created = createOutputDir();
    if (!created)
      return fail(created.takeError());
    createdDirs = std::move(*created);
    auto add = [&](llvm::StringRef stem, size_t i, const HostTensor &t) {
      llvm::SmallString<256> path(outputDir);
      llvm::sys::path::append(path, stem + llvm::Twine(i) + ".npy");
      runtime::NpyBytes bytes = runtime::npyBytes(t);
      return outputs.add(path, {bytes.header, bytes.data()});
    };
    for (auto [i, t] : llvm::enumerate(*results))
      if (llvm::Error e = add("result", i, t))
        return failWriting(std::move(e));
    if (saveInputs)
      for (auto [i, t] : llvm::enumerate(*globalInputs))
        if (llvm::Error e = add("arg", i, t))
          return failWriting(std::move(e));
  }
  // The report, with the given policies kb-place would not have chosen.
  auto fullReport = [&] {
    llvm::json::Value report = reportJSON(program, device, device_run, checked);
    if (llvm::json::Object *object = report.getAsObject()) {
      (*object)["placement_advice"] = placementAdviceJSON(placementAdvice);
      (*object)["input_view"] = viewName(analyzed->view);
      if (llvm::json::Object *checkObject = object->getObject("check"))
        (*checkObject)["reference"] = referenceName;
    }
    return report;
  };
  if (!reportFile.empty())
    if (llvm::Error e = outputs.add(
            reportFile,
            render(fullReport())))
      return failWriting(std::move(e));
  if (!traceFile.empty())
    if (llvm::Error e = outputs.add(
            traceFile, render(traceJSON(run, program.worldSize, traceRanks))))
      return failWriting(std::move(e));
  if (!plotFile.empty()) {
    llvm::Expected<std::string> png = renderPlot(
        render(fullReport()),
        render(traceJSON(run, program.worldSize, {profileOps(run).rank})));
    if (!png)
      return failWriting(png.takeError());
    if (llvm::Error e = outputs.add(plotFile, *png))
      return failWriting(std::move(e));
  }
  if (llvm::Error e = outputs.commit())
    return failWriting(std::move(e));
  progress.finish();
  if (printResultsFlag)
    printResults(llvm::outs(), *results);
  if (!quiet) {
    printReport(llvm::outs(), program, device, device_run, checked);
    if (checked)
      llvm::outs() << "check reference: " << referenceName << "\n";
    printPlacementAdvice(llvm::outs(), placementAdvice);
  }
  llvm::outs().flush();
  if (llvm::outs().has_error()) {
    llvm::outs().clear_error();
    return fail("cannot write the report to standard output");
  }
  int status = 0;
  if (checked && !checked->passed)
    status = fail("check failed: " + checked->worst +
                  (checked->firstDivergingOp.empty()
                       ? std::string()
                       : "\nthe first kb op whose result diverges: " +
                             checked->firstDivergingOp));
  // Everything is written. Freeing the inputs, the device's memory and the
  // compiled module would take as long as writing the outputs did (2.5 ms on
  // a 512-token MLP, all on one thread), so kb-run leaves them to the system,
  // as clang and lld do; --mlir-timing's report is printed first. A build
  // with AddressSanitizer tears down as usual, for its leak check.
#if !KB_RUN_LEAK_CHECKED
  phaseTiming.stop();
  rootTiming.stop();
  timing.print();
  llvm::outs().flush();
  llvm::errs().flush();
  llvm::sys::Process::Exit(status, /*NoCleanup=*/true);
#else
  return status;
#endif
}
