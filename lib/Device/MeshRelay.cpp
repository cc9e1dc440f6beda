//===- MeshRelay.cpp - many cubes gathering one region over a mesh --------===//

#include "kb/Device/MeshRelay.h"

#include "kb/Device/CostModel.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"

#include <limits>
#include <optional>
#include <queue>
#include <tuple>

using namespace kb;

namespace {

/// The copies that bring `part` into `cube`: from each relay in its column
/// that holds some of it, then from each piece whose part no relay copy
/// covers (the replica in `cube` if there is one, else the first).
llvm::SmallVector<RelayCopy>
sourcesOf(llvm::ArrayRef<HeldBox> pieces,
          llvm::ArrayRef<MeshRelayPlan::Relay> relays, int64_t cols,
          int64_t cube, const Box &part, unsigned target, bool inPlace) {
  // At most one copy a relay and one a piece: reserved at once, since
  // growing moved every copy's boxes again (a few percent of kb-place).
  llvm::SmallVector<RelayCopy> result;
  result.reserve(relays.size() + pieces.size());
  llvm::SmallVector<Box> relayed;
  for (auto [index, r] : llvm::enumerate(relays)) {
    if (r.cube % cols != cube % cols)
      continue;
    if (std::optional<Box> overlap = r.box.intersect(part)) {
      result.push_back(
          {r.cube, cube, true, static_cast<unsigned>(index), target, *overlap});
      relayed.push_back(*overlap);
    }
  }
  for (auto [index, p] : llvm::enumerate(pieces)) {
    std::optional<Box> overlap = p.box.intersect(part);
    if (!overlap || llvm::any_of(relayed, [&](const Box &b) {
          return b.contains(*overlap);
        }))
      continue;
    if (inPlace && llvm::is_contained(p.cubes, cube))
      continue;
    int64_t from = llvm::is_contained(p.cubes, cube) ? cube : p.cubes.front();
    result.push_back(
        {from, cube, false, static_cast<unsigned>(index), target, *overlap});
  }
  return result;
}

/// `region` cut into `parts` boxes along its first dimension of at least
/// `parts` elements (whole when there is none): equal regions are cut alike,
/// so a forwarded part is the part it forwards.
llvm::SmallVector<Box> partsOf(const Box &region, unsigned parts) {
  llvm::SmallVector<Box> result;
  auto *dim = llvm::find_if(region.sizes,
                            [&](int64_t size) { return size >= parts; });
  if (parts <= 1 || dim == region.sizes.end()) {
    result.push_back(region);
    return result;
  }
  size_t d = dim - region.sizes.begin();
  int64_t size = *dim;
  for (unsigned m = 0; m < parts; ++m) {
    Box part = region;
    int64_t lo = size * m / parts, hi = size * (m + 1) / parts;
    part.offsets[d] += lo;
    part.sizes[d] = hi - lo;
    result.push_back(std::move(part));
  }
  return result;
}

/// For each copy of a wave (a gather's, `alongRows`, or a delivery's), the
/// copy it would forward hop by hop, or -1; empty when no copy would. A copy
/// more than one hop along its mesh row (a gather's, from a piece) or
/// column (a delivery's, from a relay) whose source the cube one hop nearer
/// also takes (the same region, into its relay or request) can be forwarded
/// from there. Found once per wave: placement plans relays for every
/// candidate it prices.
llvm::SmallVector<int> forwardsOf(const DeviceDescription &device,
                                  llvm::ArrayRef<RelayCopy> wave,
                                  bool alongRows) {
  int64_t cols = device.meshCols;
  // A gather takes pieces, a delivery relays: the copies from each source
  // into each cube, to find a neighbour's.
  auto fromSource = [&](const RelayCopy &c) {
    return alongRows ? !c.fromRelay && !c.fromRequest : c.fromRelay;
  };
  llvm::DenseMap<std::pair<unsigned, int64_t>, llvm::SmallVector<unsigned, 2>>
      bySourceAndCube;
  for (auto [i, c] : llvm::enumerate(wave))
    if (fromSource(c))
      bySourceAndCube[{c.source, c.to}].push_back(unsigned(i));
  llvm::SmallVector<int> forwards(wave.size(), -1);
  bool any = false;
  for (auto [i, c] : llvm::enumerate(wave)) {
    bool onItsLine = alongRows ? c.from / cols == c.to / cols
                               : c.from % cols == c.to % cols;
    if (!fromSource(c) || !onItsLine || cubeHops(device, c.from, c.to) < 2)
      continue;
    int64_t step = alongRows ? 1 : cols;
    int64_t nearer = c.to + (c.from > c.to ? step : -step);
    auto it = bySourceAndCube.find({c.source, nearer});
    if (it == bySourceAndCube.end())
      continue;
    for (unsigned j : it->second)
      if (wave[j].region == c.region) {
        forwards[i] = int(j);
        any = true;
        break;
      }
  }
  if (!any)
    forwards.clear();
  return forwards;
}

/// `wave` (a gather's, `alongRows`, or a delivery's) relayed hop by hop in
/// `parts` parts (see MeshRelayPlan::deliver), each copy with a forward
/// (`forwards`, from forwardsOf) forwarded from the cube one hop nearer,
/// part by part. The copies are ordered as a rank issuing them runs best:
/// the others first (on each engine, the ones the most forwarding waits for
/// first), then each forwarded part as soon as the part it forwards is in,
/// the rank waiting for it. Replayed on `before` (the copies that end before
/// the wave starts); returns the copies and the replay.
std::pair<llvm::SmallVector<RelayCopy>, CopySchedule>
hopByHop(const DeviceDescription &device, llvm::ArrayRef<RelayCopy> wave,
         llvm::ArrayRef<int> forwards, bool alongRows,
         const CopySchedule &before, unsigned parts, double elementBytes) {
  size_t n = wave.size();
  llvm::SmallVector<bool> forwarded(n, false);
  for (int j : forwards)
    if (j >= 0)
      forwarded[j] = true;

  // The copies cut into parts: a chain's (forwarding or forwarded), one
  // node a part; the others whole.
  struct Node {
    RelayCopy copy;
    int dep = -1;     // the node whose part this one forwards
    int depth = 0;    // how many forwards follow this part along its line
    unsigned part = 0;
    llvm::SmallVector<unsigned, 1> next;
  };
  llvm::SmallVector<Node> nodes;
  nodes.reserve(n * parts);
  llvm::SmallVector<unsigned> firstNode(n);
  // A forwarded copy's source is nearer, so it comes earlier in the
  // nearest-first wave, and its nodes are made first.
  for (auto [i, c] : llvm::enumerate(wave)) {
    firstNode[i] = unsigned(nodes.size());
    bool chain = forwards[i] >= 0 || forwarded[i];
    llvm::SmallVector<Box> boxes =
        chain ? partsOf(c.region, parts) : llvm::SmallVector<Box>{c.region};
    for (auto [m, box] : llvm::enumerate(boxes)) {
      Node node;
      node.copy = c;
      node.copy.region = std::move(box);
      node.part = unsigned(m);
      if (forwards[i] >= 0) {
        // Out of the relay (a gather) or the request (a delivery) that
        // the nearer cube's copy fills.
        const RelayCopy &from = wave[forwards[i]];
        node.copy.from = from.to;
        node.copy.fromRelay = alongRows;
        node.copy.fromRequest = !alongRows;
        node.copy.source = from.target;
        node.dep = int(firstNode[forwards[i]] + m);
        nodes[node.dep].next.push_back(unsigned(nodes.size()));
      }
      nodes.push_back(std::move(node));
    }
  }
  for (size_t i = nodes.size(); i-- > 0;)
    if (nodes[i].dep >= 0)
      nodes[nodes[i].dep].depth =
          std::max(nodes[nodes[i].dep].depth, nodes[i].depth + 1);

  // Issued in the order of when each can start: the copies from the
  // sources at once, a forwarded part when its source part ends.
  CopySchedule schedule = before;
  double clock = schedule.seconds();
  using Ready = std::tuple<double, int, unsigned, unsigned>;
  std::priority_queue<Ready, std::vector<Ready>, std::greater<Ready>> ready;
  for (auto [i, node] : llvm::enumerate(nodes))
    if (node.dep < 0)
      ready.push({clock, -node.depth, node.part, unsigned(i)});
  llvm::SmallVector<int> position(nodes.size(), -1);
  llvm::SmallVector<double> ends(nodes.size(), 0);
  llvm::SmallVector<RelayCopy> order;
  order.reserve(nodes.size());
  // When the part the last copy issued forwards ended, if it forwards one.
  double lastWaitedEnd = -1;
  while (!ready.empty()) {
    auto [at, negDepth, part, i] = ready.top();
    ready.pop();
    clock = std::max(clock, at);
    Node &node = nodes[i];
    if (node.dep >= 0) {
      node.copy.after = position[node.dep];
      // The mesh's columns (rows) run alike, so parts often arrive at once:
      // one wait covers them (a wait costs kb-run a pass over the rank's
      // pending accesses), and nothing issues earlier or later for it.
      node.copy.joinsWait = lastWaitedEnd == ends[node.dep];
      lastWaitedEnd = ends[node.dep];
    } else {
      lastWaitedEnd = -1;
    }
    position[i] = int(order.size());
    ends[i] =
        schedule.add(node.copy.from, node.copy.to,
                     double(node.copy.region.numElements()) * elementBytes,
                     clock);
    order.push_back(std::move(node.copy));
    for (unsigned next : node.next)
      ready.push({ends[i], -nodes[next].depth, nodes[next].part, next});
  }
  return {std::move(order), std::move(schedule)};
}

} // namespace

MeshRelayPlan
kb::planMeshRelay(const DeviceDescription &device,
                  llvm::ArrayRef<HeldBox> pieces,
                  llvm::ArrayRef<std::pair<int64_t, Box>> requests,
                  double elementBytes, int64_t maxCubes, bool inPlace) {
  MeshRelayPlan plan;
  int64_t cols = device.meshCols;
  // A full mesh of more than one row: every cube then has a cube of each
  // row in its column.
  if (cols <= 0 || device.cubes <= cols || device.cubes % cols != 0 ||
      device.cubes > maxCubes || pieces.empty())
    return plan;
  auto bytes = [&](const Box &b) {
    return double(b.numElements()) * elementBytes;
  };
  for (const auto &request : requests) {
    const auto &[cube, box] = request;
    bool held = llvm::any_of(pieces, [&](const HeldBox &p) {
      return llvm::is_contained(p.cubes, cube) && p.box.contains(box);
    });
    if (!held && !llvm::is_contained(plan.requests, request))
      plan.requests.push_back(request);
  }

  // The relays: for a request taking two or more pieces from another row,
  // that row's cube in the request's column gathers them, when together they
  // make one box (one copy moves it on). Each request's direct copies are
  // kept for the replay below: placement plans relays for every candidate
  // it prices, so they are found once.
  llvm::SmallVector<llvm::SmallVector<RelayCopy>> directCopies;
  directCopies.reserve(plan.requests.size());
  for (auto [index, request] : llvm::enumerate(plan.requests)) {
    const auto &[cube, box] = request;
    directCopies.push_back(sourcesOf(pieces, {}, cols, cube, box,
                                     static_cast<unsigned>(index), inPlace));
    const llvm::SmallVector<RelayCopy> &direct = directCopies.back();
    for (int64_t row = 0; row < device.cubes / cols; ++row) {
      if (row == cube / cols)
        continue;
      llvm::SmallVector<const RelayCopy *> parts;
      for (const RelayCopy &c : direct)
        if (c.from / cols == row)
          parts.push_back(&c);
      if (parts.size() < 2)
        continue;
      Box all = parts.front()->region;
      double volume = 0;
      for (const RelayCopy *c : parts) {
        volume += double(c->region.numElements());
        for (size_t d = 0; d < all.sizes.size(); ++d) {
          int64_t lo = std::min(all.offsets[d], c->region.offsets[d]);
          int64_t hi = std::max(all.offsets[d] + all.sizes[d],
                                c->region.offsets[d] + c->region.sizes[d]);
          all.offsets[d] = lo;
          all.sizes[d] = hi - lo;
        }
      }
      if (volume != double(all.numElements()))
        continue;
      int64_t relayCube = row * cols + cube % cols;
      if (llvm::none_of(plan.relays, [&](const MeshRelayPlan::Relay &r) {
            return r.cube == relayCube && r.box == all;
          }))
        plan.relays.push_back({relayCube, all});
    }
  }
  if (plan.relays.empty())
    return plan;

  // Each wave nearest first: a copy holds every link of its route, so the
  // one-hop copies (on disjoint links) go first and longer ones queue behind
  // them, instead of a far copy issued early blocking the near ones' links
  // (in request order the layer's residual relay took 2.5 times as long on
  // the 4 x 4 mesh).
  // (A stable sort on hops counted once per copy: the comparator counting
  // them was most of a plan's time.)
  auto nearestFirst = [&](llvm::SmallVector<RelayCopy> &copies) {
    llvm::SmallVector<std::pair<int64_t, unsigned>> order;
    order.reserve(copies.size());
    for (auto [i, c] : llvm::enumerate(copies))
      order.push_back({cubeHops(device, c.from, c.to), unsigned(i)});
    llvm::stable_sort(order, llvm::less_first());
    llvm::SmallVector<RelayCopy> sorted;
    sorted.reserve(copies.size());
    for (const auto &[hops, i] : order)
      sorted.push_back(std::move(copies[i]));
    copies = std::move(sorted);
  };
  for (auto [index, r] : llvm::enumerate(plan.relays))
    plan.gather.append(sourcesOf(pieces, {}, cols, r.cube, r.box,
                                 static_cast<unsigned>(index),
                                 /*inPlace=*/false));
  nearestFirst(plan.gather);
  for (auto [index, request] : llvm::enumerate(plan.requests))
    plan.deliver.append(sourcesOf(pieces, plan.relays, cols, request.first,
                                  request.second, static_cast<unsigned>(index),
                                  inPlace));
  nearestFirst(plan.deliver);

  // Both replayed as kb-run runs them: the direct copies in the order the
  // requests' own staging issues them, against gather, a wait, deliver.
  CopySchedule direct(device), gathered(device);
  for (const llvm::SmallVector<RelayCopy> &copies : directCopies)
    for (const RelayCopy &c : copies)
      direct.add(c.from, c.to, bytes(c.region));
  plan.directSeconds = direct.seconds();
  for (const RelayCopy &c : plan.gather)
    gathered.add(c.from, c.to, bytes(c.region));

  // Each wave hop by hop, in the parts that replay fastest, where that beats
  // its copies sent straight (short waves, all latency, may keep them:
  // forwarding pays a copy's latency per hop and part). The time is about
  // convex in the parts (each part more pays a latency per hop, and shortens
  // the pipeline's fill), so the doubling stops at the first that does not
  // help: placement makes a plan for every candidate it prices. The wave
  // ends with a wait, so the delivery's replay only starts later.
  auto fastest = [&](llvm::SmallVector<RelayCopy> &wave, bool alongRows,
                     const CopySchedule &before, double straight,
                     std::optional<CopySchedule> &replayed) {
    unsigned chosen = 0;
    llvm::SmallVector<int> forwards = forwardsOf(device, wave, alongRows);
    if (forwards.empty())
      return chosen;
    llvm::SmallVector<RelayCopy> best;
    double previous = std::numeric_limits<double>::infinity();
    for (unsigned parts : {1u, 2u, 4u, 8u}) {
      auto [copies, replay] = hopByHop(device, wave, forwards, alongRows,
                                       before, parts, elementBytes);
      if (replay.seconds() >= previous)
        break;
      previous = replay.seconds();
      if (replay.seconds() < straight) {
        straight = replay.seconds();
        chosen = parts;
        best = std::move(copies);
        replayed.reset();
        replayed.emplace(std::move(replay));
      }
    }
    if (chosen > 0)
      wave = std::move(best);
    return chosen;
  };
  std::optional<CopySchedule> hopGathered, hopRelayed;
  plan.gatherChunks = fastest(plan.gather, /*alongRows=*/true,
                              CopySchedule(device), gathered.seconds(),
                              hopGathered);
  const CopySchedule &afterGather = hopGathered ? *hopGathered : gathered;
  plan.gatheredSeconds = afterGather.seconds();
  CopySchedule relayed = afterGather;
  for (const RelayCopy &c : plan.deliver)
    relayed.add(c.from, c.to, bytes(c.region), plan.gatheredSeconds);
  plan.chunks = fastest(plan.deliver, /*alongRows=*/false, afterGather,
                        relayed.seconds(), hopRelayed);
  plan.relayedSeconds =
      hopRelayed ? hopRelayed->seconds() : relayed.seconds();
  return plan;
}
