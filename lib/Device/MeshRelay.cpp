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
  llvm::SmallVector<RelayCopy> result;
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
  // make one box (one copy moves it on).
  for (const auto &[cube, box] : plan.requests) {
    llvm::SmallVector<RelayCopy> direct =
        sourcesOf(pieces, {}, cols, cube, box, 0, inPlace);
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
  auto nearestFirst = [&](llvm::SmallVector<RelayCopy> &copies) {
    llvm::stable_sort(copies, [&](const RelayCopy &a, const RelayCopy &b) {
      return cubeHops(device, a.from, a.to) < cubeHops(device, b.from, b.to);
    });
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
  for (auto [index, request] : llvm::enumerate(plan.requests))
    for (const RelayCopy &c : sourcesOf(pieces, {}, cols, request.first,
                                        request.second, index, inPlace))
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
