//===- AttentionTilingTest.cpp - attention blocks over cubes and PEs ------===//

#include "kb/Device/AttentionTiling.h"
#include "kb/Device/CostModel.h"

#include "gtest/gtest.h"

#include <set>
#include <tuple>

using namespace kb;

namespace {

/// Every (query row, head) is computed by exactly one block; each block
/// stacks heads of one KV head, reads the keys up to its last row's position
/// and fits the PE buffer; its PE exists.
void expectExactCover(const AttentionShape &s, const Placement &policy,
                      const DeviceDescription &device) {
  llvm::Expected<llvm::SmallVector<AttentionBlock>> blocks =
      attentionBlocks(s, policy, device);
  ASSERT_TRUE(static_cast<bool>(blocks)) << llvm::toString(blocks.takeError());
  std::set<std::pair<int64_t, int64_t>> seen;
  int64_t group = s.numHeads / s.numKVHeads;
  for (const AttentionBlock &b : *blocks) {
    EXPECT_GE(b.pe, 0);
    EXPECT_LT(b.pe, device.pesPerCube);
    EXPECT_EQ(b.position, s.keys - s.queries + b.row);
    EXPECT_EQ(b.keys, b.position + b.rows);
    EXPECT_GE(b.keyChunk, 1);
    EXPECT_LE(b.keyChunk, b.keys);
    EXPECT_LE(attentionWorkingSet(b.heads * b.rows, b.keyChunk, s.headDim,
                                  s.elementBytes),
              device.peBufferBytes());
    for (int64_t h = b.head; h < b.head + b.heads; ++h) {
      EXPECT_EQ(h / group, b.kvHead) << "head " << h;
      for (int64_t r = b.row; r < b.row + b.rows; ++r)
        EXPECT_TRUE(seen.insert({r, h}).second) << "row " << r << " head " << h;
    }
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), s.queries * s.numHeads);
}

TEST(AttentionTilingTest, EveryRowAndHeadOnceUnderEveryKindOfPolicy) {
  DeviceDescription device;
  AttentionShape prefill{16, 16, 8, 2, 16, 2}, decode{1, 65, 4, 4, 128, 2},
      odd{7, 12, 6, 3, 10, 4};
  for (const AttentionShape &s : {prefill, decode, odd}) {
    int64_t columns = s.numHeads * s.headDim;
    for (Placement p : {Placement{-1, -1, 4, 1}, Placement{1, 0, 2, 1},
                        Placement{-1, 1, 4, 8}, Placement{0, -1, 1, 1},
                        Placement{1, 1, 2, 4}}) {
      // Only policies that divide the result's shape.
      if (p.cubeDim == 1 && columns % p.numCubes)
        continue;
      SCOPED_TRACE(testing::Message() << "S " << s.queries << " cubeDim "
                                      << p.cubeDim << " peDim " << p.peDim);
      expectExactCover(s, p, device);
    }
  }
  // A policy that cuts every head over cubes: 2 heads of 8 over 4 cubes.
  expectExactCover({4, 4, 2, 1, 8, 4}, Placement{1, -1, 4, 1}, device);
}

TEST(AttentionTilingTest, ALongContextIsStreamedNotRefused) {
  // 4096 keys of head_dim 128 in f16 are 1 MiB each of k and v, twice a PE
  // buffer: the blocks stream them in chunks.
  DeviceDescription device;
  llvm::Expected<llvm::SmallVector<AttentionBlock>> blocks =
      attentionBlocks({1, 4096, 1, 1, 128, 2}, Placement{-1, -1, 1, 1}, device);
  ASSERT_TRUE(static_cast<bool>(blocks));
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].keys, 4096);
  EXPECT_LT((*blocks)[0].keyChunk, 4096);
  EXPECT_LE(attentionWorkingSet(1, (*blocks)[0].keyChunk, 128, 2),
            device.peBufferBytes());
  EXPECT_GT(attentionWorkingSet(1, (*blocks)[0].keyChunk + 1, 128, 2),
            device.peBufferBytes());
}

TEST(AttentionTilingTest, AHeadTooWideForOneRowIsRefusedWithTheNumbers) {
  DeviceDescription device;
  device.peBufferKiB = 1;
  llvm::Expected<llvm::SmallVector<AttentionBlock>> blocks =
      attentionBlocks({2, 2, 1, 1, 256, 4}, Placement{-1, -1, 1, 1}, device);
  ASSERT_FALSE(static_cast<bool>(blocks));
  EXPECT_EQ(llvm::toString(blocks.takeError()),
            "needs 10256 bytes of PE buffer for one query row of one head "
            "(head_dim 256, a chunk of 2 keys), but a PE has 1024");
}

TEST(AttentionTilingTest, MoreBlocksThanADeviceProgramHoldsAreRefused) {
  // A 1 KiB buffer takes 4 rows of head_dim 2 at a time: 2^23 tokens need
  // 2^21 blocks.
  DeviceDescription device;
  device.peBufferKiB = 1;
  int64_t tokens = int64_t(1) << 23;
  llvm::Expected<llvm::SmallVector<AttentionBlock>> blocks = attentionBlocks(
      {tokens, tokens, 1, 1, 2, 4}, Placement{-1, -1, 1, 1}, device);
  ASSERT_FALSE(static_cast<bool>(blocks));
  EXPECT_EQ(llvm::toString(blocks.takeError()),
            "would need more than 1048576 attention blocks; the shapes are "
            "beyond the device");
}

TEST(AttentionTilingTest, WorkCountsBothProductsTheSoftmaxAndTheBytes) {
  // 2 heads x 3 rows against 5 keys of head_dim 4, f16.
  PEWork work = attentionWork(2, 3, 5, 4, 2, /*f32=*/false);
  EXPECT_EQ(work.flops, 2 * (4.0 * 3 * 5 * 4 + 5.0 * 3 * 5));
  EXPECT_EQ(work.bytes, (2.0 * 2 * 3 * 4 + 2.0 * 5 * 4) * 2);
  EXPECT_FALSE(work.f32);
}

} // namespace

namespace {

TEST(AttentionTilingTest, DecodeSplitsALongCacheOverTheIdlePEs) {
  // One query of one head against 4096 keys on a cube of 8 PEs: the block's
  // keys are cut into contiguous ranges of at least kMinKeysPerSplit keys,
  // one PE each, and the split's time (longest partial, then the combine)
  // is below the whole block's on one PE, as placement charges it.
  DeviceDescription device;
  AttentionShape s{1, 4096, 1, 1, 128, 2};
  llvm::Expected<llvm::SmallVector<AttentionBlock>> blocks =
      attentionBlocks(s, Placement{-1, -1, 1, 1}, device);
  ASSERT_TRUE(static_cast<bool>(blocks)) << llvm::toString(blocks.takeError());
  ASSERT_EQ(blocks->size(), 1u);
  const AttentionBlock &b = (*blocks)[0];
  EXPECT_GT(b.splits, 1);
  EXPECT_LE(b.pe + b.splits, device.pesPerCube);
  int64_t next = 0;
  for (int64_t i = 0; i < b.splits; ++i) {
    auto [first, count] = b.keyRange(i);
    EXPECT_EQ(first, next) << "range " << i;
    EXPECT_GE(count, kMinKeysPerSplit) << "range " << i;
    EXPECT_LE(b.keyChunk, count);
    next = first + count;
  }
  EXPECT_EQ(next, b.keys);
  llvm::SmallVector<std::pair<int64_t, double>, 8> busy =
      attentionBlockPESeconds(b, 128, 2, false, device);
  ASSERT_EQ(static_cast<int64_t>(busy.size()), b.splits);
  double whole = peSeconds(device, attentionWork(1, 1, 4096, 128, 2, false));
  EXPECT_LT(busy.front().second, whole);
  for (auto [i, entry] : llvm::enumerate(busy))
    EXPECT_EQ(entry.first, b.pe + static_cast<int64_t>(i));
}

TEST(AttentionTilingTest, ShortCachesAndBusyPEsAreNotSplit) {
  DeviceDescription device;
  // 100 keys: no two ranges of kMinKeysPerSplit.
  llvm::Expected<llvm::SmallVector<AttentionBlock>> shortCache =
      attentionBlocks({1, 100, 1, 1, 128, 2}, Placement{-1, -1, 1, 1}, device);
  ASSERT_TRUE(static_cast<bool>(shortCache));
  for (const AttentionBlock &b : *shortCache)
    EXPECT_EQ(b.splits, 1);
  // Eight query rows over the cube's eight PEs: none idle.
  llvm::Expected<llvm::SmallVector<AttentionBlock>> busy = attentionBlocks(
      {8, 4096, 1, 1, 128, 2}, Placement{-1, 0, 1, device.pesPerCube},
      device);
  ASSERT_TRUE(static_cast<bool>(busy));
  EXPECT_EQ(static_cast<int64_t>(busy->size()), device.pesPerCube);
  for (const AttentionBlock &b : *busy)
    EXPECT_EQ(b.splits, 1);
}

} // namespace
