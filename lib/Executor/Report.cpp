//===- Report.cpp - what kb-run tells its user ----------------------------===//

#include "kb/Executor/Report.h"
#include "kb/Device/CostModel.h"
#include "kb/Executor/OpProfile.h"
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
  case DType::I32:
  case DType::I64:
    return 0; // integers (ids) are exact or wrong
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

/// Element `flat` of a tensor of `shape`, as an index per dimension.
static llvm::SmallVector<int64_t, 2> unflatten(llvm::ArrayRef<int64_t> shape,
                                               int64_t flat) {
  llvm::SmallVector<int64_t, 2> index(shape.size(), 0);
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] > 0) {
      index[d] = flat % shape[d];
      flat /= shape[d];
    }
  }
  return index;
}

/// "element 37 (row 0, col 37)": where to look, in the tensor's own terms.
static std::string elementName(llvm::ArrayRef<int64_t> shape, int64_t flat) {
  std::string text = "element " + std::to_string(flat);
  llvm::SmallVector<int64_t, 2> index = unflatten(shape, flat);
  if (index.size() == 2)
    return text + " (row " + std::to_string(index[0]) + ", col " +
           std::to_string(index[1]) + ")";
  if (index.size() > 2) {
    text += " (index [";
    for (auto [d, i] : llvm::enumerate(index))
      text += (d ? ", " : "") + std::to_string(i);
    text += "])";
  }
  return text;
}

CheckResult kb::exec::compareResults(llvm::ArrayRef<HostTensor> results,
                                     llvm::ArrayRef<HostTensor> references,
                                     int64_t worldSize) {
  CheckResult check;
  double worstRel = 0;
  auto failWith = [&](std::string why, int64_t result,
                      llvm::SmallVector<int64_t, 2> index) {
    if (check.passed) {
      check.worst = std::move(why);
      check.worstResult = result;
      check.worstIndex = std::move(index);
    }
    check.passed = false;
  };
  for (auto [i, pair] : llvm::enumerate(llvm::zip_equal(results, references))) {
    const HostTensor &got = std::get<0>(pair), &want = std::get<1>(pair);
    double tolerance = toleranceFor(want.dtype, worldSize);
    check.tolerance = std::max(check.tolerance, tolerance);
    std::string name = "result " + std::to_string(i);
    if (got.shape != want.shape || got.data.size() != want.data.size()) {
      failWith(name + " has shape " + runtime::shapeString(got.shape) +
                   ", the reference " + runtime::shapeString(want.shape),
               i, {});
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
      failWith(name + " " + elementName(want.shape, j) + " is " +
                   elementText(g) + ", the reference " + elementText(w) +
                   (std::isfinite(w) ? std::string()
                                     : std::string(": a reference that is not "
                                                   "finite cannot be checked")),
               i, unflatten(want.shape, j));
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
        if (check.nonFinite == 0 && rel > worstRel) {
          check.worstResult = i;
          check.worstIndex = unflatten(want.shape, j);
          check.worst = name + " " + elementName(want.shape, j) + ": got " +
                        elementText(g) + ", the reference " + elementText(w) +
                        llvm::formatv(" (error {0:e2} of the largest "
                                      "magnitude {1:e2}, tolerance {2:e2})",
                                      rel, scale, tolerance)
                            .str();
        }
        worstRel = std::max(worstRel, rel);
        check.passed = false;
      }
    }
  }
  if (check.nonFinite)
    check.maxAbsError = check.maxRelError = INFINITY;
  return check;
}

/// A SIP's ring time during which none of its PEs computes.
static double exposedSeconds(const SIPStats &sip) {
  return std::max(0.0, sip.collectiveSeconds - sip.collectiveHiddenSeconds);
}

/// The SIP that ends last (the first of them): its timeline is the device
/// time's.
static const SIPStats &lastSIP(const DeviceRun &run) {
  return *llvm::max_element(run.sips, [](const SIPStats &a, const SIPStats &b) {
    return a.endSeconds < b.endSeconds;
  });
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
  // Whether the times come from the ideal machine (no latency, every unit at
  // its peak rate), a bound rather than a prediction.
  report["device_ideal"] = device.isIdeal();
  report["device_time_s"] = run ? run->deviceSeconds : 0.0;
  llvm::json::Array sips;
  if (run)
    for (auto [rank, sip] : llvm::enumerate(run->sips))
      sips.push_back(llvm::json::Object{
          {"rank", static_cast<int64_t>(rank)},
          {"compute_s", sip.computeSeconds},
          {"dma_s", sip.dmaSeconds},
          {"collective_s", sip.collectiveSeconds},
          {"collective_hidden_s", sip.collectiveHiddenSeconds},
          {"collective_exposed_s", exposedSeconds(sip)},
          {"end_s", sip.endSeconds},
          {"flops", sip.flops},
          {"dma_bytes", sip.dmaBytes},
          {"link_bytes_sent", sip.linkBytesSent}});
  report["sips"] = std::move(sips);
  // The ring time not hidden behind compute on the SIP that ends last, and
  // its share of the device time.
  if (run && !run->sips.empty()) {
    const SIPStats &last = lastSIP(*run);
    report["collective_exposed_s"] = exposedSeconds(last);
    report["collective_exposed_share"] =
        run->deviceSeconds > 0 ? exposedSeconds(last) / run->deviceSeconds
                               : 0.0;
  } else {
    report["collective_exposed_s"] = 0.0;
    report["collective_exposed_share"] = 0.0;
  }
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
  // Where the device time went, by kernel or kb op and layer, on the SIP
  // that ends last (kb/Executor/OpProfile.h); the times sum to the device
  // time.
  llvm::json::Array ops;
  if (run) {
    OpTable table = profileOps(*run);
    report["ops_sip"] = table.rank;
    for (const OpProfile &row : table.rows) {
      const OpSite &site = run->sites[row.site];
      ops.push_back(llvm::json::Object{
          {"op", site.op},
          {"layer", site.layer},
          {"loc", site.where},
          {"device_ops", row.deviceOps},
          {"flops", row.flops},
          {"dma_bytes", row.dmaBytes},
          {"link_bytes", row.linkBytes},
          {"pe_kernels", row.peKernels},
          {"pe_busy_s", row.peSeconds},
          {"dma_busy_s", row.dmaSeconds},
          {"ring_busy_s", row.ringSeconds},
          {"time_s", row.seconds},
          {"share",
           run->deviceSeconds > 0 ? row.seconds / run->deviceSeconds : 0.0}});
    }
  }
  report["ops"] = std::move(ops);
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
        {"tolerance", check->tolerance},
        // Where it failed: the result, the element's index, what was wrong
        // and the first kb op whose result diverges (null when passed or
        // not known).
        {"worst", check->passed
                      ? llvm::json::Value(nullptr)
                      : llvm::json::Value(llvm::json::Object{
                            {"result", check->worstResult},
                            {"index", llvm::json::Array(check->worstIndex)},
                            {"message", check->worst}})},
        {"first_diverging_op",
         check->firstDivergingOp.empty()
             ? llvm::json::Value(nullptr)
             : llvm::json::Value(check->firstDivergingOp)}};
  else
    report["check"] = nullptr;
  return std::move(report);
}

/// The largest rows of the per-op table, as ttrt's perf CSV lists them.
static void printOpTable(llvm::raw_ostream &os, const DeviceRun &run,
                         size_t top = 10) {
  OpTable table = profileOps(run);
  if (table.rows.empty())
    return;
  os << "top ops by device time (SIP " << table.rank << ")"
     << (table.rows.size() > top ? ", " + std::to_string(top) + " of " +
                                       std::to_string(table.rows.size())
                                 : std::string())
     << ":\n";
  os << "   share    time us      PE us     DMA us    ring us    GFLOP   "
        "DMA MB  link MB  op (layer file:line)\n";
  for (const OpProfile &row :
       llvm::ArrayRef(table.rows).take_front(std::min(top, table.rows.size())))
    os << llvm::format("  %5.1f%% %10.3f %10.3f %10.3f %10.3f %8.3f %8.3f "
                       "%8.3f  ",
                       run.deviceSeconds > 0
                           ? 100 * row.seconds / run.deviceSeconds
                           : 0.0,
                       row.seconds * 1e6, row.peSeconds * 1e6,
                       row.dmaSeconds * 1e6, row.ringSeconds * 1e6,
                       row.flops / 1e9, row.dmaBytes / 1e6, row.linkBytes / 1e6)
       << run.sites[row.site].label() << "\n";
}

/// One line on what the device times include: "ideal" when they charge
/// bytes and FLOPs at peak rates only, else the latencies and efficiencies.
static void printDeviceModel(llvm::raw_ostream &os,
                             const gemm_tile::DeviceDescription &device) {
  if (device.isIdeal()) {
    os << "device model: ideal (no latencies, every unit at its peak rate)\n";
    return;
  }
  os << "device model: ring step " << device.ringStepLatencyNs
     << " ns, DMA " << device.dmaLatencyLocalNs << " ns in a cube to "
     << device.dmaLatencyFarCubeNs << " ns at " << farthestCubeHops(device)
     << (farthestCubeHops(device) == 1 ? " hop" : " hops")
     << ", PE kernel launch " << device.kernelLaunchNs
     << llvm::format(" ns; compute at %.1f%%, memory at %.1f%% of peak\n",
                     device.computeEfficiencyPermille / 10.0,
                     device.memoryEfficiencyPermille / 10.0);
}

void kb::exec::printReport(llvm::raw_ostream &os, const Program &program,
                           const gemm_tile::DeviceDescription &device,
                           const DeviceRun *run,
                           const std::optional<CheckResult> &check) {
  os << "kb-run: " << viewName(program.view) << ", TP world size "
     << program.worldSize << ", device " << device.cubes << " cubes x "
     << device.pesPerCube << " PEs per SIP\n";
  printDeviceModel(os, device);
  if (run) {
    os << llvm::format("device time: %.3f us\n", run->deviceSeconds * 1e6);
    if (!run->sips.empty()) {
      const SIPStats &last = lastSIP(*run);
      os << llvm::format(
          "exposed communication: %.3f us of %.3f us ring time not hidden "
          "behind compute, %.1f%% of the device time (SIP %d)\n",
          exposedSeconds(last) * 1e6, last.collectiveSeconds * 1e6,
          run->deviceSeconds > 0
              ? 100 * exposedSeconds(last) / run->deviceSeconds
              : 0.0,
          static_cast<int>(&last - run->sips.data()));
    }
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
    printOpTable(os, *run);
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

/// A slice's category: what kind of engine did the work.
static llvm::StringRef categoryOf(EngineKind engine) {
  switch (engine) {
  case EngineKind::PE:
    return "compute";
  case EngineKind::DMA:
    return "dma";
  case EngineKind::Ring:
    return "collective";
  }
  return "compute";
}

llvm::json::Value kb::exec::traceJSON(const DeviceRun &run, int64_t worldSize,
                                      llvm::ArrayRef<int64_t> ranks) {
  std::set<int64_t> shown(ranks.begin(), ranks.end());
  if (shown.empty())
    for (int64_t r = 0; r < worldSize; ++r)
      shown.insert(r);
  llvm::json::Array events;
  std::set<std::pair<int64_t, int64_t>> tracks;
  // Each shown rank's events together, in the order that rank issued them.
  // How the simulator interleaved the ranks is not part of the schedule: a
  // numeric run goes on past a wait that leaves the host nothing to run,
  // where a cost-only run, which cannot tell, switches ranks.
  std::vector<std::vector<size_t>> byRank(worldSize);
  for (size_t i = 0; i < run.trace.size(); ++i)
    if (shown.count(run.trace[i].rank))
      byRank[run.trace[i].rank].push_back(i);
  std::vector<size_t> order;
  order.reserve(run.trace.size());
  for (std::vector<size_t> &indices : byRank)
    order.insert(order.end(), indices.begin(), indices.end());
  byRank.clear();
  for (size_t i : order) {
    const TraceEvent &e = run.trace[i];
    const OpSite &site = run.sites[e.site];
    llvm::json::Object args{{"op", site.op},
                            {"layer", site.layer},
                            {"loc", site.where},
                            {"flops", e.flops},
                            {"bytes", e.bytes}};
    // The details, when the run kept them (it does when a trace is asked).
    const TraceDetail *detail =
        e.detail >= 0 && static_cast<size_t>(e.detail) < run.details.size()
            ? &run.details[e.detail]
            : nullptr;
    int64_t ringStep = detail ? detail->ringStep : -1;
    if (detail) {
      args["device_op"] = detail->deviceOp;
      args["tile"] = llvm::json::Array(detail->tile);
    }
    if (ringStep >= 0)
      args["ring_step"] = ringStep;
    events.push_back(llvm::json::Object{{"name", site.label()},
                                        {"cat", categoryOf(e.engine)},
                                        {"ph", "X"},
                                        {"pid", e.rank},
                                        {"tid", e.track},
                                        {"ts", e.start * 1e6},
                                        {"dur", e.duration * 1e6},
                                        {"args", std::move(args)}});
    tracks.insert({e.rank, e.track});
    // A ring step sends rank r's chunk to rank r + 1: an arrow from the
    // sender's slice to the receiver's, both shown.
    int64_t to = (e.rank + 1) % worldSize;
    if (ringStep >= 0 && worldSize > 1 && shown.count(to)) {
      int64_t id = ringStep * worldSize + e.rank;
      events.push_back(llvm::json::Object{{"name", "ring send"},
                                          {"cat", "collective"},
                                          {"ph", "s"},
                                          {"id", id},
                                          {"pid", e.rank},
                                          {"tid", e.track},
                                          {"ts", e.start * 1e6}});
      events.push_back(llvm::json::Object{{"name", "ring send"},
                                          {"cat", "collective"},
                                          {"ph", "f"},
                                          {"bp", "e"},
                                          {"id", id},
                                          {"pid", to},
                                          {"tid", e.track},
                                          {"ts", e.start * 1e6}});
    }
  }
  for (int64_t r : shown)
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
