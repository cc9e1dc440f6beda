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
  // along the row (its own within the cube), hop by hop too: a piece two or
  // three columns away comes from the relay one hop nearer, which took it.
  EXPECT_EQ(plan.relays.size(), 16u);
  EXPECT_EQ(plan.gather.size(), 64u);
  EXPECT_EQ(plan.gatherChunks, 1u);
  for (auto [i, c] : llvm::enumerate(plan.gather)) {
    EXPECT_EQ(c.from / 4, c.to / 4) << "a gather stays in its mesh row";
    EXPECT_LE(cubeHops(device, c.from, c.to), 1);
    EXPECT_FALSE(c.fromRequest);
    EXPECT_EQ(c.fromRelay, c.after >= 0);
    if (c.after >= 0) {
      ASSERT_LT(size_t(c.after), i);
      EXPECT_EQ(plan.gather[c.after].to, c.from);
      EXPECT_EQ(plan.gather[c.after].target, c.source)
          << "forwarded out of the relay the nearer copy filled";
      EXPECT_EQ(plan.gather[c.after].region, c.region);
    }
  }
  // Each cube then takes four 16 x 64 boxes down its column: 4 copies into a
  // cube where straight copies were 15. Even boxes this small (2 KiB, all
  // latency) replay faster hop by hop, whole: sent straight, a box from
  // three rows away holds three column links for its whole latency.
  EXPECT_EQ(plan.chunks, 1u);
  EXPECT_EQ(plan.deliver.size(), 64u);
  for (const RelayCopy &c : plan.deliver) {
    EXPECT_TRUE(c.fromRelay || c.fromRequest);
    EXPECT_EQ(c.from % 4, c.to % 4) << "a delivery stays in its mesh column";
    EXPECT_LE(cubeHops(device, c.from, c.to), 1);
    EXPECT_EQ(c.region.sizes, (llvm::SmallVector<int64_t, 2>{16, 64}));
  }
  // The relay much faster than straight copies.
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

/// The 512-token layer's first residual add: a 512 x 4096 f16 sum cut by
/// columns over the 16 cubes, read whole by every cube.
MeshRelayPlan residual512() {
  llvm::SmallVector<HeldBox> pieces;
  llvm::SmallVector<std::pair<int64_t, Box>> requests;
  for (int64_t c = 0; c < 16; ++c) {
    pieces.push_back({Box{{0, 256 * c}, {512, 256}}, {c}});
    requests.push_back({c, Box{{0, 0}, {512, 4096}}});
  }
  return planMeshRelay(DeviceDescription{}, pieces, requests, 2);
}

TEST(MeshRelayTest, LargeBoxesGoHopByHopDownTheColumns) {
  DeviceDescription device;
  MeshRelayPlan plan = residual512();
  ASSERT_TRUE(plan.pays());
  ASSERT_GT(plan.chunks, 0u) << "1 MiB boxes are forwarded hop by hop";
  // Every copy between cubes is one hop: from a relay one row away, or
  // forwarded from the cube one hop nearer its relay, after the copy that
  // brought that part there (issued earlier, into that very cube).
  size_t forwarded = 0;
  for (auto [i, c] : llvm::enumerate(plan.deliver)) {
    EXPECT_LE(cubeHops(device, c.from, c.to), 1);
    EXPECT_EQ(c.from % 4, c.to % 4) << "a delivery stays in its mesh column";
    if (c.after < 0) {
      EXPECT_FALSE(c.fromRequest);
      continue;
    }
    ++forwarded;
    ASSERT_LT(size_t(c.after), i);
    const RelayCopy &source = plan.deliver[c.after];
    EXPECT_TRUE(c.fromRequest);
    EXPECT_EQ(source.to, c.from);
    EXPECT_EQ(source.region, c.region);
    EXPECT_EQ(plan.requests[c.source].first, c.from);
    // The forwarded part moves on, away from where it came from.
    EXPECT_EQ(c.to - c.from, c.from - source.from);
  }
  // Per column the boxes of rows 0 and 3 go three rows and those of rows 1
  // and 2 two: 6 forwards per column, each in `chunks` parts.
  EXPECT_EQ(forwarded, 4 * 6 * plan.chunks);
  // Each row's four boxes reach every cube of the column, whole.
  for (int64_t cube = 0; cube < 16; ++cube) {
    int64_t elements = 0;
    for (const RelayCopy &c : plan.deliver)
      if (c.to == cube)
        elements += c.region.numElements();
    EXPECT_EQ(elements, 512 * 4096) << "cube " << cube;
  }
  // Near the engines' bound, where the boxes sent straight down the columns
  // took the middle links' time: each cube receives three 1 MiB boxes over
  // a link (8.2 us each) and its own row's within the cube.
  double oneHop = dmaSeconds(device, 1 << 20, 0, 4);
  EXPECT_LT(plan.relayedSeconds - plan.gatheredSeconds, 3.6 * oneHop);
  // The gather too (each relay takes three 256 KiB pieces along its row,
  // 2.1 us each over a link; 11.6 us when sent straight).
  EXPECT_GT(plan.gatherChunks, 0u);
  EXPECT_LT(plan.gatheredSeconds, 4.5 * dmaSeconds(device, 1 << 18, 0, 1));
}

TEST(MeshRelayTest, RelaysOfEverySizeChooseAsEveryReplayWould) {
  // From latency-bound boxes to bandwidth-bound ones: the replays in more
  // parts a busiest-engine bound skips, and the parts each wave takes, as
  // every replay made (figures from the planner that made them all).
  DeviceDescription device; // ahbm
  struct Expected {
    int64_t rows;
    unsigned gatherChunks, chunks;
    double gatheredSeconds, relayedSeconds;
  };
  const Expected expected[] = {
      {1, 1, 1, 7.1770431726907655e-07, 1.4415215863453818e-06},
      {4, 1, 1, 7.2381726907630531e-07, 1.4720863453815265e-06},
      {16, 1, 1, 7.4826907630522107e-07, 1.5943453815261048e-06},
      {64, 1, 1, 8.460763052208837e-07, 2.0833815261044183e-06},
      {256, 1, 1, 1.2373052208835344e-06, 4.0395261044176718e-06},
      {1024, 1, 2, 2.8022208835341369e-06, 1.1319104417670683e-05},
      {4096, 2, 4, 8.5168835341365471e-06, 3.7910417670682729e-05},
      {16384, 4, 8, 2.9393534136546175e-05, 0.00013832967068273081},
  };
  for (const Expected &e : expected) {
    llvm::SmallVector<HeldBox> pieces;
    for (int64_t c = 0; c < 16; ++c)
      pieces.push_back({Box{{0, 16 * c}, {e.rows, 16}}, {c}});
    llvm::SmallVector<std::pair<int64_t, Box>> requests;
    for (int64_t c = 0; c < 16; ++c)
      requests.push_back({c, Box{{0, 0}, {e.rows, 256}}});
    MeshRelayPlan plan = planMeshRelay(device, pieces, requests, 4);
    ASSERT_TRUE(plan.pays()) << e.rows << " rows";
    EXPECT_EQ(plan.gatherChunks, e.gatherChunks) << e.rows << " rows";
    EXPECT_EQ(plan.chunks, e.chunks) << e.rows << " rows";
    EXPECT_DOUBLE_EQ(plan.gatheredSeconds, e.gatheredSeconds) << e.rows;
    EXPECT_DOUBLE_EQ(plan.relayedSeconds, e.relayedSeconds) << e.rows;
  }
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
