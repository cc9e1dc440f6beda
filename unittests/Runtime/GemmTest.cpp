//===- GemmTest.cpp - gemm and elementwise kernels against references -----===//

#include "kb/Runtime/HostThreads.h"
#include "kb/Runtime/Kernels.h"

#include "llvm/ADT/STLExtras.h"
#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <string>
#include <functional>
#include <tuple>
#include <vector>

using namespace kb::runtime;

namespace {

struct Case {
  int64_t m, n, k, lda, ldb, ldc;
  bool accumulate;
};

class GemmTest : public ::testing::TestWithParam<std::tuple<GemmKernel, Case>> {
};

TEST_P(GemmTest, MatchesNaiveDoubleAccumulation) {
  auto [kernel, c] = GetParam();
  if (!gemmKernelSupported(kernel))
    GTEST_SKIP() << "this CPU cannot run the variant";
  std::vector<float> a(std::max<int64_t>(c.m * c.lda, 1)),
      b(std::max<int64_t>(c.k * c.ldb, 1)),
      out(std::max<int64_t>(c.m * c.ldc, 1));
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  };
  for (float &v : a)
    v = next();
  for (float &v : b)
    v = next();
  for (float &v : out)
    v = next();
  std::vector<float> before = out;
  gemmWith(kernel, a.data(), c.lda, b.data(), c.ldb, out.data(), c.ldc, c.m,
           c.n, c.k, c.accumulate);
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.ldc; ++j) {
      if (j >= c.n) {
        // Past the n columns the output is untouched.
        EXPECT_EQ(out[i * c.ldc + j], before[i * c.ldc + j]);
        continue;
      }
      double expected = c.accumulate ? before[i * c.ldc + j] : 0.0;
      for (int64_t p = 0; p < c.k; ++p)
        expected += static_cast<double>(a[i * c.lda + p]) * b[p * c.ldb + j];
      EXPECT_NEAR(out[i * c.ldc + j], expected, 1e-5 * (c.k + 1))
          << "at " << i << "," << j;
    }
  }
}

// B held as f16 bits: the result is that of the f32 gemm on the widened B,
// bit for bit (the kernels widen exactly and sum in the same order), and
// within the f32 tolerance of a double-precision product of the f16 values.
TEST_P(GemmTest, HalfWeightsMatchTheWidenedProduct) {
  auto [kernel, c] = GetParam();
  if (!gemmKernelSupported(kernel))
    GTEST_SKIP() << "this CPU cannot run the variant";
  std::vector<float> a(std::max<int64_t>(c.m * c.lda, 1)),
      out(std::max<int64_t>(c.m * c.ldc, 1));
  std::vector<uint16_t> half(std::max<int64_t>(c.k * c.ldb, 1));
  uint32_t state = 777;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  };
  for (float &v : a)
    v = next();
  for (uint16_t &h : half)
    h = floatToHalf(next() * 4.0f);
  std::vector<float> wide(half.size());
  for (size_t i = 0; i < half.size(); ++i)
    wide[i] = halfToFloat(half[i]);
  for (float &v : out)
    v = next();
  std::vector<float> before = out, widened = out;
  gemmWith(kernel, a.data(), c.lda, half.data(), c.ldb, out.data(), c.ldc, c.m,
           c.n, c.k, c.accumulate);
  gemmWith(kernel, a.data(), c.lda, wide.data(), c.ldb, widened.data(), c.ldc,
           c.m, c.n, c.k, c.accumulate);
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.ldc; ++j) {
      if (j >= c.n) {
        EXPECT_EQ(out[i * c.ldc + j], before[i * c.ldc + j]);
        continue;
      }
      EXPECT_EQ(out[i * c.ldc + j], widened[i * c.ldc + j])
          << "at " << i << "," << j;
      double expected = c.accumulate ? before[i * c.ldc + j] : 0.0;
      for (int64_t p = 0; p < c.k; ++p)
        expected += static_cast<double>(a[i * c.lda + p]) *
                    halfToFloat(half[p * c.ldb + j]);
      EXPECT_NEAR(out[i * c.ldc + j], expected, 4e-5 * (c.k + 1))
          << "at " << i << "," << j;
    }
  }
}

std::string
caseName(const ::testing::TestParamInfo<std::tuple<GemmKernel, Case>> &info) {
  GemmKernel kernel = std::get<0>(info.param);
  const Case &c = std::get<1>(info.param);
  const char *names[] = {"portable", "avx2", "avx512"};
  return std::string(names[static_cast<int>(kernel)]) + "_m" +
         std::to_string(c.m) + "n" + std::to_string(c.n) + "k" +
         std::to_string(c.k) + (c.accumulate ? "acc" : "");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmTest,
    ::testing::Combine(
        ::testing::Values(GemmKernel::Portable, GemmKernel::AVX2,
                          GemmKernel::AVX512),
        ::testing::Values(Case{1, 1, 1, 1, 1, 1, false},
                          Case{7, 13, 5, 5, 13, 13, false},
                          Case{33, 65, 17, 17, 65, 65, true},
                          Case{127, 129, 300, 310, 140, 133, false},
                          Case{256, 512, 384, 384, 512, 512, true},
                          Case{12, 32, 1000, 1000, 32, 32, false},
                          Case{5, 6, 0, 1, 6, 6, false},
                          Case{5, 6, 0, 1, 6, 6, true},
                          // At most kGemvMaxRows rows: the unpacked,
                          // B-streaming kernel, every row-group size, column
                          // tails of each vector width and k not a multiple
                          // of its 4-row step.
                          Case{1, 1000, 77, 80, 1003, 1001, false},
                          Case{2, 33, 5, 5, 40, 35, true},
                          Case{3, 17, 2, 3, 17, 17, false},
                          Case{4, 4097, 301, 301, 4100, 4097, true},
                          Case{5, 129, 1, 2, 130, 131, false},
                          Case{6, 64, 64, 64, 64, 64, true},
                          Case{7, 250, 999, 1001, 250, 251, false},
                          Case{8, 31, 513, 513, 31, 32, true},
                          Case{9, 100, 200, 200, 100, 100, false})),
    caseName);

/// A (m × k) and B (k × n) of small integers, so that every partial sum of
/// their product is exact in f32 whatever the order.
struct SmallIntegerOperands {
  int64_t m, n, k;
  std::vector<float> a, b;
  SmallIntegerOperands(int64_t m, int64_t n, int64_t k)
      : m(m), n(n), k(k), a(m * k), b(k * n) {
    for (int64_t i = 0; i < m * k; ++i)
      a[i] = static_cast<float>((i * 7) % 11) - 5.0f;
    for (int64_t i = 0; i < k * n; ++i)
      b[i] = static_cast<float>((i * 5) % 13) - 6.0f;
  }
  /// Checks c (m × n, ldc n) is `start` + A · B exactly; `what` names the
  /// case in a failure.
  void expectProduct(const std::vector<float> &c, float start,
                     const std::string &what) const {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float expected = start;
        for (int64_t p = 0; p < k; ++p)
          expected += a[i * k + p] * b[p * n + j];
        ASSERT_EQ(c[i * n + j], expected)
            << what << " m" << m << " n" << n << " k" << k << " at " << i << ","
            << j;
      }
  }
};

std::string kernelName(GemmKernel kernel) {
  return "kernel " + std::to_string(static_cast<int>(kernel));
}

// The packing buffers are kept per thread and not zero-filled, so they hold
// the previous product's panels: a product with partial panels (m, n and k
// not multiples of the micro-tile) after one that filled the buffers with NaN
// must still read only what its own packing wrote, padding included.
TEST(GemmPackingTest, StalePackingBuffersDoNotReachTheResult) {
  for (GemmKernel kernel :
       {GemmKernel::Portable, GemmKernel::AVX2, GemmKernel::AVX512}) {
    if (!gemmKernelSupported(kernel))
      continue;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    // Wide and deep enough to fill the whole A and B packing buffers
    // (more than a B block's columns and an A block's rows).
    int64_t bm = 300, bn = 3100, bk = 400;
    std::vector<float> a(bm * bk, nan), b(bk * bn, nan), out(bm * bn, 0.0f);
    gemmWith(kernel, a.data(), bk, b.data(), bn, out.data(), bn, bm, bn, bk,
             false);
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{13, 300, 7},
                           {145, 37, 385}, {9, 3077, 10}}) {
      SmallIntegerOperands ops(m, n, k);
      std::vector<float> c(m * n, 0.0f);
      gemmWith(kernel, ops.a.data(), k, ops.b.data(), n, c.data(), n, m, n, k,
               false);
      ASSERT_NO_FATAL_FAILURE(ops.expectProduct(c, 0.0f, kernelName(kernel)));
    }
  }
}

// A block's last columns go through half- and quarter-width panels and
// micro-kernels (panelWidth): every remainder of the widest panel, and a
// device tile's 86 and 172 columns, against exact small-integer sums, with
// A read in place (narrow blocks) and packed (its last partial row panel).
TEST(GemmPackingTest, EveryColumnTailIsExact) {
  for (GemmKernel kernel :
       {GemmKernel::Portable, GemmKernel::AVX2, GemmKernel::AVX512}) {
    if (!gemmKernelSupported(kernel))
      continue;
    std::vector<int64_t> widths;
    for (int64_t n = 1; n <= 70; ++n)
      widths.push_back(n);
    widths.insert(widths.end(), {86, 172, 300});
    for (int64_t n : widths) {
      int64_t m = 29, k = 41;
      SmallIntegerOperands ops(m, n, k);
      std::vector<float> c(m * n, 1.0f);
      gemmWith(kernel, ops.a.data(), k, ops.b.data(), n, c.data(), n, m, n, k,
               /*accumulate=*/true);
      ASSERT_NO_FATAL_FAILURE(ops.expectProduct(c, 1.0f, kernelName(kernel)));
    }
  }
}

// A last panel of A shorter than the micro-tile is multiplied by a kernel
// of a third or two thirds of its rows where that holds it
// (remainderRows): every row count past the matrix-vector kernel's, up to
// two whole panels and every remainder of each variant's tile, with A read
// in place (40 columns) or packed (300), k across two KC panels, C
// overwritten (NaN before) or accumulated into; exact small-integer sums.
TEST(GemmPackingTest, EveryRowRemainderIsExact) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (GemmKernel kernel :
       {GemmKernel::Portable, GemmKernel::AVX2, GemmKernel::AVX512}) {
    if (!gemmKernelSupported(kernel))
      continue;
    for (int64_t m = 9; m <= 33; ++m)
      for (int64_t n : {40, 300})
        for (bool accumulate : {false, true}) {
          int64_t k = 400;
          SmallIntegerOperands ops(m, n, k);
          std::vector<float> c(m * n, accumulate ? 1.0f : nan);
          gemmWith(kernel, ops.a.data(), k, ops.b.data(), n, c.data(), n, m, n,
                   k, accumulate);
          ASSERT_NO_FATAL_FAILURE(ops.expectProduct(
              c, accumulate ? 1.0f : 0.0f,
              kernelName(kernel) + (accumulate ? ", accumulating," : "")));
        }
  }
}

// A packed by 4 × 4 transposed blocks (packPanelA4: whole MR-row panels,
// k in steps of 4, the rest column by column) and f16 B rows converted 16
// and 8 at a time with the last n % 8 through a padded copy: k around every
// multiple of 4 and across a KC panel, A's rows at an odd stride (unaligned
// loads), 300 columns (so A is packed) whose blocks end on every n % 8;
// exact small-integer sums, f16 and f32 B alike.
TEST(GemmPackingTest, PackedAPanelsAndHalfRowTailsAreExact) {
  for (GemmKernel kernel :
       {GemmKernel::Portable, GemmKernel::AVX2, GemmKernel::AVX512}) {
    if (!gemmKernelSupported(kernel))
      continue;
    for (int64_t k : {1, 2, 3, 4, 5, 7, 8, 41, 385})
      for (int64_t n : {300, 297, 263, 258}) {
        int64_t m = 37, lda = k + 3;
        std::vector<float> a(m * lda), b(k * n), c(m * n), ch(m * n);
        std::vector<uint16_t> half(k * n);
        for (int64_t i = 0; i < m * lda; ++i)
          a[i] = static_cast<float>((i * 7) % 11) - 5.0f;
        for (int64_t i = 0; i < k * n; ++i) {
          b[i] = static_cast<float>((i * 5) % 13) - 6.0f;
          half[i] = floatToHalf(b[i]);
        }
        gemmWith(kernel, a.data(), lda, b.data(), n, c.data(), n, m, n, k,
                 false);
        gemmWith(kernel, a.data(), lda, half.data(), n, ch.data(), n, m, n, k,
                 false);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            float expected = 0.0f;
            for (int64_t p = 0; p < k; ++p)
              expected += a[i * lda + p] * b[p * n + j];
            ASSERT_EQ(c[i * n + j], expected)
                << "kernel " << static_cast<int>(kernel) << " k" << k << " n"
                << n << " at " << i << "," << j;
            ASSERT_EQ(ch[i * n + j], expected)
                << "f16 B, kernel " << static_cast<int>(kernel) << " k" << k
                << " n" << n << " at " << i << "," << j;
          }
      }
  }
}

// Without accumulate the blocked kernel writes C on its first panel of k
// instead of adding to a zero-filled C: whatever C held (NaN here) is gone,
// in whole and partial micro-tiles, with A read in place (narrow blocks) or
// packed (wide), k across several panels, and several column blocks.
TEST(GemmPackingTest, OverwritingIgnoresWhatCHeld) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (GemmKernel kernel :
       {GemmKernel::Portable, GemmKernel::AVX2, GemmKernel::AVX512}) {
    if (!gemmKernelSupported(kernel))
      continue;
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{29, 86, 800},
                           {9, 300, 5}, {40, 33, 1}, {13, 700, 390}}) {
      std::vector<float> a(m * k), b(k * n), c(m * n, nan);
      for (int64_t i = 0; i < m * k; ++i)
        a[i] = static_cast<float>((i * 7) % 11) - 5.0f;
      for (int64_t i = 0; i < k * n; ++i)
        b[i] = static_cast<float>((i * 5) % 13) - 6.0f;
      gemmWith(kernel, a.data(), k, b.data(), n, c.data(), n, m, n, k,
               /*accumulate=*/false);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          float expected = 0.0f;
          for (int64_t p = 0; p < k; ++p)
            expected += a[i * k + p] * b[p * n + j];
          ASSERT_EQ(c[i * n + j], expected)
              << "kernel " << static_cast<int>(kernel) << " m" << m << " n"
              << n << " k" << k << " at " << i << "," << j;
        }
    }
  }
  // Three blocks sharing A, each C in its own NaN-filled buffer.
  int64_t m = 30, k = 400;
  std::vector<float> a(m * k), b(k * 3 * 86);
  for (int64_t i = 0; i < m * k; ++i)
    a[i] = static_cast<float>((i * 3) % 7) - 3.0f;
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<float>((i * 5) % 9) - 4.0f;
  std::vector<std::vector<float>> c(3, std::vector<float>(m * 86, nan));
  std::vector<GemmColumns> cols(3);
  for (int s = 0; s < 3; ++s) {
    cols[s].b = b.data() + s * 86;
    cols[s].ldb = 3 * 86;
    cols[s].c = c[s].data();
    cols[s].ldc = 86;
    cols[s].n = 86;
  }
  gemmColumns(a.data(), k, cols.data(), 3, m, k, /*accumulate=*/false);
  for (int s = 0; s < 3; ++s)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < 86; ++j) {
        float expected = 0.0f;
        for (int64_t p = 0; p < k; ++p)
          expected += a[i * k + p] * b[p * 3 * 86 + s * 86 + j];
        ASSERT_EQ(c[s][i * 86 + j], expected)
            << "block " << s << " at " << i << "," << j;
      }
}

TEST(HostThreadsTest, RunsEveryItemOnceWhateverTheThreads) {
  for (int threads : {1, 2, 4, 16}) {
    std::vector<int> hits(100, 0);
    std::vector<std::function<void()>> work;
    for (int i = 0; i < 100; ++i)
      work.push_back([&hits, i] { ++hits[i]; });
    runOnHostThreads(work, threads);
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(hits[i], 1) << "item " << i << " on " << threads;
  }
}

TEST(KernelsTest, GeluMatchesADoubleReferenceEverywhere) {
  // Every lane position and tail length, over the range where GELU bends and
  // far into both saturations, plus the extremes of f32.
  std::vector<float> in;
  for (double x = -120; x <= 120; x += 0.00137)
    in.push_back(static_cast<float>(x));
  for (float x :
       {0.0f, -0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f, 3.4e38f, -3.4e38f})
    in.push_back(x);
  for (size_t n : {in.size(), in.size() - 1, in.size() - 2, in.size() - 3}) {
    std::vector<float> out(n, 42.0f);
    geluTanh(in.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      double x = in[i];
      // x · sigmoid(2y), in double: equal to 0.5·x·(1 + tanh(y)) without its
      // cancellation for large negative x.
      double expected =
          x /
          (1 + std::exp(-2 * 0.7978845608028654 * (x + 0.044715 * x * x * x)));
      ASSERT_NEAR(out[i], expected, 1e-6 + 2e-5 * std::fabs(expected))
          << "x = " << x << " (element " << i << " of " << n << ")";
    }
  }
  float nan = std::numeric_limits<float>::quiet_NaN(), out;
  geluTanh(&nan, &out, 1);
  EXPECT_TRUE(std::isnan(out));
}

TEST(KernelsTest, SiluMatchesADoubleReferenceEverywhere) {
  std::vector<float> in;
  for (double x = -120; x <= 120; x += 0.00137)
    in.push_back(static_cast<float>(x));
  for (float x :
       {0.0f, -0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f, 3.4e38f, -3.4e38f})
    in.push_back(x);
  for (size_t n : {in.size(), in.size() - 1, in.size() - 2, in.size() - 3}) {
    std::vector<float> out(n, 42.0f);
    silu(in.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      double x = in[i];
      double expected = x / (1 + std::exp(-x));
      ASSERT_NEAR(out[i], expected, 1e-6 + 2e-5 * std::fabs(expected))
          << "x = " << x << " (element " << i << " of " << n << ")";
    }
  }
  float nan = std::numeric_limits<float>::quiet_NaN(), out;
  silu(&nan, &out, 1);
  EXPECT_TRUE(std::isnan(out));
}

TEST(KernelsTest, Products) {
  float a[] = {1, -2, 3, 0.5f}, b[] = {4, 5, -6, 2};
  mulInPlace(a, b, 4);
  EXPECT_EQ(a[0], 4);
  EXPECT_EQ(a[1], -10);
  EXPECT_EQ(a[2], -18);
  EXPECT_EQ(a[3], 1);
  float rows[] = {1, 2, 3, 4, 5, 6}, weight[] = {10, -1, 0.5f};
  mulRows(rows, weight, 2, 3);
  EXPECT_EQ(rows[0], 10);
  EXPECT_EQ(rows[1], -2);
  EXPECT_EQ(rows[2], 1.5f);
  EXPECT_EQ(rows[3], 40);
  EXPECT_EQ(rows[5], 3);
}

TEST(KernelsTest, GeluAndReductions) {
  float in[] = {-3.0f, -1.0f, 0.0f, 0.5f, 2.0f}, out[5];
  geluTanh(in, out, 5);
  for (int i = 0; i < 5; ++i) {
    double x = in[i];
    double expected =
        0.5 * x *
        (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(out[i], expected, 1e-6);
  }
  float a[] = {1, 5, -2}, b[] = {3, 4, -1};
  reduceInto(a, b, 3, ReduceOp::Max);
  EXPECT_EQ(a[0], 3);
  EXPECT_EQ(a[1], 5);
  EXPECT_EQ(a[2], -1);
  reduceInto(a, b, 3, ReduceOp::Min);
  EXPECT_EQ(a[1], 4);
  reduceInto(a, b, 3, ReduceOp::Sum);
  EXPECT_EQ(a[0], 6);
  float rows[] = {1, 2, 3, 4}, bias[] = {10, 20};
  addBiasRows(rows, bias, 2, 2);
  EXPECT_EQ(rows[3], 24);
}

} // namespace
