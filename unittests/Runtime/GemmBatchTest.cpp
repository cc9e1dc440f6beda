//===- GemmBatchTest.cpp - joining and splitting a wait's gemm tiles ------===//

#include "kb/Runtime/GemmBatch.h"
#include "kb/Runtime/HostThreads.h"

#include "gtest/gtest.h"

#include <functional>
#include <vector>

using namespace kb::runtime;

namespace {

/// Values in [-0.5, 0.5), the same on every run.
std::vector<float> values(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (float &x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

/// One product C = A · B (m × n × k, padded leading dimensions) cut into the
/// tiles a device program gives its PEs.
struct Product {
  int64_t m, n, k, lda, ldb, ldc;
  std::vector<float> a, b, c;
  std::vector<uint16_t> halfB;
  Product(int64_t m, int64_t n, int64_t k)
      : m(m), n(n), k(k), lda(k + 3), ldb(n + 5), ldc(n + 1),
        a(values(m * lda, 1)), b(values(k * ldb, 2)), c(m * ldc, 0.25f) {
    for (float &x : b) {
      halfB.push_back(floatToHalf(x));
      x = halfToFloat(halfB.back());
    }
  }
  /// The tile of rows [i, i + rows) and columns [j, j + cols).
  GemmTask tile(int64_t i, int64_t rows, int64_t j, int64_t cols, bool half) {
    GemmTask t;
    t.a = a.data() + i * lda;
    t.lda = lda;
    if (half)
      t.halfB = halfB.data() + j;
    else
      t.b = b.data() + j;
    t.ldb = ldb;
    t.c = c.data() + i * ldc + j;
    t.ldc = ldc;
    t.m = rows;
    t.n = cols;
    t.k = k;
    t.accumulate = true;
    return t;
  }
  double expected(int64_t i, int64_t j) const {
    double sum = 0.25;
    for (int64_t p = 0; p < k; ++p)
      sum += static_cast<double>(a[i * lda + p]) * b[p * ldb + j];
    return sum;
  }
};

/// The 8 PEs of a cube: the same rows of A by neighbouring column blocks of
/// B, or neighbouring row blocks of A by the same B. Each joins into one
/// task covering the product.
TEST(GemmBatchTest, TilesOfOneProductJoinIntoOne) {
  Product p(96, 344, 64);
  for (bool half : {false, true}) {
    std::vector<GemmTask> byColumns, byRows;
    for (int64_t j = 0; j < 344; j += 43)
      byColumns.push_back(p.tile(0, 96, j, 43, half));
    for (int64_t i = 0; i < 96; i += 12)
      byRows.push_back(p.tile(i, 12, 0, 344, half));
    // Given out of order: joining sorts them.
    std::swap(byColumns[1], byColumns[6]);
    std::swap(byRows[0], byRows[5]);
    for (std::vector<GemmTask> *tiles : {&byColumns, &byRows}) {
      std::vector<GemmTask> joined = joinGemms(*tiles);
      ASSERT_EQ(joined.size(), 1u);
      EXPECT_EQ(joined[0].m, 96);
      EXPECT_EQ(joined[0].n, 344);
      EXPECT_EQ(joined[0].a, p.a.data());
      EXPECT_EQ(joined[0].c, p.c.data());
    }
  }
}

/// Tiles that are not one gemm cut in two stay apart: a gap between column
/// blocks, another accumulate flag, A rows that follow but C rows that do
/// not, f32 and f16 B at the same place.
TEST(GemmBatchTest, TilesThatAreNotOneProductStayApart) {
  Product p(96, 344, 64);
  std::vector<GemmTask> tiles = {p.tile(0, 48, 0, 64, false),
                                 p.tile(0, 48, 128, 64, false)};
  EXPECT_EQ(joinGemms(tiles).size(), 2u);
  tiles = {p.tile(0, 48, 0, 64, false), p.tile(0, 48, 64, 64, false)};
  tiles[1].accumulate = false;
  EXPECT_EQ(joinGemms(tiles).size(), 2u);
  tiles = {p.tile(0, 48, 0, 64, false), p.tile(48, 48, 0, 64, false)};
  tiles[1].c += 1;
  EXPECT_EQ(joinGemms(tiles).size(), 2u);
  tiles = {p.tile(0, 48, 0, 64, false), p.tile(0, 48, 64, 64, true)};
  EXPECT_EQ(joinGemms(tiles).size(), 2u);
}

/// Split for t threads, the parts cover the product once: a tall product is
/// cut by rows in multiples of 48, a wide one by columns in 64s, a small one
/// not at all, and every element is the double-precision sum.
TEST(GemmBatchTest, SplitPartsCoverTheProductAndMatchDoubles) {
  for (auto [m, n, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1000, 344, 96}, {96, 1376, 200}, {4, 900, 3000}, {8, 8, 8}}) {
    for (int threads : {1, 2, 3}) {
      Product p(m, n, k);
      std::vector<GemmTask> parts =
          splitGemms({p.tile(0, m, 0, n, /*half=*/true)}, threads);
      bool small = 2.0 * m * n * k < 8e6;
      EXPECT_EQ(parts.size(), small ? 1u : static_cast<size_t>(threads))
          << m << "x" << n << "x" << k << " on " << threads;
      std::vector<int> covered(m * n, 0);
      for (const GemmTask &t : parts) {
        int64_t row = (t.c - p.c.data()) / p.ldc,
                col = (t.c - p.c.data()) % p.ldc;
        if (parts.size() > 1 && m > n) {
          EXPECT_EQ(row % 48, 0);
        }
        if (parts.size() > 1 && m <= n) {
          EXPECT_EQ(col % 64, 0);
        }
        for (int64_t i = 0; i < t.m; ++i)
          for (int64_t j = 0; j < t.n; ++j)
            ++covered[(row + i) * n + col + j];
      }
      for (int c : covered)
        ASSERT_EQ(c, 1);
      std::vector<std::function<void()>> work;
      for (const GemmTask &t : parts)
        work.push_back([t] { t.run(); });
      runOnHostThreads(work, threads);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          ASSERT_NEAR(p.c[i * p.ldc + j], p.expected(i, j), 1e-5 * (k + 1))
              << i << "," << j;
    }
  }
}

/// A batch of equal tasks, at least two per thread, is not split; one task
/// of a batch is split so that no thread waits for a single large one.
TEST(GemmBatchTest, SplitsOnlyWhatTheThreadsNeed) {
  Product p(512, 1376, 256);
  std::vector<GemmTask> four;
  for (int64_t i = 0; i < 512; i += 128)
    four.push_back(p.tile(i, 128, 0, 1376, false));
  EXPECT_EQ(splitGemms(four, 2).size(), 4u);
  std::vector<GemmTask> three(four.begin(), four.begin() + 3);
  EXPECT_EQ(splitGemms(three, 2).size(), 6u);
  EXPECT_EQ(splitGemms(three, 1).size(), 3u);
}

/// A device tile's column blocks of one weight, each tile's C in its own
/// buffer (as each PE's output is): grouped into one task of blocks that
/// shares A, and cut for 1 to 3 threads (by rows when tall, by whole blocks
/// when wide), every element of C is bit for bit what each tile's own gemm
/// gives, added to C or overwriting it (86-column blocks: the kernel's
/// panels span blocks). Tiles with other A rows or another B type stay
/// apart.
TEST(GemmBatchTest, TilesSharingAGroupIntoOneTaskWithTheSameSums) {
  for (auto [m, cols, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {600, 86, 300}, {40, 300, 200}, {6, 86, 100}}) {
    for (bool half : {false, true}) {
      for (int threads : {1, 2, 3}) {
        for (bool accumulate : {true, false}) {
          int64_t tiles = 5, n = tiles * cols;
          Product p(m, n, k);
          // Each tile's C: its own buffer, of other leading dimension.
          int64_t ldc = cols + 3;
          std::vector<std::vector<float>> outs(tiles), refs(tiles);
          std::vector<GemmTask> tasks;
          for (int64_t t = 0; t < tiles; ++t) {
            outs[t] = values(m * ldc, 10 + t);
            refs[t] = outs[t];
            GemmTask task = p.tile(0, m, t * cols, cols, half);
            task.c = outs[t].data();
            task.ldc = ldc;
            task.outType = DType::F16;
            task.accumulate = accumulate;
            GemmTask ref = task;
            ref.c = refs[t].data();
            ref.run();
            tasks.push_back(task);
          }
          // A tile of other rows of A is not in the group.
          std::vector<float> other(m * ldc, 0.0f);
          GemmTask apart = p.tile(0, m, 0, cols, half);
          apart.accumulate = accumulate;
          apart.a += 1;
          apart.c = other.data();
          apart.ldc = ldc;
          tasks.push_back(apart);
          std::vector<GemmTask> grouped = groupGemms(tasks);
          ASSERT_EQ(grouped.size(), 2u);
          const GemmTask &group =
              grouped[0].blocks.empty() ? grouped[1] : grouped[0];
          EXPECT_EQ(group.blocks.size(), static_cast<size_t>(tiles));
          EXPECT_EQ(group.n, n);
          std::vector<GemmTask> parts = splitGemms(grouped, threads);
          if (m > 8 && threads > 1) {
            EXPECT_GT(parts.size(), 2u) << "the group is cut for the threads";
          }
          std::vector<std::function<void()>> work;
          for (const GemmTask &t : parts)
            work.push_back([t] { t.run(); });
          runOnHostThreads(work, threads);
          for (int64_t t = 0; t < tiles; ++t)
            for (int64_t i = 0; i < m * ldc; ++i)
              ASSERT_EQ(outs[t][i], refs[t][i])
                  << "tile " << t << " element " << i << ", " << m << "x"
                  << cols << "x" << k << (half ? " f16" : " f32") << " on "
                  << threads << (accumulate ? ", adding" : ", overwriting");
        }
      }
    }
  }
}

/// An A that lies in pieces (a replica read where its parts were copied
/// from: column bands, one cut in rows too), each in a buffer of its own:
/// the tiles reading the same pieces join by rows and group by columns as
/// tiles of one A do, are cut for 1 to 3 threads, and every element of C is
/// bit for bit what the tile's gemm on A in one buffer gives.
TEST(GemmBatchTest, TilesOfAnAInPiecesJoinAndGroupWithTheSameSums) {
  for (auto [m, cols, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {600, 86, 344}, {6, 300, 86}}) {
    for (int threads : {1, 2, 3}) {
      int64_t tiles = 4, n = tiles * cols;
      Product p(m, n, k);
      // A's columns in three bands, the middle one cut in two by rows.
      int64_t c1 = k / 3, c2 = 2 * k / 3, r1 = m / 2;
      std::vector<std::vector<float>> storage;
      auto piece = [&](int64_t row, int64_t col, int64_t rows, int64_t cols) {
        int64_t ld = cols + 2;
        storage.emplace_back(rows * ld);
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j)
            storage.back()[i * ld + j] = p.a[(row + i) * p.lda + col + j];
        return APiece{row, col, rows, cols, storage.back().data(), ld};
      };
      storage.reserve(4);
      auto pieces =
          std::make_shared<const std::vector<APiece>>(std::vector<APiece>{
              piece(0, 0, m, c1), piece(0, c1, r1, c2 - c1),
              piece(r1, c1, m - r1, c2 - c1), piece(0, c2, m, k - c2)});
      int64_t ldc = cols + 3;
      std::vector<std::vector<float>> outs(tiles), refs(tiles);
      std::vector<GemmTask> tasks;
      for (int64_t t = 0; t < tiles; ++t) {
        outs[t] = values(m * ldc, 20 + t);
        refs[t] = outs[t];
        GemmTask ref = p.tile(0, m, t * cols, cols, /*half=*/true);
        ref.c = refs[t].data();
        ref.ldc = ldc;
        ref.run();
        // Each tile in two row blocks, as two PEs' tiles.
        for (int64_t r : {int64_t{0}, m / 2}) {
          GemmTask task = ref;
          task.a = nullptr;
          task.aPieces = pieces;
          task.aRow = r;
          task.m = r == 0 ? m / 2 : m - m / 2;
          task.c = outs[t].data() + r * ldc;
          tasks.push_back(task);
        }
      }
      std::vector<GemmTask> grouped = groupGemms(joinGemms(tasks));
      ASSERT_EQ(grouped.size(), 1u);
      EXPECT_EQ(grouped[0].m, m);
      EXPECT_EQ(grouped[0].blocks.size(), static_cast<size_t>(tiles));
      std::vector<std::function<void()>> work;
      for (const GemmTask &t : splitGemms(grouped, threads))
        work.push_back([t] { t.run(); });
      runOnHostThreads(work, threads);
      for (int64_t t = 0; t < tiles; ++t)
        for (int64_t i = 0; i < m * ldc; ++i)
          ASSERT_EQ(outs[t][i], refs[t][i])
              << "tile " << t << " element " << i << ", " << m << "x" << cols
              << "x" << k << " on " << threads;
    }
  }
}

/// A band of a row-parallel product cut among a cube's PEs: each PE's rows
/// of A staged in a buffer of its own (in one piece or in pieces), all by
/// the same B blocks, each tile's C blocks in buffers of their own. The
/// tiles of more than kGemvMaxRows rows stack into one task (B packed once),
/// up to kMaxStackedRows rows, cut for 1 to 3 threads; every element of C is
/// bit for bit what the tile's own product gives. Tiles of a few rows, of
/// another B or of other flags stay apart.
TEST(GemmBatchTest, TilesByTheSameBStackWithTheSameSums) {
  for (bool half : {false, true}) {
    for (bool accumulate : {true, false}) {
      for (int threads : {1, 2, 3}) {
        int64_t blocks = 3, cols = 70, k = 420;
        Product p(1, blocks * cols, k);
        // Rows of each tile; the last two are too few to stack.
        std::vector<int64_t> rows{9, 13, 40, 9, 120, 100, 5, 8};
        std::vector<std::vector<float>> as, outs, refs;
        std::vector<std::vector<float>> storage;
        std::vector<GemmTask> tasks;
        as.reserve(rows.size());
        storage.reserve(rows.size());
        outs.reserve(rows.size() * blocks);
        refs.reserve(rows.size() * blocks);
        for (size_t t = 0; t < rows.size(); ++t) {
          int64_t m = rows[t], lda = k + 1 + t, ldc = cols + 2;
          as.push_back(values(m * lda, 40 + t));
          std::vector<GemmTask> tile;
          for (int64_t s = 0; s < blocks; ++s) {
            outs.push_back(values(m * ldc, 60 + t * blocks + s));
            refs.push_back(outs.back());
            GemmTask task = p.tile(0, m, s * cols, cols, half);
            task.a = as.back().data();
            task.lda = lda;
            task.m = m;
            task.c = outs.back().data();
            task.ldc = ldc;
            task.accumulate = accumulate;
            task.outType = DType::F16;
            GemmTask ref = task;
            ref.c = refs.back().data();
            ref.run();
            tile.push_back(task);
          }
          // Every other tile reads its A through pieces, as a replica's.
          if (t % 2) {
            int64_t r1 = m / 2;
            auto piece = [&](int64_t row, int64_t rowsHere) {
              storage.emplace_back(rowsHere * k);
              for (int64_t i = 0; i < rowsHere; ++i)
                for (int64_t j = 0; j < k; ++j)
                  storage.back()[i * k + j] = as.back()[(row + i) * lda + j];
              return APiece{row, 0, rowsHere, k, storage.back().data(), k};
            };
            storage.reserve(storage.size() + 2);
            auto pieces = std::make_shared<const std::vector<APiece>>(
                std::vector<APiece>{piece(0, r1), piece(r1, m - r1)});
            for (GemmTask &task : tile) {
              task.a = nullptr;
              task.aPieces = pieces;
            }
          }
          tasks.insert(tasks.end(), tile.begin(), tile.end());
        }
        std::vector<GemmTask> stacked = stackGemms(groupGemms(tasks));
        // The six tiles of more than 8 rows, 291 rows, in two stacks of at
        // most 256 (in whatever order they come); the two others apart.
        int64_t stackedRows = 0, fewRows = 0;
        for (const GemmTask &t : stacked) {
          if (t.m <= kGemvMaxRows) {
            EXPECT_TRUE(t.tiles.empty());
            ++fewRows;
            continue;
          }
          EXPECT_LE(t.m, kMaxStackedRows);
          stackedRows += t.m;
        }
        EXPECT_EQ(stackedRows, 291);
        EXPECT_EQ(fewRows, 2);
        EXPECT_EQ(stacked.size(), 4u);
        std::vector<std::function<void()>> work;
        for (const GemmTask &t : splitGemms(stacked, threads))
          work.push_back([t] { t.run(); });
        runOnHostThreads(work, threads);
        for (size_t o = 0; o < outs.size(); ++o)
          for (size_t i = 0; i < outs[o].size(); ++i)
            ASSERT_EQ(outs[o][i], refs[o][i])
                << "tile " << o / blocks << " block " << o % blocks
                << " element " << i << (half ? ", f16" : ", f32") << " on "
                << threads << (accumulate ? ", adding" : ", overwriting");
      }
    }
  }
}

/// Tiles of different B, or B's blocks cut otherwise, do not stack.
TEST(GemmBatchTest, TilesOfOtherBDoNotStack) {
  Product p(40, 200, 64);
  GemmTask first = p.tile(0, 20, 0, 100, false);
  GemmTask otherB = p.tile(20, 20, 100, 100, false);
  GemmTask narrower = p.tile(20, 20, 0, 90, false);
  GemmTask otherFlag = p.tile(20, 20, 0, 100, false);
  otherFlag.accumulate = false;
  for (const GemmTask &second : {otherB, narrower, otherFlag}) {
    std::vector<GemmTask> stacked = stackGemms({first, second});
    ASSERT_EQ(stacked.size(), 2u);
    EXPECT_TRUE(stacked[0].tiles.empty());
    EXPECT_TRUE(stacked[1].tiles.empty());
  }
  GemmTask sameB = p.tile(20, 20, 0, 100, false);
  std::vector<GemmTask> stacked = stackGemms({first, sameB});
  ASSERT_EQ(stacked.size(), 1u);
  EXPECT_EQ(stacked[0].tiles.size(), 2u);
  EXPECT_EQ(stacked[0].m, 40);
}

} // namespace
