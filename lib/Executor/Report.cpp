//===- Report.cpp - what kb-run tells its user ----------------------------===//

#include "kb/Executor/Report.h"
#include "kb/Version.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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
  int64_t reduce = reduceBytes ? reduceBytes : bytes;
  int64_t sent = (reduces ? reduce : 0) + (gathers ? bytes : 0);
  return w == 0 ? 0 : static_cast<double>((w - 1) * sent) / w;
}

double kb::exec::toleranceFor(DType dtype, int64_t worldSize) {
  // Relative to the tensor's largest magnitude. A TP program rounds partial
  // sums that the unsharded one does not, a few roundings deep; a missing
  // bias or a wrong slice moves results by the size of the data itself, far
  // above these. docs/design/0007 has the derivation.
  switch (dtype) {
  case DType::F32:
    return 1e-4;
  case DType::F16: {
    // f16 keeps 11 significant bits (unit roundoff u = 2^-11). The ring
    // rounds each partial sum to f16 at each of its W - 1 steps; the
    // roundings are independent, so their sum grows like sqrt(W - 1) u, and
    // 4 standard deviations of it stay under this bound for every element.
    double ring =
        4 *
        std::sqrt(static_cast<double>(std::max<int64_t>(worldSize - 1, 0))) *
        std::ldexp(1.0, -11);
    return std::max(1e-2, ring);
  }
  case DType::BF16:
    // bf16 keeps 8 significant bits; the ring accumulates bf16 partial sums
    // in f32 (0006), so only the final rounding and the products' remain,
    // whatever W.
    return 3e-2;
  }
  return 1e-2;
}

/// The element as text, for messages.
static std::string elementText(float v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

CheckResult kb::exec::compareResults(llvm::ArrayRef<HostTensor> results,
                                     llvm::ArrayRef<HostTensor> references,
                                     int64_t worldSize) {
  CheckResult check;
  double worstRel = 0;
  auto failWith = [&](std::string why) {
    if (check.passed)
      check.worst = std::move(why);
    check.passed = false;
  };
  for (auto [i, pair] : llvm::enumerate(llvm::zip_equal(results, references))) {
    const HostTensor &got = std::get<0>(pair), &want = std::get<1>(pair);
    double tolerance = toleranceFor(want.dtype, worldSize);
    check.tolerance = std::max(check.tolerance, tolerance);
    std::string name = "result " + std::to_string(i);
    if (got.shape != want.shape || got.data.size() != want.data.size()) {
      failWith(name + " has shape " + runtime::shapeString(got.shape) +
               ", the reference " + runtime::shapeString(want.shape));
      continue;
    }
    // A result that is not finite is never right, and a reference that is
    // not finite cannot vouch for anything: NaN equals nothing (not even
    // NaN), and an Inf in the scale would make every relative error 0.
    double scale = 0;
    for (size_t j = 0; j < want.data.size(); ++j) {
      float g = got.data[j], w = want.data[j];
      if (std::isfinite(g) && std::isfinite(w)) {
        scale = std::max(scale, static_cast<double>(std::fabs(w)));
        continue;
      }
      ++check.nonFinite;
      failWith(name + " element " + std::to_string(j) + " is " +
               elementText(g) + ", the reference " + elementText(w) +
               (std::isfinite(w) ? std::string()
                                 : std::string(": a reference that is not "
                                               "finite cannot be checked")));
    }
    if (scale == 0)
      scale = 1;
    for (size_t j = 0; j < got.data.size(); ++j) {
      float g = got.data[j], w = want.data[j];
      if (!std::isfinite(g) || !std::isfinite(w))
        continue;
      double abs = std::fabs(static_cast<double>(g) - w);
      double rel = abs / scale;
      check.maxAbsError = std::max(check.maxAbsError, abs);
      check.maxRelError = std::max(check.maxRelError, rel);
      if (rel > tolerance) {
        // The element furthest off names the failure, unless one that is
        // not finite already does.
        if (check.nonFinite == 0 && rel > worstRel)
          check.worst = name + " element " + std::to_string(j) + ": got " +
                        elementText(g) + ", the reference " + elementText(w) +
                        llvm::formatv(" (error {0:e2} of the largest "
                                      "magnitude {1:e2}, tolerance {2:e2})",
                                      rel, scale, tolerance)
                            .str();
        worstRel = std::max(worstRel, rel);
        check.passed = false;
      }
    }
  }
  if (check.nonFinite)
    check.maxAbsError = check.maxRelError = INFINITY;
  return check;
}

llvm::json::Value kb::exec::reportJSON(
    const Program &program, const gemm_tile::DeviceDescription &device,
    const DeviceRun *run, const std::optional<CheckResult> &check) {
  llvm::json::Object report;
  // Which kb (and commit, and LLVM) produced these figures.
  report["version"] = kb::versionString();
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
          {"dim", c.dim >= 0 ? llvm::json::Value(c.dim) : nullptr},
          {"pieces", c.pieces},
          {"location", c.location},
          {"bytes", c.bytes},
          {"reduce_bytes",
           c.reduces ? (c.reduceBytes ? c.reduceBytes : c.bytes) : 0},
          {"bytes_sent_per_rank", c.bytesSentPerRank()},
          {"max_bytes_sent_by_a_rank", c.maxBytesSentByARank()},
          {"lower_bound_bytes_per_rank", c.lowerBoundBytesPerRank()}});
  report["collectives"] = std::move(collectives);
  if (check)
    report["check"] = llvm::json::Object{
        {"passed", check->passed},
        // JSON has no Inf: null stands for an error that is not finite.
        {"max_abs_err", std::isfinite(check->maxAbsError)
                            ? llvm::json::Value(check->maxAbsError)
                            : llvm::json::Value(nullptr)},
        {"max_rel_err", std::isfinite(check->maxRelError)
                            ? llvm::json::Value(check->maxRelError)
                            : llvm::json::Value(nullptr)},
        {"non_finite", check->nonFinite},
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
      os << "  " << c.op;
      if (c.dim >= 0)
        os << " along " << c.dim;
      os << llvm::format(" of %lld bytes: %.6g bytes sent per rank "
                         "(ring lower bound %.6g)",
                         static_cast<long long>(c.bytes),
                         c.bytesSentPerRank(), c.lowerBoundBytesPerRank());
      if (c.maxBytesSentByARank() != c.bytesSentPerRank())
        os << llvm::format(", at most %lld by one rank",
                           static_cast<long long>(c.maxBytesSentByARank()));
      os << "\n";
    }
  } else {
    os << "no device program ran (the device figures are zero)\n";
  }
  if (check) {
    os << llvm::format("check: %s (max abs err %.3g, max rel err %.3g, "
                       "tolerance %.3g",
                       check->passed ? "passed" : "FAILED", check->maxAbsError,
                       check->maxRelError, check->tolerance);
    if (check->nonFinite)
      os << ", " << check->nonFinite << " elements not finite";
    os << ")\n";
  }
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
