//===- MeshBroadcastTest.cpp - one cube's region sent to many over a mesh -===//

#include "kb/Device/MeshBroadcast.h"

#include "kb/Device/CostModel.h"

#include "gtest/gtest.h"

using namespace kb;

namespace {

llvm::SmallVector<int64_t> allCubes(int64_t n) {
  llvm::SmallVector<int64_t> cubes;
  for (int64_t c = 0; c < n; ++c)
    cubes.push_back(c);
  return cubes;
}

/// Each copy straight from the holder, all issued at once.
double straightSeconds(const DeviceDescription &device, int64_t holder,
                       double bytes) {
  CopySchedule schedule(device);
  for (int64_t c = 0; c < device.cubes; ++c)
    if (c != holder)
      schedule.add(holder, c, bytes);
  return schedule.seconds();
}

TEST(MeshBroadcastTest, OneHopTreeOverTheWholeMesh) {
  DeviceDescription device; // ahbm: 16 cubes, a 4 x 4 mesh
  MeshBroadcast tree = planMeshBroadcast(device, 5, allCubes(16), 1 << 20, 32);
  ASSERT_EQ(tree.cubes.size(), 16u);
  EXPECT_EQ(tree.cubes.front(), 5);
  llvm::SmallVector<int64_t> seen(tree.cubes.begin(), tree.cubes.end());
  llvm::sort(seen);
  EXPECT_EQ(seen, allCubes(16)) << "every cube once";
  for (size_t i = 1; i < tree.cubes.size(); ++i) {
    ASSERT_LT(tree.parent[i], i) << "a parent joins before its children";
    EXPECT_EQ(cubeHops(device, tree.cubes[tree.parent[i]], tree.cubes[i]), 1);
  }
  // A MiB goes in parts (each forwarded once it is in), and beats both
  // sending it whole down the same tree and sending it straight.
  EXPECT_GT(tree.parts, 1);
  MeshBroadcast whole =
      planMeshBroadcast(device, 5, allCubes(16), 1 << 20, /*maxParts=*/1);
  EXPECT_EQ(whole.parts, 1);
  EXPECT_LT(tree.seconds, whole.seconds);
  EXPECT_LT(tree.seconds, 0.5 * straightSeconds(device, 5, 1 << 20));
  // A pipeline's time: about (depth + parts - 1) part copies.
  double part = dmaSeconds(device, double(1 << 20) / tree.parts, 0, 1);
  EXPECT_LE(tree.seconds, (6 + tree.parts) * part);
}

TEST(MeshBroadcastTest, SmallRegionsGoWhole) {
  DeviceDescription device;
  // 128 bytes: a part would pay a copy's latency again for nothing.
  MeshBroadcast tree = planMeshBroadcast(device, 0, allCubes(16), 128, 32);
  EXPECT_EQ(tree.parts, 1);
}

TEST(MeshBroadcastTest, CubesOffTheMeshJoinTheNearest) {
  DeviceDescription device;
  // Cubes 0 and 15 (opposite corners) and 5: 15 is two hops from 5, no cube
  // one hop from it wants the region.
  MeshBroadcast tree = planMeshBroadcast(device, 0, {0, 15, 5}, 4096, 8);
  ASSERT_EQ(tree.cubes.size(), 3u);
  EXPECT_EQ(tree.cubes[1], 5);
  EXPECT_EQ(tree.parent[1], 0u);
  EXPECT_EQ(tree.cubes[2], 15);
  EXPECT_EQ(tree.parent[2], 1u) << "from cube 5, 4 hops nearer than cube 0";
  // The holder alone: nothing to send.
  MeshBroadcast alone = planMeshBroadcast(device, 3, {3}, 4096, 8);
  EXPECT_EQ(alone.cubes.size(), 1u);
  EXPECT_EQ(alone.seconds, 0.0);
}

} // namespace

/// A region for the replicas of every cube goes down the tree when that,
/// after the copy into the holder's own replica, beats the straight copies;
/// else straight. Either way the time is the plan's.
TEST(MeshBroadcastTest, ReplicaDeliveryTakesTheFasterPlan) {
  DeviceDescription device; // ahbm: 16 cubes, a 4 x 4 mesh
  for (double bytes : {64.0, 4096.0, double(1 << 20)}) {
    ReplicaDelivery delivery =
        planReplicaDelivery(device, 0, allCubes(16), bytes, 32);
    double straight = straightSeconds(device, 0, bytes);
    double local = dmaSeconds(device, bytes, 0, 0);
    if (delivery.tree) {
      EXPECT_DOUBLE_EQ(delivery.seconds, local + delivery.tree->seconds);
      EXPECT_LT(delivery.seconds, straight) << bytes << " bytes";
    } else {
      EXPECT_DOUBLE_EQ(delivery.seconds, straight) << bytes << " bytes";
      MeshBroadcast tree =
          planMeshBroadcast(device, 0, allCubes(16), bytes, 32);
      EXPECT_GE(local + tree.seconds, straight) << bytes << " bytes";
    }
  }
  // A MiB to 15 other cubes: the tree, well under the straight copies.
  ReplicaDelivery big =
      planReplicaDelivery(device, 0, allCubes(16), 1 << 20, 32);
  ASSERT_TRUE(big.tree.has_value());
  EXPECT_LT(big.seconds, 0.5 * straightSeconds(device, 0, 1 << 20));
  // One cube: nothing to deliver beyond its own replica.
  EXPECT_EQ(planReplicaDelivery(device, 3, {3}, 1 << 20, 32).seconds, 0.0);
}
