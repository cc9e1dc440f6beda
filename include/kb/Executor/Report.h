//===- Report.h - what kb-run tells its user ----------------------*- C++
//-*-===//

#ifndef KB_EXECUTOR_REPORT_H
#define KB_EXECUTOR_REPORT_H

#include "kb/Executor/Execute.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace kb::exec {

/// The outcome of --check.
struct CheckResult {
  bool passed = true;
  /// Over the finite elements; Inf when any element is not finite.
  double maxAbsError = 0, maxRelError = 0, tolerance = 0;
  /// Elements where the result or the reference is NaN or +-Inf.
  int64_t nonFinite = 0;
  std::string worst; // what failed first or worst, when it failed
  /// Which result and element (its index in each dimension) `worst` names.
  int64_t worstResult = -1;
  llvm::SmallVector<int64_t, 2> worstIndex;
  /// When kb-run found it: the first kb op whose result diverges.
  std::string firstDivergingOp;
};

/// The tolerance for comparing a result of `dtype` computed by `worldSize`
/// ranks with the unsharded reference, relative to the reference's largest
/// magnitude (docs/kb-run.md, docs/design/0007).
double toleranceFor(runtime::DType dtype, int64_t worldSize = 1);

/// Compares results with references; the error relative to each reference
/// tensor's largest finite magnitude must stay within its dtype's tolerance,
/// and every element of both must be finite: NaN or Inf on either side fails.
CheckResult compareResults(llvm::ArrayRef<runtime::HostTensor> results,
                           llvm::ArrayRef<runtime::HostTensor> references,
                           int64_t worldSize = 1);

llvm::json::Value reportJSON(const Program &program,
                             const gemm_tile::DeviceDescription &device,
                             const DeviceRun *run,
                             const std::optional<CheckResult> &check);

void printReport(llvm::raw_ostream &os, const Program &program,
                 const gemm_tile::DeviceDescription &device,
                 const DeviceRun *run, const std::optional<CheckResult> &check);

/// Chrome / Perfetto trace JSON of the run's timeline: a slice per device op
/// named after its kernel or kb op, layer and line, with its category
/// (compute, dma, collective) and work in `args`, and flow arrows between
/// the SIPs of each ring step. `ranks` limits it to those SIPs (empty: all).
llvm::json::Value traceJSON(const DeviceRun &run, int64_t worldSize,
                            llvm::ArrayRef<int64_t> ranks = {});

/// One line per result, stable across runs: dtype, shape, sum, first and last
/// elements.
void printResults(llvm::raw_ostream &os,
                  llvm::ArrayRef<runtime::HostTensor> results);

} // namespace kb::exec

#endif // KB_EXECUTOR_REPORT_H
