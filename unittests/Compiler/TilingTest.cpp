//===- TilingTest.cpp - pieces, shares and tile sizes ---------------------===//

#include "kb/Device/Tiling.h"
#include "kb/Device/ByteArithmetic.h"

#include "gtest/gtest.h"

#include <limits>

using namespace kb;

namespace {

class TilingTest : public ::testing::Test {
protected:
  static Placement policy(int64_t cubeDim, int64_t peDim, int64_t cubes,
                          int64_t pes) {
    return Placement{cubeDim, peDim, cubes, pes};
  }
};

TEST_F(TilingTest, ShardedPiecesTileTheTensorExactly) {
  auto pieces = cubePieces({8, 12}, policy(1, -1, 4, 1));
  ASSERT_EQ(pieces.size(), 4u);
  int64_t covered = 0;
  for (auto [i, piece] : llvm::enumerate(pieces)) {
    EXPECT_EQ(piece.cube, static_cast<int64_t>(i));
    EXPECT_EQ(piece.box.offsets[1], 3 * static_cast<int64_t>(i));
    EXPECT_EQ(piece.box.sizes[0], 8);
    EXPECT_EQ(piece.box.sizes[1], 3);
    covered += piece.box.numElements();
  }
  EXPECT_EQ(covered, 8 * 12);
}

TEST_F(TilingTest, ReplicatedPiecesAreWholeCopies) {
  auto pieces = cubePieces({5, 7}, policy(-1, -1, 3, 1));
  ASSERT_EQ(pieces.size(), 3u);
  for (const CubePiece &piece : pieces) {
    EXPECT_EQ(piece.box.offsets, (llvm::SmallVector<int64_t, 2>{0, 0}));
    EXPECT_EQ(piece.box.sizes, (llvm::SmallVector<int64_t, 2>{5, 7}));
  }
}

TEST_F(TilingTest, SplitEvenlyGivesTheRemainderToTheFirstParts) {
  Box box{{2, 0}, {10, 4}};
  auto parts = splitEvenly(box, 0, 4);
  ASSERT_EQ(parts.size(), 4u);
  int64_t expectedSizes[] = {3, 3, 2, 2};
  int64_t offset = 2;
  for (auto [part, size] : llvm::zip_equal(parts, expectedSizes)) {
    EXPECT_EQ(part.offsets[0], offset);
    EXPECT_EQ(part.sizes[0], size);
    EXPECT_EQ(part.sizes[1], 4);
    offset += size;
  }
}

TEST_F(TilingTest, PeReplicatedSharesUseItsPesAlongTheLongerDimension) {
  Box box{{0, 0}, {4, 64}};
  auto shares = peShares(box, policy(-1, -1, 1, 8), /*pesPerCube=*/8);
  ASSERT_EQ(shares.size(), 8u);
  for (const Box &share : shares) {
    EXPECT_EQ(share.sizes[0], 4);
    EXPECT_EQ(share.sizes[1], 8);
  }
}

TEST_F(TilingTest, PeReplicatedOnOnePeComputesEverythingThere) {
  // kernbench's DPPolicy(replicate, replicate, num_cubes=1, num_pes=1): the
  // seed's placement puts the whole result on one PE.
  Box box{{0, 0}, {4, 64}};
  auto shares = peShares(box, policy(-1, -1, 1, 1), /*pesPerCube=*/8);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0], box);
  auto two = peShares(box, policy(-1, -1, 1, 2), /*pesPerCube=*/8);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].offsets[1], 32);
}

TEST_F(TilingTest, EmptySharesAreDropped) {
  Box box{{0, 0}, {3, 2}};
  auto shares = peShares(box, policy(-1, 0, 1, 8), /*pesPerCube=*/8);
  EXPECT_EQ(shares.size(), 3u);
}

TEST_F(TilingTest, OneCubesPieceIsThatOfAllThePieces) {
  for (Placement p : {policy(1, -1, 4, 1), policy(0, -1, 2, 1),
                      policy(-1, -1, 3, 1)}) {
    auto pieces = cubePieces({8, 12}, p);
    for (const CubePiece &piece : pieces)
      EXPECT_EQ(cubePieceBox({8, 12}, p, piece.cube), piece.box);
    EXPECT_FALSE(cubePieceBox({8, 12}, p, pieces.size()).has_value());
    EXPECT_FALSE(cubePieceBox({8, 12}, p, -1).has_value());
  }
}

TEST_F(TilingTest, SharesOnThousandsOfPesAreTheNonEmptyOnes) {
  // A cube of 4096 PEs gives 3 rows to 3 PEs, as 8 PEs would: the shares
  // past the rows are neither kept nor made.
  Box box{{0, 0}, {3, 2}};
  auto few = peShares(box, policy(-1, 0, 1, 8), /*pesPerCube=*/8);
  auto many = peShares(box, policy(-1, 0, 1, 4096), /*pesPerCube=*/4096);
  EXPECT_EQ(few, many);
  EXPECT_EQ(rowShares(Box{{0, 0}, {5, 32}}, 0, 4096),
            rowShares(Box{{0, 0}, {5, 32}}, 0, 5));
  auto heads = rowShares(Box{{0, 0}, {1, 48}}, 8, 4096);
  ASSERT_EQ(heads.size(), 6u);
  EXPECT_EQ(heads[5], (Box{{0, 40}, {1, 8}}));
  EXPECT_TRUE(peShares(Box{{0, 0}, {0, 4}}, policy(-1, 0, 1, 8), 8).empty());
}

TEST_F(TilingTest, RowOpsWorkOnWholeRowsOrWholeHeads) {
  // A norm's piece of columns [8, 16) of 32 widens to the whole rows; a rope's
  // to whole heads of 12 ([0, 24)); a head-aligned piece stays as it is.
  Box piece{{2, 8}, {3, 8}};
  EXPECT_EQ(rowWorkBox(piece, 32, 0), (Box{{2, 0}, {3, 32}}));
  EXPECT_EQ(rowWorkBox(piece, 36, 12), (Box{{2, 0}, {3, 24}}));
  EXPECT_EQ(rowWorkBox(Box{{0, 12}, {3, 12}}, 36, 12), (Box{{0, 12}, {3, 12}}));
  // Rows over the PEs; one row's heads over them when rows are fewer.
  llvm::SmallVector<Box> rows = rowShares(Box{{0, 0}, {5, 32}}, 0, 4);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (Box{{0, 0}, {2, 32}}));
  EXPECT_EQ(rows[3], (Box{{4, 0}, {1, 32}}));
  llvm::SmallVector<Box> heads = rowShares(Box{{0, 0}, {1, 48}}, 8, 4);
  ASSERT_EQ(heads.size(), 4u);
  EXPECT_EQ(heads[0], (Box{{0, 0}, {1, 16}}));
  EXPECT_EQ(heads[3], (Box{{0, 40}, {1, 8}}));
  // A norm's one row stays on one PE.
  EXPECT_EQ(rowShares(Box{{0, 0}, {1, 48}}, 0, 4).size(), 1u);
}

TEST_F(TilingTest, BoxIntersectAndContain) {
  Box a{{0, 0}, {4, 4}}, b{{2, 3}, {4, 4}};
  std::optional<Box> overlap = a.intersect(b);
  ASSERT_TRUE(overlap);
  EXPECT_EQ(overlap->offsets, (llvm::SmallVector<int64_t, 2>{2, 3}));
  EXPECT_EQ(overlap->sizes, (llvm::SmallVector<int64_t, 2>{2, 1}));
  EXPECT_TRUE(a.contains(Box{{1, 1}, {3, 3}}));
  EXPECT_FALSE(a.contains(b));
  EXPECT_FALSE(a.intersect(Box{{4, 0}, {1, 1}}));
}

TEST_F(TilingTest, ChosenTilesFitThePeBuffer) {
  DeviceDescription device;
  for (int64_t eb : {2, 4}) {
    for (int64_t k : {1, 16, 1000, 16384}) {
      for (int64_t bufferKiB : {4, 64, 512}) {
        device.peBufferKiB = bufferKiB;
        std::optional<GemmTileSizes> tile =
            chooseGemmTile(300, 200, k, eb, device);
        ASSERT_TRUE(tile) << "k " << k << " buffer " << bufferKiB;
        EXPECT_LE(gemmTileWorkingSet(tile->m, tile->n, tile->kChunk, eb),
                  device.peBufferBytes());
        EXPECT_GE(tile->kChunk, std::min<int64_t>(k, 16));
        EXPECT_LE(tile->kChunk, k);
        // The next larger chunk would not fit, unless the chunk is all of k.
        if (tile->kChunk < k) {
          EXPECT_GT(gemmTileWorkingSet(tile->m, tile->n, tile->kChunk + 1, eb),
                    device.peBufferBytes());
        }
      }
    }
  }
}

TEST_F(TilingTest, SlabThatFitsIsOneTile) {
  DeviceDescription device;
  // A GPT-3 column slab on one PE: 8 tokens × 192 columns, k = 12288, f16.
  std::optional<GemmTileSizes> tile = chooseGemmTile(8, 192, 12288, 2, device);
  ASSERT_TRUE(tile);
  EXPECT_EQ(tile->m, 8);
  EXPECT_EQ(tile->n, 192);
  // (8·kc + kc·192)·2·2 + 8·192·4 <= 512 KiB  =>  kc <= 647.
  EXPECT_EQ(tile->kChunk, 647);
}

TEST_F(TilingTest, LargeSlabTakesTheMostIntenseTileThatFits) {
  DeviceDescription device;
  // 512 × 512 does not fit (its accumulator alone is 1 MiB); 512 × 128 does,
  // and reads fewer operand bytes per flop than 128 × 128.
  std::optional<GemmTileSizes> tile = chooseGemmTile(512, 512, 4096, 2, device);
  ASSERT_TRUE(tile);
  EXPECT_EQ(tile->m, 512);
  EXPECT_EQ(tile->n, 128);
  // (512·kc + kc·128)·2·2 + 512·128·4 <= 512 KiB  =>  kc <= 102.
  EXPECT_EQ(tile->kChunk, 102);
}

TEST_F(TilingTest, AbsurdSlabsDoNotOverflowTheWorkingSet) {
  DeviceDescription device;
  int64_t huge = int64_t{1} << 40;
  EXPECT_EQ(gemmTileWorkingSet(huge, huge, huge, 4),
            std::numeric_limits<int64_t>::max());
  std::optional<GemmTileSizes> tile = chooseGemmTile(huge, huge, 64, 4, device);
  ASSERT_TRUE(tile);
  EXPECT_LE(tile->m, 128);
  EXPECT_LE(tile->n, 128);
}

TEST_F(TilingTest, NumElementsSaturatesAndEmptyBoxesHoldNothing) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t huge = int64_t{1} << 62;
  EXPECT_EQ((Box{{0, 0}, {3, 5}}.numElements()), 15);
  EXPECT_EQ((Box{{0, 0}, {huge, 4}}.numElements()), kMax);
  EXPECT_EQ((Box{{0, 0}, {kMax, kMax}}.numElements()), kMax);
  // Zero wins wherever it stands, even after the product has saturated.
  EXPECT_EQ((Box{{0, 0, 0}, {huge, huge, 0}}.numElements()), 0);
}

TEST_F(TilingTest, CheckedByteSizeRefusesWhatInt64CannotHold) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(checkedByteSize({8, 16}, 4), 512);
  EXPECT_EQ(checkedByteSize({kMax}, 1), kMax);
  EXPECT_EQ(checkedByteSize({0, kMax}, 4), 0);
  // 2^58 rows of 16 f32 are 2^64 bytes.
  EXPECT_EQ(checkedByteSize({int64_t{1} << 58, 16}, 4), std::nullopt);
  EXPECT_EQ(checkedByteSize({kMax}, 2), std::nullopt);
  // A dynamic dimension has no byte count.
  EXPECT_EQ(checkedByteSize({std::numeric_limits<int64_t>::min(), 4}, 4),
            std::nullopt);
}

TEST_F(TilingTest, PiecesOfTheLargestDimensionDoNotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  auto parts = splitEvenly(Box{{0}, {kMax}}, 0, 4);
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts.back().offsets[0] + parts.back().sizes[0], kMax);
  auto pieces = cubePieces({4, kMax - 3}, policy(1, -1, 4, 1));
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces.back().box.offsets[1] + pieces.back().box.sizes[1],
            kMax - 3);
  EXPECT_TRUE((Box{{0, 0}, {4, kMax - 3}}.contains(pieces.back().box)));
}

TEST_F(TilingTest, HugeReductionsStreamInChunksThatFit) {
  DeviceDescription device;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::optional<GemmTileSizes> tile = chooseGemmTile(8, 8, kMax, 2, device);
  ASSERT_TRUE(tile);
  EXPECT_LE(gemmTileWorkingSet(tile->m, tile->n, tile->kChunk, 2),
            device.peBufferBytes());
  EXPECT_GE(tile->kChunk, 16);
}

TEST_F(TilingTest, NoTileFitsAnAbsurdlySmallBuffer) {
  DeviceDescription device;
  device.peBufferKiB = 0; // below any working set
  EXPECT_FALSE(chooseGemmTile(8, 8, 64, 4, device));
}

} // namespace
