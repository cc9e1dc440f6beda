//===- MeshRelay.cpp - many cubes gathering one region over a mesh --------===//

#include "kb/Device/MeshRelay.h"

#include "kb/Device/CostModel.h"

#include "llvm/ADT/STLExtras.h"

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
  CopySchedule direct(device), relayed(device);
  for (const llvm::SmallVector<RelayCopy> &copies : directCopies)
    for (const RelayCopy &c : copies)
      direct.add(c.from, c.to, bytes(c.region));
  for (const RelayCopy &c : plan.gather)
    relayed.add(c.from, c.to, bytes(c.region));
  plan.gatheredSeconds = relayed.seconds();
  for (const RelayCopy &c : plan.deliver)
    relayed.add(c.from, c.to, bytes(c.region), plan.gatheredSeconds);
  plan.directSeconds = direct.seconds();
  plan.relayedSeconds = relayed.seconds();
  return plan;
}
