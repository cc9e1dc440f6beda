//===- PackedWeightsTest.cpp - constant B blocks packed once per run ------===//

#include "kb/Runtime/PackedWeights.h"
#include "kb/Runtime/DType.h"
#include "kb/Runtime/HostThreads.h"
#include "kb/Runtime/Kernels.h"

#include "gtest/gtest.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace kb::runtime;

namespace {

/// Three f16 column blocks of one weight (widths that end inside an NR
/// panel, k across two KC panel blocks of every kernel) and A's rows.
struct Weights {
  static constexpr int64_t k = 700;
  std::vector<int64_t> widths{86, 64, 100};
  int64_t ldb = 250;
  std::vector<uint16_t> b = std::vector<uint16_t>(k * 250);
  std::vector<float> a;
  int64_t m;

  explicit Weights(int64_t m) : a(m * k), m(m) {
    // Small integers: every sum is exact, so the reference is the sum.
    for (int64_t i = 0; i < m * k; ++i)
      a[i] = static_cast<float>((i * 3) % 7) - 3.0f;
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = floatToHalf(static_cast<float>((i * 5) % 9) - 4.0f);
  }

  /// C of rows [row, row + rows) for each block, NaN-filled first, by
  /// `kernel`.
  std::vector<std::vector<float>> product(GemmKernel kernel, int64_t row,
                                          int64_t rows,
                                          PackedWeights *weights) const {
    std::vector<std::vector<float>> c;
    std::vector<GemmColumns> cols;
    int64_t at = 0;
    for (int64_t n : widths) {
      c.emplace_back(rows * n, std::numeric_limits<float>::quiet_NaN());
      GemmColumns block;
      block.halfB = b.data() + at;
      block.ldb = ldb;
      block.c = c.back().data();
      block.ldc = n;
      block.n = n;
      cols.push_back(block);
      at += n;
    }
    gemmColumnsWith(kernel, a.data() + row * k, k, cols.data(), cols.size(),
                    rows, k, /*accumulate=*/false, weights);
    return c;
  }

  void expectReference(const std::vector<std::vector<float>> &c, int64_t row,
                       int64_t rows) const {
    int64_t at = 0;
    for (size_t s = 0; s < widths.size(); at += widths[s], ++s)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < widths[s]; ++j) {
          float expected = 0.0f;
          for (int64_t p = 0; p < k; ++p)
            expected += a[(row + i) * k + p] * halfToFloat(b[p * ldb + at + j]);
          ASSERT_EQ(c[s][i * widths[s] + j], expected)
              << "block " << s << " at " << row + i << "," << j;
        }
  }
};

/// The variants this CPU runs (the cached panels' widths and loads differ).
std::vector<GemmKernel> kernels() {
  std::vector<GemmKernel> all;
  for (GemmKernel kernel :
       {GemmKernel::Portable, GemmKernel::AVX2, GemmKernel::AVX512})
    if (gemmKernelSupported(kernel))
      all.push_back(kernel);
  return all;
}

TEST(PackedWeightsTest, ProductsOfFewRowsPackEachBlockOnceWithTheSameSums) {
  Weights w(200);
  for (GemmKernel kernel : kernels()) {
    SCOPED_TRACE("kernel " + std::to_string(static_cast<int>(kernel)));
    PackedWeights cache(size_t{64} << 20);
    // Three row bands, as a row-parallel gemm's chunks: the first packs the
    // three blocks, the others read them.
    const int64_t bands[][2] = {{0, 62}, {62, 62}, {124, 76}};
    for (const auto &band : bands) {
      auto cached = w.product(kernel, band[0], band[1], &cache);
      auto alone = w.product(kernel, band[0], band[1], nullptr);
      w.expectReference(cached, band[0], band[1]);
      for (size_t s = 0; s < cached.size(); ++s)
        EXPECT_EQ(std::memcmp(cached[s].data(), alone[s].data(),
                              cached[s].size() * sizeof(float)),
                  0)
            << "block " << s << " of the band at " << band[0];
    }
    EXPECT_EQ(cache.packs(), 3u);
    EXPECT_EQ(cache.hits(), 6u);
    // Each block's padded panels, all k rows, in f16.
    EXPECT_GE(cache.bytes(), size_t{(86 + 64 + 100) * Weights::k * 2});
    EXPECT_LT(cache.bytes(), size_t{(86 + 64 + 100) * Weights::k * 4});
  }
}

TEST(PackedWeightsTest, AccumulatingProductsReadThePackedBlocksToo) {
  Weights w(40);
  for (GemmKernel kernel : kernels()) {
    SCOPED_TRACE("kernel " + std::to_string(static_cast<int>(kernel)));
    PackedWeights cache(size_t{64} << 20);
    std::vector<float> c(40 * 86, 1.5f), ref(40 * 86, 1.5f);
    GemmColumns block;
    block.halfB = w.b.data();
    block.ldb = w.ldb;
    block.ldc = 86;
    block.n = 86;
    for (int twice = 0; twice < 2; ++twice) {
      block.c = c.data();
      gemmColumnsWith(kernel, w.a.data(), w.k, &block, 1, 40, w.k,
                      /*accumulate=*/true, &cache);
      block.c = ref.data();
      gemmColumnsWith(kernel, w.a.data(), w.k, &block, 1, 40, w.k,
                      /*accumulate=*/true);
    }
    EXPECT_EQ(std::memcmp(c.data(), ref.data(), c.size() * sizeof(float)), 0);
    // 1.5 + twice the product, exactly (small integers).
    for (int64_t i = 0; i < 40; ++i)
      for (int64_t j = 0; j < 86; ++j) {
        float sum = 0.0f;
        for (int64_t p = 0; p < w.k; ++p)
          sum += w.a[i * w.k + p] * halfToFloat(w.b[p * w.ldb + j]);
        ASSERT_EQ(c[i * 86 + j], 1.5f + 2 * sum) << i << "," << j;
      }
    EXPECT_EQ(cache.packs(), 1u);
    EXPECT_EQ(cache.hits(), 1u);
  }
}

TEST(PackedWeightsTest, TallProductsAndBlocksPastTheLimitPackAsAlone) {
  // A product of many rows packs B in its own buffer: the packing is a
  // small share of its work, and warm when it multiplies.
  GemmKernel best = kernels().back();
  Weights tall(1024);
  PackedWeights cache(size_t{64} << 20);
  tall.expectReference(tall.product(best, 0, 1024, &cache), 0, 1024);
  EXPECT_EQ(cache.packs() + cache.hits(), 0u);
  // A cache too small for the blocks holds none; the sums are the same.
  Weights w(50);
  PackedWeights small(4096);
  w.expectReference(w.product(best, 0, 50, &small), 0, 50);
  EXPECT_EQ(small.packs() + small.hits(), 0u);
  EXPECT_EQ(small.bytes(), 0u);
}

TEST(PackedWeightsTest, ConcurrentReadersOfABlockPackItOnce) {
  PackedWeights cache(size_t{1} << 20);
  std::atomic<int> packed{0};
  std::vector<const float *> seen(8);
  std::vector<std::function<void()>> work;
  int block = 0;
  for (int i = 0; i < 8; ++i)
    work.push_back([&, i] {
      seen[i] = static_cast<const float *>(cache.get(
          {&block, 1, 1, 1, 4, 32, 384}, 1024 * sizeof(float), [&](void *out) {
            ++packed;
            std::fill_n(static_cast<float *>(out), 1024, 2.0f);
          }));
    });
  runOnHostThreads(work, 4);
  EXPECT_EQ(packed.load(), 1);
  EXPECT_EQ(cache.packs(), 1u);
  EXPECT_EQ(cache.hits(), 7u);
  for (const float *p : seen) {
    ASSERT_EQ(p, seen[0]);
    EXPECT_EQ(p[1023], 2.0f);
  }
}

} // namespace
