//===- OpProfile.cpp - device time by kb op and layer ---------------------===//

#include "kb/Executor/OpProfile.h"

#include "llvm/Support/Path.h"

#include <algorithm>
#include <map>

using namespace kb;
using namespace kb::exec;

std::string OpSite::label() const {
  std::string origin = layer;
  if (!where.empty()) {
    if (!origin.empty())
      origin += " ";
    // The file's name, not its directory: slice names stay short.
    origin += llvm::sys::path::filename(where).str();
  }
  return origin.empty() ? op : op + " (" + origin + ")";
}

OpTable kb::exec::profileOps(const DeviceRun &run) {
  OpTable table;
  for (auto [rank, sip] : llvm::enumerate(run.sips))
    if (sip.endSeconds >= run.deviceSeconds) {
      table.rank = rank;
      break;
    }
  std::vector<const TraceEvent *> events;
  for (const TraceEvent &e : run.trace)
    if (e.rank == table.rank)
      events.push_back(&e);
  std::stable_sort(events.begin(), events.end(),
                   [](const TraceEvent *a, const TraceEvent *b) {
                     return a->start < b->start;
                   });

  std::map<int64_t, OpProfile> rows;
  auto row = [&](int64_t site) -> OpProfile & {
    OpProfile &r = rows[site];
    r.site = site;
    return r;
  };
  for (const TraceEvent *e : events) {
    OpProfile &r = row(e->site);
    ++r.deviceOps;
    r.flops += e->flops;
    switch (e->engine) {
    case EngineKind::PE:
      ++r.peKernels;
      r.peSeconds += e->duration;
      break;
    case EngineKind::DMA:
      r.dmaBytes += e->bytes;
      r.dmaSeconds += e->duration;
      break;
    case EngineKind::Ring:
      r.linkBytes += e->bytes;
      r.ringSeconds += e->duration;
      break;
    }
  }

  // Sweep the SIP's timeline from 0 to the device time over the instants
  // where an event starts or ends; `active` holds the events running.
  std::vector<double> cuts{0, run.deviceSeconds};
  for (const TraceEvent *e : events) {
    cuts.push_back(e->start);
    cuts.push_back(e->start + e->duration);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<const TraceEvent *> active;
  size_t next = 0; // the first event not yet started
  double idle = 0;
  for (size_t i = 0; i + 1 < cuts.size() && cuts[i] < run.deviceSeconds; ++i) {
    double from = cuts[i], to = std::min(cuts[i + 1], run.deviceSeconds);
    llvm::erase_if(active, [&](const TraceEvent *e) {
      return e->start + e->duration <= from;
    });
    while (next < events.size() && events[next]->start <= from) {
      if (events[next]->start + events[next]->duration > from)
        active.push_back(events[next]);
      ++next;
    }
    double length = to - from;
    if (!active.empty()) {
      for (const TraceEvent *e : active)
        row(e->site).seconds += length / active.size();
    } else if (next < events.size()) {
      // Nothing runs: the SIP waits for what starts next (a ring step the
      // other SIPs have not reached, an engine's queue).
      row(events[next]->site).seconds += length;
    } else {
      idle += length;
    }
  }
  for (auto &[site, r] : rows)
    table.rows.push_back(r);
  // The SIP's timeline ends before the device time only when another SIP
  // ended later, and that SIP is the one profiled; time past its last event
  // goes to its last op.
  if (idle > 0 && !events.empty())
    for (OpProfile &r : table.rows)
      if (r.site == events.back()->site)
        r.seconds += idle;
  std::stable_sort(table.rows.begin(), table.rows.end(),
                   [](const OpProfile &a, const OpProfile &b) {
                     return a.seconds > b.seconds;
                   });
  return table;
}
