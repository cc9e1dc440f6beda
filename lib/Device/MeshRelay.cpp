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

/// The dimension partsOf cuts `region` along for `parts` parts: its first
/// of at least `parts` elements; -1 when it is not cut (one part, or no
/// dimension that long).
int cutDimension(const Box &region, unsigned parts) {
  if (parts <= 1)
    return -1;
  auto *dim = llvm::find_if(region.sizes,
                            [&](int64_t size) { return size >= parts; });
  return dim == region.sizes.end() ? -1 : dim - region.sizes.begin();
}

/// `region` cut into `parts` boxes along cutDimension (whole when there is
/// none), into `result`: equal regions are cut alike, so a forwarded part
/// is the part it forwards. (Into the caller's vector: a vector of boxes per
/// copy was a heap allocation per copy and replay.)
void partsOf(const Box &region, unsigned parts,
             llvm::SmallVectorImpl<Box> &result) {
  result.clear();
  int d = cutDimension(region, parts);
  if (d < 0) {
    result.push_back(region);
    return;
  }
  int64_t size = region.sizes[d];
  for (unsigned m = 0; m < parts; ++m) {
    Box part = region;
    int64_t lo = size * m / parts, hi = size * (m + 1) / parts;
    part.offsets[d] += lo;
    part.sizes[d] = hi - lo;
    result.push_back(std::move(part));
  }
}

/// The elements of each of partsOf(`region`, `parts`), into `result`: a
/// replay needs only the parts' sizes, not their boxes.
void partElements(const Box &region, unsigned parts,
                  llvm::SmallVectorImpl<int64_t> &result) {
  result.clear();
  int d = cutDimension(region, parts);
  if (d < 0) {
    result.push_back(region.numElements());
    return;
  }
  int64_t size = region.sizes[d];
  Box part{{}, region.sizes};
  for (unsigned m = 0; m < parts; ++m) {
    part.sizes[d] = size * (m + 1) / parts - size * m / parts;
    result.push_back(part.numElements());
  }
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

/// One copy of a hop-by-hop wave as a rank issues it: part `part` of the
/// wave's copy `copy` (the whole copy when it is not cut), and the RelayCopy
/// fields the order sets.
struct IssuedPart {
  unsigned copy;
  unsigned part;
  int after;
};

/// A replay of a wave hop by hop: its schedule, and the order of the parts.
struct HopReplay {
  CopySchedule schedule;
  llvm::SmallVector<IssuedPart> order;
};

/// `wave` (a gather's, `alongRows`, or a delivery's) relayed hop by hop in
/// `parts` parts (see MeshRelayPlan::deliver), each copy with a forward
/// (`forwards`, from forwardsOf) forwarded from the cube one hop nearer,
/// part by part. The copies are ordered as a rank issuing them runs best:
/// the others first (on each engine, the ones the most forwarding waits for
/// first), then each forwarded part as soon as the part it forwards is in
/// (ordered after it). Replayed on `before` (the copies that end before
/// the wave starts); returns the replay, whose order hopByHopCopies turns
/// into copies. (Only the fastest of the replays becomes copies: making each
/// part's RelayCopy, two boxes each, for every replay was most of the
/// replays' cost.) None, without a replay, when the busiest destination's
/// engine, which runs its copies one after another, shows the replay would
/// take at least `noFasterThan`.
std::optional<HopReplay>
hopByHop(const DeviceDescription &device, llvm::ArrayRef<RelayCopy> wave,
         llvm::ArrayRef<int> forwards, const CopySchedule &before,
         unsigned parts, double elementBytes, double noFasterThan) {
  size_t n = wave.size();
  llvm::SmallVector<bool> forwarded(n, false);
  for (int j : forwards)
    if (j >= 0)
      forwarded[j] = true;

  // The copies cut into parts: a chain's (forwarding or forwarded), one
  // node a part; the others whole.
  struct Node {
    unsigned copy;
    unsigned part;
    int64_t from;
    double bytes;
    int dep = -1;  // the node whose part this one forwards
    int depth = 0; // how many forwards follow this part along its line
    llvm::SmallVector<unsigned, 1> next;
  };
  llvm::SmallVector<Node> nodes;
  nodes.reserve(n * parts);
  llvm::SmallVector<unsigned> firstNode(n);
  llvm::SmallVector<int64_t, 8> elements;
  // A forwarded copy's source is nearer, so it comes earlier in the
  // nearest-first wave, and its nodes are made first.
  for (auto [i, c] : llvm::enumerate(wave)) {
    firstNode[i] = unsigned(nodes.size());
    bool chain = forwards[i] >= 0 || forwarded[i];
    partElements(c.region, chain ? parts : 1, elements);
    for (auto [m, count] : llvm::enumerate(elements)) {
      Node node;
      node.copy = unsigned(i);
      node.part = unsigned(m);
      // Out of the relay (a gather) or the request (a delivery) that the
      // nearer cube's copy fills.
      node.from = forwards[i] >= 0 ? wave[forwards[i]].to : c.from;
      node.bytes = double(count) * elementBytes;
      if (forwards[i] >= 0) {
        node.dep = int(firstNode[forwards[i]] + m);
        nodes[node.dep].next.push_back(unsigned(nodes.size()));
      }
      nodes.push_back(std::move(node));
    }
  }

  // Each engine runs its copies one after another, from when it is free or
  // the wave starts, whichever is later: the busiest one bounds the replay
  // from below. (A replay in more parts mostly adds a latency a part to
  // each engine, so the doubling's last replay often need not be made. The
  // bound adds in another order than the replay: the margin covers the
  // rounding, so the replays choose as without it.)
  double clock = before.seconds();
  if (noFasterThan < std::numeric_limits<double>::infinity()) {
    llvm::SmallVector<double, 16> busy(size_t(device.cubes), -1);
    double atLeast = clock;
    for (const Node &node : nodes) {
      int64_t to = wave[node.copy].to;
      double &engine = busy[size_t(to)];
      if (engine < 0)
        engine = std::max(clock, before.secondsInto(to));
      engine += dmaSeconds(device, node.bytes, node.from, to);
      atLeast = std::max(atLeast, engine);
    }
    if (atLeast * (1 - 1e-9) >= noFasterThan)
      return std::nullopt;
  }

  for (size_t i = nodes.size(); i-- > 0;)
    if (nodes[i].dep >= 0)
      nodes[nodes[i].dep].depth =
          std::max(nodes[nodes[i].dep].depth, nodes[i].depth + 1);

  // Issued in the order of when each can start: the copies from the
  // sources at once, a forwarded part when its source part ends.
  HopReplay result{before, {}};
  CopySchedule &schedule = result.schedule;
  using Ready = std::tuple<double, int, unsigned, unsigned>;
  std::vector<Ready> heap;
  heap.reserve(nodes.size());
  std::priority_queue<Ready, std::vector<Ready>, std::greater<Ready>> ready(
      std::greater<Ready>(), std::move(heap));
  for (auto [i, node] : llvm::enumerate(nodes))
    if (node.dep < 0)
      ready.push({clock, -node.depth, node.part, unsigned(i)});
  llvm::SmallVector<int> position(nodes.size(), -1);
  llvm::SmallVector<double> ends(nodes.size(), 0);
  llvm::SmallVector<IssuedPart> &order = result.order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    auto [at, negDepth, part, i] = ready.top();
    ready.pop();
    clock = std::max(clock, at);
    const Node &node = nodes[i];
    // A forwarded part is issued once the part it forwards is in: the
    // lowering orders it after that copy (gemm_tile.dma's `after`), and its
    // engine starts it then at the earliest.
    IssuedPart issued{node.copy, node.part, -1};
    if (node.dep >= 0)
      issued.after = position[node.dep];
    position[i] = int(order.size());
    ends[i] = schedule.add(node.from, wave[node.copy].to, node.bytes, clock);
    order.push_back(issued);
    for (unsigned next : node.next)
      ready.push({ends[i], -nodes[next].depth, nodes[next].part, next});
  }
  return result;
}

/// The copies of hopByHop's `order` for `wave` in `parts` parts.
llvm::SmallVector<RelayCopy> hopByHopCopies(llvm::ArrayRef<RelayCopy> wave,
                                            llvm::ArrayRef<int> forwards,
                                            bool alongRows, unsigned parts,
                                            llvm::ArrayRef<IssuedPart> order) {
  llvm::SmallVector<bool> forwarded(wave.size(), false);
  for (int j : forwards)
    if (j >= 0)
      forwarded[j] = true;
  llvm::SmallVector<RelayCopy> copies;
  copies.reserve(order.size());
  llvm::SmallVector<Box, 8> boxes;
  for (const IssuedPart &issued : order) {
    unsigned i = issued.copy;
    RelayCopy copy = wave[i];
    bool chain = forwards[i] >= 0 || forwarded[i];
    partsOf(wave[i].region, chain ? parts : 1, boxes);
    copy.region = std::move(boxes[issued.part]);
    if (forwards[i] >= 0) {
      const RelayCopy &from = wave[forwards[i]];
      copy.from = from.to;
      copy.fromRelay = alongRows;
      copy.fromRequest = !alongRows;
      copy.source = from.target;
    }
    copy.after = issued.after;
    copies.push_back(std::move(copy));
  }
  return copies;
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
    // Named, not a structured binding: the lambda below captures them.
    int64_t cube = request.first;
    const Box &box = request.second;
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
  // requests' own staging issues them, against gather, then deliver.
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
  // help: placement makes a plan for every candidate it prices. The
  // delivery's replay starts when the gather's ends (the lowering's
  // deliveries may start sooner, each after the gather copies it reads).
  auto fastest = [&](llvm::SmallVector<RelayCopy> &wave, bool alongRows,
                     const CopySchedule &before, double straight,
                     std::optional<CopySchedule> &replayed) {
    unsigned chosen = 0;
    llvm::SmallVector<int> forwards = forwardsOf(device, wave, alongRows);
    if (forwards.empty())
      return chosen;
    llvm::SmallVector<IssuedPart> best;
    double previous = std::numeric_limits<double>::infinity();
    for (unsigned parts : {1u, 2u, 4u, 8u}) {
      // The doubling ends at a replay no faster than the last.
      std::optional<HopReplay> replay = hopByHop(
          device, wave, forwards, before, parts, elementBytes, previous);
      if (!replay)
        break;
      double seconds = replay->schedule.seconds();
      if (seconds >= previous)
        break;
      previous = seconds;
      if (seconds < straight) {
        straight = seconds;
        chosen = parts;
        best = std::move(replay->order);
        replayed.reset();
        replayed.emplace(std::move(replay->schedule));
      }
    }
    if (chosen > 0)
      wave = hopByHopCopies(wave, forwards, alongRows, chosen, best);
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
