//===- MeshBroadcast.cpp - one cube's region sent to many over a mesh -----===//

#include "kb/Device/MeshBroadcast.h"

#include "kb/Device/CostModel.h"

#include <algorithm>
#include <limits>

using namespace kb;

namespace {
/// The broadcast tree: breadth first from the holder over one-hop links
/// between the cubes that want the region; a cube no such link reaches
/// joins under the nearest cube already in (on a device without a mesh,
/// every cube is one hop from every other: a star).
MeshBroadcast treeOf(const DeviceDescription &device, int64_t holder,
                     llvm::ArrayRef<int64_t> targets) {
  MeshBroadcast tree;
  tree.cubes.push_back(holder);
  tree.parent.push_back(0);
  llvm::SmallVector<int64_t> left;
  for (int64_t cube : targets)
    if (cube != holder && !llvm::is_contained(left, cube))
      left.push_back(cube);
  for (size_t next = 0; !left.empty();) {
    // The cubes one hop from those already in, nearest the holder first.
    for (; next < tree.cubes.size() && !left.empty(); ++next)
      for (size_t i = 0; i < left.size();) {
        if (cubeHops(device, tree.cubes[next], left[i]) == 1) {
          tree.cubes.push_back(left[i]);
          tree.parent.push_back(static_cast<unsigned>(next));
          left.erase(left.begin() + i);
        } else {
          ++i;
        }
      }
    if (left.empty())
      break;
    // None left one hop away: the nearest pair joins.
    unsigned from = 0;
    size_t to = 0;
    int64_t fewest = std::numeric_limits<int64_t>::max();
    for (auto [i, cube] : llvm::enumerate(tree.cubes))
      for (auto [j, other] : llvm::enumerate(left))
        if (int64_t hops = cubeHops(device, cube, other); hops < fewest) {
          fewest = hops;
          from = static_cast<unsigned>(i);
          to = j;
        }
    tree.cubes.push_back(left[to]);
    tree.parent.push_back(from);
    left.erase(left.begin() + to);
  }
  return tree;
}

double replay(const DeviceDescription &device, const MeshBroadcast &tree,
              double bytes) {
  CopySchedule schedule(device);
  llvm::SmallVector<double> arrived(tree.cubes.size(), 0.0);
  double partBytes = bytes / static_cast<double>(tree.parts);
  for (int64_t part = 0; part < tree.parts; ++part)
    for (size_t i = 1; i < tree.cubes.size(); ++i)
      arrived[i] = schedule.add(tree.cubes[tree.parent[i]], tree.cubes[i],
                                partBytes, arrived[tree.parent[i]]);
  return schedule.seconds();
}
} // namespace

MeshBroadcast kb::planMeshBroadcast(const DeviceDescription &device,
                                    int64_t holder,
                                    llvm::ArrayRef<int64_t> targets,
                                    double bytes, int64_t maxParts) {
  MeshBroadcast best = treeOf(device, holder, targets);
  if (best.cubes.size() < 2)
    return best;
  best.seconds = replay(device, best, bytes);
  MeshBroadcast candidate = best;
  for (int64_t parts = 2; parts <= maxParts; parts *= 2) {
    candidate.parts = parts;
    candidate.seconds = replay(device, candidate, bytes);
    if (candidate.seconds < best.seconds)
      best = candidate;
  }
  return best;
}

ReplicaDelivery kb::planReplicaDelivery(const DeviceDescription &device,
                                        int64_t holder,
                                        llvm::ArrayRef<int64_t> targets,
                                        double bytes, int64_t maxParts) {
  MeshBroadcast plan =
      planMeshBroadcast(device, holder, targets, bytes, maxParts);
  CopySchedule straight(device);
  for (int64_t cube : targets)
    if (cube != holder)
      straight.add(holder, cube, bytes);
  // The tree waits for the copy into the holder's own replica first.
  double local = dmaSeconds(device, bytes, holder, holder);
  ReplicaDelivery delivery;
  if (plan.seconds + local < straight.seconds()) {
    delivery.seconds = local + plan.seconds;
    delivery.tree = std::move(plan);
  } else {
    delivery.seconds = straight.seconds();
  }
  return delivery;
}
