//===- CostModelTest.cpp - the one cost model and its rules ---------------===//

#include "kb/Device/CostModel.h"
#include "kb/Device/Tiling.h"

#include "gtest/gtest.h"

#include <limits>
#include <vector>

using namespace kb;

namespace {

TEST(CostModelTest, AGemmTileTakesTheLongerOfArithmeticAndTraffic) {
  // small: 256 GFLOP/s f16, 128 f32, 1000 GB/s per 8 PEs
  DeviceDescription device{DeviceDescription::Small{}};
  PEWork work = matmulWork(128, 128, 128, 2, 2, /*accumulate=*/false,
                           /*f32=*/false);
  EXPECT_DOUBLE_EQ(work.flops, 2.0 * 128 * 128 * 128);
  EXPECT_DOUBLE_EQ(work.bytes, (128.0 * 128 * 2) * 2 + 128.0 * 128 * 2);
  EXPECT_DOUBLE_EQ(peSeconds(device, work), work.flops / 256e9);
  // f32 inputs run at the f32 rate; accumulating reads the output too.
  PEWork f32 = matmulWork(128, 128, 128, 4, 4, /*accumulate=*/true, true);
  EXPECT_DOUBLE_EQ(f32.bytes, (128.0 * 128 * 2) * 4 + 128.0 * 128 * 4 * 2);
  EXPECT_DOUBLE_EQ(peSeconds(device, f32), f32.flops / 128e9);
  // A thin gemm is bound by the PE's share of the cube's bandwidth.
  PEWork thin = matmulWork(1, 1, 4096, 2, 2, false, false);
  EXPECT_DOUBLE_EQ(peSeconds(device, thin), thin.bytes / 125e9);
}

TEST(CostModelTest, ElementwiseWorkReadsEveryInputAndWritesOnce) {
  DeviceDescription device{DeviceDescription::Small{}};
  EXPECT_DOUBLE_EQ(elementwiseWork(1024, 2, 1).bytes, 1024.0 * 2 * 2);
  EXPECT_DOUBLE_EQ(elementwiseWork(1024, 2, 2).bytes, 1024.0 * 2 * 3);
  EXPECT_DOUBLE_EQ(peSeconds(device, elementwiseWork(1024, 4, 2)),
                   1024.0 * 4 * 3 / 125e9);
}

TEST(CostModelTest, RowOpsChargeTheirRowsVectorsAndArithmetic) {
  DeviceDescription device{DeviceDescription::Small{}};
  // RMSNorm of 16 rows of 4096 f16: the rows read and written, one weight.
  PEWork rms = normWork(16, 4096, 2, 1, /*layerNorm=*/false, /*f32=*/false);
  EXPECT_DOUBLE_EQ(rms.flops, 4.0 * 16 * 4096);
  EXPECT_DOUBLE_EQ(rms.bytes, (2.0 * 16 * 4096 + 4096) * 2);
  EXPECT_DOUBLE_EQ(peSeconds(device, rms), rms.bytes / 125e9);
  PEWork layer = normWork(16, 768, 4, 2, /*layerNorm=*/true, /*f32=*/true);
  EXPECT_DOUBLE_EQ(layer.flops, 7.0 * 16 * 768);
  EXPECT_DOUBLE_EQ(layer.bytes, (2.0 * 16 * 768 + 2 * 768) * 4);
  EXPECT_TRUE(layer.f32);
  PEWork rope = ropeWork(16, 4096, 2, false);
  EXPECT_DOUBLE_EQ(rope.flops, 3.0 * 16 * 4096);
  EXPECT_DOUBLE_EQ(rope.bytes, 2.0 * 16 * 4096 * 2);
}

TEST(CostModelTest, TransfersRunAtTheirLinksRates) {
  DeviceDescription device{DeviceDescription::Small{}};
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 1e6, /*withinCube=*/true), 1e6 / 1e12);
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 1e6, /*withinCube=*/false), 1e6 / 256e9);
  EXPECT_DOUBLE_EQ(ringStepSeconds(device, 1e6), 1e6 / 100e9);
  EXPECT_EQ(allReduceSeconds(device, 1e6, 1), 0);
  EXPECT_DOUBLE_EQ(allReduceSeconds(device, 1e6, 4), 1.5 * 1e6 / 100e9);
}

TEST(CostModelTest, LatenciesAndEfficienciesAddToTheIdealTimes) {
  DeviceDescription ideal{DeviceDescription::Small{}},
      device{DeviceDescription::Small{}};
  EXPECT_TRUE(ideal.isIdeal());
  device.ringStepLatencyNs = 1000;
  device.kernelLaunchNs = 50;
  device.computeEfficiencyPermille = 500;
  device.memoryEfficiencyPermille = 800;
  EXPECT_FALSE(device.isIdeal());
  // A step: α + bytes / β; an all-reduce: 2 (W - 1) of them.
  EXPECT_DOUBLE_EQ(ringStepSeconds(device, 1e6), 1e-6 + 1e6 / 100e9);
  EXPECT_DOUBLE_EQ(allReduceSeconds(device, 1e6, 4),
                   6 * 1e-6 + 1.5 * 1e6 / 100e9);
  EXPECT_DOUBLE_EQ(alongDimCollectiveSeconds(device, 1e6, 4, false),
                   3 * 1e-6 + 0.75 * 1e6 / 100e9);
  EXPECT_DOUBLE_EQ(alongDimCollectiveSeconds(device, 1e6, 4, true),
                   3 * 1e-6 + 0.75 * 1e6 / 100e9);
  // A PE op: its launch, then the longer of arithmetic at half the rate and
  // traffic at 80% of the PE's bandwidth share.
  PEWork square = matmulWork(128, 128, 128, 2, 2, false, false);
  EXPECT_DOUBLE_EQ(peSeconds(device, square), 50e-9 + square.flops / 128e9);
  PEWork thin = matmulWork(1, 1, 4096, 2, 2, false, false);
  EXPECT_DOUBLE_EQ(peSeconds(device, thin), 50e-9 + thin.bytes / 100e9);
  // Memory efficiency slows a copy within a cube, not one over a link.
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 1e6, /*withinCube=*/true), 1e6 / 800e9);
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 1e6, /*withinCube=*/false), 1e6 / 256e9);
}

TEST(CostModelTest, DMALatencyGrowsWithMeshHops) {
  DeviceDescription device{DeviceDescription::Small{}};
  device.cubes = 16;
  device.meshCols = 4;
  device.dmaLatencyLocalNs = 77;
  device.dmaLatencyFarCubeNs = 573;
  // Cube c sits at row c / 4, column c mod 4.
  EXPECT_EQ(cubeHops(device, 5, 5), 0);
  EXPECT_EQ(cubeHops(device, 0, 1), 1);
  EXPECT_EQ(cubeHops(device, 0, 4), 1);
  EXPECT_EQ(cubeHops(device, 1, 14), 4);
  EXPECT_EQ(cubeHops(device, 0, 15), 6);
  EXPECT_EQ(cubeHops(device, 3, 12), 6);
  EXPECT_EQ(farthestCubeHops(device), 6);
  // Mean over distinct pairs of a 4 × 4 mesh: 2 · (20/16) · 16/15 = 8/3.
  EXPECT_DOUBLE_EQ(meanCubeHops(device), 8.0 / 3);
  EXPECT_DOUBLE_EQ(dmaLatencySeconds(device, 0), 77e-9);
  EXPECT_DOUBLE_EQ(dmaLatencySeconds(device, 6), 573e-9);
  EXPECT_DOUBLE_EQ(dmaLatencySeconds(device, 3), (77 + 248) * 1e-9);
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 1e6, 0, 15), 573e-9 + 1e6 / 256e9);
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 1e6, 2, 2), 77e-9 + 1e6 / 1e12);
  // A partial last row: 6 cubes in rows of 4 reach from column 3 of row 0
  // to column 0 of row 1.
  device.cubes = 6;
  EXPECT_EQ(farthestCubeHops(device), 4);
  EXPECT_EQ(cubeHops(device, 3, 4), 4);
  // Without a mesh every other cube is one hop, the farthest.
  device.meshCols = 0;
  EXPECT_EQ(cubeHops(device, 0, 5), 1);
  EXPECT_DOUBLE_EQ(meanCubeHops(device), 1);
  EXPECT_DOUBLE_EQ(dmaSeconds(device, 0, 0, 5), 573e-9);
  device.cubes = 1;
  EXPECT_EQ(farthestCubeHops(device), 0);
}

TEST(CostModelTest, MeshRoutesPassOnlyCubesThatExist) {
  DeviceDescription device{DeviceDescription::Small{}};
  device.cubes = 16;
  device.meshCols = 4;
  auto cubesPassed = [&](int64_t from, int64_t to) {
    std::vector<int64_t> cubes{from};
    for (int64_t link : meshRoute(device, from, to)) {
      EXPECT_EQ(link / device.cubes, cubes.back()) << from << " -> " << to;
      cubes.push_back(link % device.cubes);
    }
    return cubes;
  };
  // Along the row, then along the column.
  EXPECT_EQ(cubesPassed(0, 6), (std::vector<int64_t>{0, 1, 2, 6}));
  EXPECT_TRUE(meshRoute(device, 7, 7).empty());
  // 6 cubes in rows of 4: row 1 holds cubes 4 and 5 only. From 5 to 3 the
  // row-first route would pass cubes 6 and 7; it goes up first instead.
  device.cubes = 6;
  EXPECT_EQ(cubesPassed(5, 3), (std::vector<int64_t>{5, 1, 2, 3}));
  EXPECT_EQ(cubesPassed(3, 4), (std::vector<int64_t>{3, 2, 1, 0, 4}));
  for (int64_t from = 0; from < device.cubes; ++from)
    for (int64_t to = 0; to < device.cubes; ++to) {
      std::vector<int64_t> cubes = cubesPassed(from, to);
      EXPECT_EQ(static_cast<int64_t>(cubes.size()) - 1,
                cubeHops(device, from, to));
      for (int64_t cube : cubes)
        EXPECT_LT(cube, device.cubes) << from << " -> " << to;
      EXPECT_EQ(cubes.back(), to);
    }
}

TEST(CostModelTest, SwitchCollectivesGatherThenMulticastInWholeFlits) {
  // CENT's CXL port at TP = 8: 18 lanes of 4 GiB/s (multicast), 180 ns per
  // one-hop round trip, 256-B flits of 192 payload bytes.
  DeviceDescription device{DeviceDescription::Small{}};
  device.switchRoundTripNs = 180;
  device.switchMiBps = 18 * 4096;
  double rate = 18 * 4096 * 1048576.0;
  // A 4096-element f16 vector: shares of 1024 B are 6 flits each, 7 ranks
  // send theirs; the multicast carries ceil(8192 / 192) = 43 flits.
  double gather = 180e-9 + 7 * 6 * 256 / rate;
  double multicast = 180e-9 + 43 * 256 / rate;
  EXPECT_DOUBLE_EQ(switchGatherSeconds(device, 1024, 8), gather);
  EXPECT_DOUBLE_EQ(switchMulticastSeconds(device, 8192), multicast);
  EXPECT_DOUBLE_EQ(allReduceSeconds(device, 8192, 8), gather + multicast);
  // 1152 bytes fill 6 flits exactly; one more byte needs a seventh.
  EXPECT_DOUBLE_EQ(switchGatherSeconds(device, 1152, 8), gather);
  EXPECT_DOUBLE_EQ(switchGatherSeconds(device, 1153, 8),
                   180e-9 + 7 * 7 * 256 / rate);
  // The W - 1 steps of each half carry it in equal shares: an all-reduce's
  // reduce-scatter the gather, its all-gather the multicast; an all-gather
  // along a dimension both.
  EXPECT_DOUBLE_EQ(7 * collectiveStepSeconds(device, 1024, 8, true, false),
                   gather);
  EXPECT_DOUBLE_EQ(7 * collectiveStepSeconds(device, 1024, 8, false, false),
                   multicast);
  EXPECT_DOUBLE_EQ(7 * collectiveStepSeconds(device, 1024, 8, false, true),
                   gather + multicast);
  EXPECT_DOUBLE_EQ(7 * collectiveStepSeconds(device, 1024, 8, true, true),
                   gather);
  // Placement prices those collectives with the same steps.
  EXPECT_DOUBLE_EQ(alongDimCollectiveSeconds(device, 8192, 8, false),
                   gather + multicast);
  EXPECT_DOUBLE_EQ(alongDimCollectiveSeconds(device, 8192, 8, true), gather);
  // Without a switch a step is the ring's.
  DeviceDescription ring{DeviceDescription::Small{}};
  EXPECT_DOUBLE_EQ(collectiveStepSeconds(ring, 1e6, 8, true, false),
                   ringStepSeconds(ring, 1e6));
}

TEST(CostModelTest, AReplicatedGemmResultIsComputedOnceAcrossItsCubes) {
  // Split over the cubes: each cube computes its own piece.
  llvm::SmallVector<Box> sharded =
      matmulComputeBoxes({8, 16}, Placement{1, -1, 4, 1});
  ASSERT_EQ(sharded.size(), 4u);
  EXPECT_EQ(sharded[3], (Box{{0, 12}, {8, 4}}));
  // Replicated: shares of the whole along the longer dimension.
  llvm::SmallVector<Box> wide =
      matmulComputeBoxes({8, 16}, Placement{-1, -1, 4, 1});
  ASSERT_EQ(wide.size(), 4u);
  EXPECT_EQ(wide[1], (Box{{0, 4}, {8, 4}}));
  llvm::SmallVector<Box> tall =
      matmulComputeBoxes({16, 8}, Placement{-1, -1, 2, 1});
  ASSERT_EQ(tall.size(), 2u);
  EXPECT_EQ(tall[1], (Box{{8, 0}, {8, 8}}));
}

TEST(CostModelTest, CubeMemoryOverflowNamesTheFirstFullCube) {
  DeviceDescription device{DeviceDescription::Small{}};
  device.cubeMemoryMiB = 1;
  EXPECT_EQ(cubeMemoryOverflow({1 << 20, 1 << 20}, device), std::nullopt);
  EXPECT_EQ(cubeMemoryOverflow({0, (1 << 20) + 1, int64_t(1) << 40}, device),
            "needs 1048577 bytes in cube 1, but a cube holds 1048576 bytes");
  EXPECT_EQ(
      cubeMemoryOverflow({std::numeric_limits<int64_t>::max()}, device),
      "needs more than 2^63 - 1 bytes in cube 0, but a cube holds 1048576 "
      "bytes");
}

} // namespace
