//===- Report.cpp - what kb-run tells its user ----------------------------===//

#include "kb/Executor/Report.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

using namespace kb;
using namespace kb::exec;
using runtime::DType;
using runtime::HostTensor;

double CollectiveStats::bytesSentPerRank() const {
  if (bytesSentByRank.empty())
    return 0;
  int64_t total = std::accumulate(bytesSentByRank.begin(),
                                  bytesSentByRank.end(), int64_t(0));
  return static_cast<double>(total) / bytesSentByRank.size();
}

int64_t CollectiveStats::maxBytesSentByARank() const {
  return bytesSentByRank.empty() ? 0
                                 : *std::max_element(bytesSentByRank.begin(),
                                                     bytesSentByRank.end());
}

double CollectiveStats::lowerBoundBytesPerRank() const {
  int64_t w = bytesSentByRank.size();
  return w == 0 ? 0 : static_cast<double>(2 * (w - 1) * bytes) / w;
}

double kb::exec::toleranceFor(DType dtype) {
  // Relative to the tensor's largest magnitude. f16 keeps 11 significant bits
  // (2^-11 ≈ 5e-4 per rounding); a TP program rounds partial sums that the
  // unsharded one does not, a few roundings deep. A missing bias or a wrong
  // slice moves results by the size of the data itself, far above these.
  switch (dtype) {
  case DType::F32:
    return 1e-4;
  case DType::F16:
    return 1e-2;
  case DType::BF16:
    return 3e-2;
  }
  return 1e-2;
}

CheckResult kb::exec::compareResults(llvm::ArrayRef<HostTensor> results,
                                     llvm::ArrayRef<HostTensor> references) {
  CheckResult check;
  for (auto [i, pair] : llvm::enumerate(llvm::zip_equal(results, references))) {
    const HostTensor &got = std::get<0>(pair), &want = std::get<1>(pair);
    double tolerance = toleranceFor(want.dtype);
    check.tolerance = std::max(check.tolerance, tolerance);
    double scale = 0;
    for (float v : want.data)
      scale = std::max(scale, static_cast<double>(std::fabs(v)));
    if (scale == 0)
      scale = 1;
    if (got.shape != want.shape) {
      check.passed = false;
      check.worst = "result " + std::to_string(i) + " has shape " +
                    runtime::shapeString(got.shape) + ", the reference " +
                    runtime::shapeString(want.shape);
      continue;
    }
    for (size_t j = 0; j < got.data.size(); ++j) {
      double abs = std::fabs(static_cast<double>(got.data[j]) - want.data[j]);
      if (std::isnan(got.data[j]) != std::isnan(want.data[j]))
        abs = INFINITY;
      double rel = abs / scale;
      check.maxAbsError = std::max(check.maxAbsError, abs);
      if (rel > check.maxRelError) {
        check.maxRelError = rel;
        if (rel > tolerance) {
          check.passed = false;
          check.worst = "result " + std::to_string(i) + " element " +
                        std::to_string(j) + ": got " +
                        std::to_string(got.data[j]) + ", the reference " +
                        std::to_string(want.data[j]);
        }
      }
    }
  }
  return check;
}

llvm::json::Value kb::exec::reportJSON(
    const Program &program, const gemm_tile::DeviceDescription &device,
    const DeviceRun *run, const std::optional<CheckResult> &check) {
  llvm::json::Object report;
  report["world_size"] = program.worldSize;
  report["view"] = viewName(program.view);
  report["device"] = device.toJSON();
  report["device_time_s"] = run ? run->deviceSeconds : 0.0;
  llvm::json::Array sips;
  if (run)
    for (auto [rank, sip] : llvm::enumerate(run->sips))
      sips.push_back(
          llvm::json::Object{{"rank", static_cast<int64_t>(rank)},
                             {"compute_s", sip.computeSeconds},
                             {"dma_s", sip.dmaSeconds},
                             {"collective_s", sip.collectiveSeconds},
                             {"end_s", sip.endSeconds},
                             {"flops", sip.flops},
                             {"dma_bytes", sip.dmaBytes},
                             {"link_bytes_sent", sip.linkBytesSent}});
  report["sips"] = std::move(sips);
  llvm::json::Array collectives;
  if (run)
    for (const CollectiveStats &c : run->collectives)
      collectives.push_back(llvm::json::Object{
          {"op", c.op},
          {"bytes", c.bytes},
          {"bytes_sent_per_rank", c.bytesSentPerRank()},
          {"max_bytes_sent_by_a_rank", c.maxBytesSentByARank()},
          {"lower_bound_bytes_per_rank", c.lowerBoundBytesPerRank()}});
  report["collectives"] = std::move(collectives);
  if (check)
    report["check"] = llvm::json::Object{{"passed", check->passed},
                                         {"max_abs_err", check->maxAbsError},
                                         {"max_rel_err", check->maxRelError},
                                         {"tolerance", check->tolerance}};
  else
    report["check"] = nullptr;
  return std::move(report);
}

void kb::exec::printReport(llvm::raw_ostream &os, const Program &program,
                           const gemm_tile::DeviceDescription &device,
                           const DeviceRun *run,
                           const std::optional<CheckResult> &check) {
  os << "kb-run: " << viewName(program.view) << ", TP world size "
     << program.worldSize << ", device " << device.cubes << " cubes x "
     << device.pesPerCube << " PEs per SIP\n";
  if (run) {
    os << llvm::format("device time: %.3f us\n", run->deviceSeconds * 1e6);
    os << "  rank   compute us       DMA us  collective us       GFLOP    DMA "
          "MB   link MB\n";
    for (auto [rank, sip] : llvm::enumerate(run->sips))
      os << llvm::format("  %4d %12.3f %12.3f %14.3f %11.3f %9.3f %9.3f\n",
                         static_cast<int>(rank), sip.computeSeconds * 1e6,
                         sip.dmaSeconds * 1e6, sip.collectiveSeconds * 1e6,
                         sip.flops / 1e9, sip.dmaBytes / 1e6,
                         sip.linkBytesSent / 1e6);
    for (const CollectiveStats &c : run->collectives) {
      os << llvm::format("  %s of %lld bytes: %.6g bytes sent per rank "
                         "(ring lower bound %.6g)",
                         c.op.c_str(), static_cast<long long>(c.bytes),
                         c.bytesSentPerRank(), c.lowerBoundBytesPerRank());
      if (c.maxBytesSentByARank() != c.bytesSentPerRank())
        os << llvm::format(", at most %lld by one rank",
                           static_cast<long long>(c.maxBytesSentByARank()));
      os << "\n";
    }
  } else {
    os << "no device program ran (the device figures are zero)\n";
  }
  if (check)
    os << llvm::format("check: %s (max abs err %.3g, max rel err %.3g, "
                       "tolerance %.3g)\n",
                       check->passed ? "passed" : "FAILED", check->maxAbsError,
                       check->maxRelError, check->tolerance);
}

llvm::json::Value kb::exec::traceJSON(const DeviceRun &run, int64_t worldSize) {
  llvm::json::Array events;
  std::set<std::pair<int64_t, int64_t>> tracks;
  for (const TraceEvent &e : run.trace) {
    events.push_back(llvm::json::Object{{"name", e.name},
                                        {"ph", "X"},
                                        {"pid", e.rank},
                                        {"tid", e.track},
                                        {"ts", e.start * 1e6},
                                        {"dur", e.duration * 1e6}});
    tracks.insert({e.rank, e.track});
  }
  for (int64_t r = 0; r < worldSize; ++r)
    events.push_back(llvm::json::Object{
        {"name", "process_name"},
        {"ph", "M"},
        {"pid", r},
        {"args", llvm::json::Object{{"name", "SIP " + std::to_string(r)}}}});
  for (auto [rank, track] : tracks)
    events.push_back(llvm::json::Object{
        {"name", "thread_name"},
        {"ph", "M"},
        {"pid", rank},
        {"tid", track},
        {"args",
         llvm::json::Object{{"name", trackName(track, run.pesPerCube)}}}});
  return llvm::json::Object{{"traceEvents", std::move(events)},
                            {"displayTimeUnit", "ns"}};
}

void kb::exec::printResults(llvm::raw_ostream &os,
                            llvm::ArrayRef<HostTensor> results) {
  for (auto [i, t] : llvm::enumerate(results)) {
    double sum = 0;
    for (float v : t.data)
      sum += v;
    os << "result" << i << ": " << runtime::dtypeName(t.dtype) << " "
       << runtime::shapeString(t.shape);
    os << llvm::format(" sum=%.4g", sum);
    if (!t.data.empty())
      os << llvm::format(" first=%.4g last=%.4g", t.data.front(),
                         t.data.back());
    os << "\n";
  }
}
