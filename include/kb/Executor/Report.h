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
  double maxAbsError = 0, maxRelError = 0, tolerance = 0;
  std::string worst; // which result and element, when it failed
};

/// The tolerance for comparing a result of `dtype` with the unsharded
/// reference, relative to the reference's largest magnitude.
double toleranceFor(runtime::DType dtype);

/// Compares results with references; the error relative to each reference
/// tensor's largest magnitude must stay within its dtype's tolerance.
CheckResult compareResults(llvm::ArrayRef<runtime::HostTensor> results,
                           llvm::ArrayRef<runtime::HostTensor> references);

llvm::json::Value reportJSON(const Program &program,
                             const gemm_tile::DeviceDescription &device,
                             const DeviceRun *run,
                             const std::optional<CheckResult> &check);

void printReport(llvm::raw_ostream &os, const Program &program,
                 const gemm_tile::DeviceDescription &device,
                 const DeviceRun *run, const std::optional<CheckResult> &check);

/// Chrome / Perfetto trace JSON of the run's timeline.
llvm::json::Value traceJSON(const DeviceRun &run, int64_t worldSize);

/// One line per result, stable across runs: dtype, shape, sum, first and last
/// elements.
void printResults(llvm::raw_ostream &os,
                  llvm::ArrayRef<runtime::HostTensor> results);

} // namespace kb::exec

#endif // KB_EXECUTOR_REPORT_H
