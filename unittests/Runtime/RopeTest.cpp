//===- RopeTest.cpp - rotary position embedding against a double reference ===//

#include "KernelTestSupport.h"
#include "kb/Runtime/TransformerKernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

using namespace kb::runtime;
using namespace kb::runtime::testing;

namespace {

struct Case {
  int64_t rows, heads, headDim, offset;
  double theta;
};

class RopeTest : public ::testing::TestWithParam<std::tuple<DType, Case>> {};

/// The rotate_half form written as the formula reads: rot(v) = v·cos +
/// rotate_half(v)·sin with cos, sin repeated over both halves.
std::vector<double> naiveRope(const std::vector<float> &x, const Case &c) {
  int64_t cols = c.heads * c.headDim, half = c.headDim / 2;
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < c.rows; ++r) {
    double position = static_cast<double>(c.offset + r);
    for (int64_t h = 0; h < c.heads; ++h) {
      const float *v = &x[r * cols + h * c.headDim];
      for (int64_t d = 0; d < c.headDim; ++d) {
        double invFreq =
            1.0 /
            std::pow(c.theta, static_cast<double>(2 * (d % half)) / c.headDim);
        double angle = position * invFreq;
        double rotated = d < half ? -static_cast<double>(v[d + half])
                                  : static_cast<double>(v[d - half]);
        y[r * cols + h * c.headDim + d] =
            v[d] * std::cos(angle) + rotated * std::sin(angle);
      }
    }
  }
  return y;
}

TEST_P(RopeTest, MatchesDouble) {
  auto [dtype, c] = GetParam();
  int64_t n = c.rows * c.heads * c.headDim;
  std::vector<float> x = randomValues(dtype, n, 7, 3.0f);
  std::vector<float> y(n);
  rope(dtype, x.data(), y.data(), c.rows, c.heads, c.headDim, c.offset,
       c.theta);
  std::vector<double> expected = naiveRope(x, c);
  for (int64_t i = 0; i < n; ++i) {
    // |y| <= sqrt(2)·3; f32 products and the f32 cos/sin add a few 1e-7.
    EXPECT_NEAR(y[i], expected[i], tolerance(dtype, expected[i], 2e-6))
        << "element " << i;
    EXPECT_EQ(y[i], roundToDType(y[i], dtype)) << "not rounded at " << i;
  }
  std::vector<float> z = x;
  rope(dtype, z.data(), z.data(), c.rows, c.heads, c.headDim, c.offset,
       c.theta);
  EXPECT_EQ(z, y) << "in place differs";
}

TEST_P(RopeTest, RowAtOffsetEqualsThatRowOfAPrefill) {
  // Decode rotates its token at position P with offset P; prefill rotates
  // row P of positions 0..P. Both must give the same bits.
  auto [dtype, c] = GetParam();
  int64_t cols = c.heads * c.headDim, rows = c.offset + c.rows;
  if (rows > 4096)
    GTEST_SKIP() << "a prefill of " << rows << " rows is not needed";
  std::vector<float> x = randomValues(dtype, rows * cols, 8);
  std::vector<float> prefill(x.size()), decode(c.rows * cols);
  rope(dtype, x.data(), prefill.data(), rows, c.heads, c.headDim, 0, c.theta);
  rope(dtype, x.data() + c.offset * cols, decode.data(), c.rows, c.heads,
       c.headDim, c.offset, c.theta);
  for (int64_t i = 0; i < c.rows * cols; ++i)
    EXPECT_EQ(decode[i], prefill[c.offset * cols + i]) << i;
}

TEST(RopeTest, AnglesFromTheThreadsTableAreThoseComputedPerCall) {
  // Up to position 8192 the angles come from a table kept per thread for
  // the (θ, head dim) last used; a call reaching past it computes them. A
  // row gives the same bits either way, across changes of θ and head dim.
  for (double theta : {10000.0, 500000.0, 10000.0})
    for (int64_t headDim : {64, 6}) {
      int64_t heads = 2, cols = heads * headDim;
      for (int64_t position : {int64_t{3}, int64_t{8000}}) {
        // Rows [position, 8200): past the table, so computed per call.
        int64_t rows = 8200 - position;
        std::vector<float> x = randomValues(DType::F32, rows * cols, 13);
        std::vector<float> computed(x.size()), tabled(cols);
        rope(DType::F32, x.data(), computed.data(), rows, heads, headDim,
             position, theta);
        rope(DType::F32, x.data(), tabled.data(), 1, heads, headDim, position,
             theta);
        for (int64_t i = 0; i < cols; ++i)
          ASSERT_EQ(tabled[i], computed[i])
              << "theta " << theta << " hd " << headDim << " position "
              << position << " element " << i;
      }
    }
}

TEST(RopeTest, PositionZeroIsTheIdentity) {
  std::vector<float> x = randomValues(DType::F32, 2 * 64, 11), y(x.size());
  rope(DType::F32, x.data(), y.data(), 1, 2, 64, 0, 10000.0);
  for (int64_t i = 0; i < 128; ++i)
    EXPECT_EQ(y[i], x[i]) << i;
}

TEST(RopeTest, RotationKeepsEachPairsNorm) {
  // (v[i], v[i + hd/2]) is rotated by angle(i): its length is unchanged.
  int64_t hd = 10;
  std::vector<float> x = randomValues(DType::F32, hd, 12), y(hd);
  rope(DType::F32, x.data(), y.data(), 1, 1, hd, 1234, 10000.0);
  for (int64_t i = 0; i < hd / 2; ++i)
    EXPECT_NEAR(std::hypot(y[i], y[i + hd / 2]),
                std::hypot(x[i], x[i + hd / 2]), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RopeTest,
    ::testing::Combine(::testing::Values(DType::F32, DType::F16, DType::BF16),
                       ::testing::Values(Case{1, 1, 2, 0, 10000.0},
                                         Case{5, 3, 6, 0, 10000.0},
                                         Case{7, 2, 64, 0, 10000.0},
                                         Case{1, 4, 128, 63, 10000.0},
                                         Case{3, 1, 130, 17, 500000.0},
                                         Case{1, 2, 64, 4095, 10000.0})),
    [](const auto &info) {
      DType dtype = std::get<0>(info.param);
      const auto &c = std::get<1>(info.param);
      return dtypeName(dtype).str() + "_rows" + std::to_string(c.rows) +
             "_heads" + std::to_string(c.heads) + "_hd" +
             std::to_string(c.headDim) + "_at" + std::to_string(c.offset) +
             "_theta" + std::to_string(static_cast<int64_t>(c.theta));
    });

} // namespace
