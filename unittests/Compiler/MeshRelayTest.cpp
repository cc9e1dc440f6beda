//===- MeshRelayTest.cpp - regions every cube needs, relayed over a mesh --===//

#include "kb/Device/MeshRelay.h"

#include "kb/Device/CostModel.h"

#include "gtest/gtest.h"

using namespace kb;

namespace {

/// A 16 x 256 tensor cut by columns over the 16 cubes of ahbm's 4 x 4 mesh,
/// cube c holding columns [16c, 16c + 16).
llvm::SmallVector<HeldBox> columnPieces() {
  llvm::SmallVector<HeldBox> pieces;
  for (int64_t c = 0; c < 16; ++c)
    pieces.push_back({Box{{0, 16 * c}, {16, 16}}, {c}});
  return pieces;
}

llvm::SmallVector<std::pair<int64_t, Box>> everyCubeTheWhole() {
  llvm::SmallVector<std::pair<int64_t, Box>> requests;
  for (int64_t c = 0; c < 16; ++c)
    requests.push_back({c, Box{{0, 0}, {16, 256}}});
  return requests;
}

TEST(MeshRelayTest, EveryCubeTakesOneBoxPerMeshRow) {
  DeviceDescription device; // ahbm
  MeshRelayPlan plan =
      planMeshRelay(device, columnPieces(), everyCubeTheWhole(), 2);
  ASSERT_TRUE(plan.pays());
  // One relay per mesh row and column, each gathering its row's four pieces
  // along the row (its own within the cube).
  EXPECT_EQ(plan.relays.size(), 16u);
  EXPECT_EQ(plan.gather.size(), 64u);
  for (const RelayCopy &c : plan.gather) {
    EXPECT_EQ(c.from / 4, c.to / 4) << "a gather stays in its mesh row";
    EXPECT_FALSE(c.fromRelay);
  }
  // Each cube then takes four 16 x 64 boxes from the relays of its column:
  // 4 copies into a cube where straight copies were 15.
  EXPECT_EQ(plan.deliver.size(), 64u);
  for (const RelayCopy &c : plan.deliver) {
    EXPECT_TRUE(c.fromRelay);
    EXPECT_EQ(c.from % 4, c.to % 4) << "a delivery stays in its mesh column";
    EXPECT_EQ(c.region.sizes, (llvm::SmallVector<int64_t, 2>{16, 64}));
  }
  // Each wave nearest first, and the relay much faster than straight copies.
  for (size_t i = 1; i < plan.gather.size(); ++i)
    EXPECT_LE(cubeHops(device, plan.gather[i - 1].from, plan.gather[i - 1].to),
              cubeHops(device, plan.gather[i].from, plan.gather[i].to));
  EXPECT_LT(plan.relayedSeconds, 0.5 * plan.directSeconds);
  EXPECT_GT(plan.relayedSeconds, plan.gatheredSeconds);
}

TEST(MeshRelayTest, InPlaceTargetsSkipWhatTheirCubeHolds) {
  // Cube 0 alone wants the whole tensor: the other rows come by relay (cubes
  // 4, 8, 12 gather theirs), its own row's pieces straight along the row.
  // Into a buffer of its own it copies its own piece too (within the cube);
  // in place (a replicated result's shares) that piece is already there.
  DeviceDescription device;
  llvm::SmallVector<std::pair<int64_t, Box>> cube0{{0, Box{{0, 0}, {16, 256}}}};
  MeshRelayPlan staged = planMeshRelay(device, columnPieces(), cube0, 2);
  MeshRelayPlan inPlace = planMeshRelay(device, columnPieces(), cube0, 2, 64,
                                        /*inPlace=*/true);
  ASSERT_TRUE(staged.pays());
  ASSERT_TRUE(inPlace.pays());
  EXPECT_EQ(staged.relays.size(), 3u);
  EXPECT_EQ(staged.deliver.size(), 7u);
  EXPECT_EQ(inPlace.deliver.size(), 6u);
  for (const RelayCopy &c : inPlace.deliver)
    EXPECT_TRUE(c.fromRelay || c.from != 0);
}

TEST(MeshRelayTest, NothingToRelayWithoutAMeshOrForRowNeighbours) {
  // small: no mesh.
  DeviceDescription small{DeviceDescription::Small{}};
  EXPECT_FALSE(
      planMeshRelay(small, columnPieces(), everyCubeTheWhole(), 2).pays());
  // Pieces on one mesh row, read by their own row only: nothing comes from
  // another row, so there is nothing to relay.
  DeviceDescription device;
  llvm::SmallVector<HeldBox> row;
  llvm::SmallVector<std::pair<int64_t, Box>> rowRequests;
  for (int64_t c = 0; c < 4; ++c) {
    row.push_back({Box{{0, 16 * c}, {16, 16}}, {c}});
    rowRequests.push_back({c, Box{{0, 0}, {16, 64}}});
  }
  MeshRelayPlan plan = planMeshRelay(device, row, rowRequests, 2);
  EXPECT_TRUE(plan.relays.empty());
  EXPECT_FALSE(plan.pays());
  // A cube that holds its whole box asks for nothing.
  llvm::SmallVector<HeldBox> whole{{Box{{0, 0}, {16, 256}}, {0}}};
  EXPECT_TRUE(planMeshRelay(device, whole, {{0, Box{{0, 0}, {16, 256}}}}, 2)
                  .requests.empty());
}

} // namespace
