//===- NormTest.cpp - RMSNorm and LayerNorm against double references -----===//

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

struct Shape {
  int64_t rows, cols;
  float center; // the inputs' mean: LayerNorm must not cancel on it
};

class NormTest : public ::testing::TestWithParam<std::tuple<DType, Shape>> {};

std::vector<double> naiveRMSNorm(const std::vector<float> &x,
                                 const std::vector<float> &w, int64_t rows,
                                 int64_t cols, double eps) {
  std::vector<double> y(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    double squares = 0;
    for (int64_t c = 0; c < cols; ++c)
      squares += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
    double factor = 1.0 / std::sqrt(squares / cols + eps);
    for (int64_t c = 0; c < cols; ++c)
      y[r * cols + c] = x[r * cols + c] * factor * w[c];
  }
  return y;
}

std::vector<double> naiveLayerNorm(const std::vector<float> &x,
                                   const std::vector<float> &w,
                                   const std::vector<float> &b, int64_t rows,
                                   int64_t cols, double eps) {
  std::vector<double> y(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, variance = 0;
    for (int64_t c = 0; c < cols; ++c)
      mean += x[r * cols + c];
    mean /= cols;
    for (int64_t c = 0; c < cols; ++c)
      variance += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    variance /= cols;
    for (int64_t c = 0; c < cols; ++c)
      y[r * cols + c] =
          (x[r * cols + c] - mean) / std::sqrt(variance + eps) * w[c] + b[c];
  }
  return y;
}

/// Checks `got` (rounded to dtype) against the exact `expected`. The
/// absolute part of the tolerance scales with the largest |w| and |b|,
/// since normalized values are O(1) times the weight.
void expectClose(DType dtype, const std::vector<float> &got,
                 const std::vector<double> &expected, double absolute) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tolerance(dtype, expected[i], absolute))
        << "element " << i;
    EXPECT_EQ(got[i], roundToDType(got[i], dtype)) << "not rounded at " << i;
  }
}

TEST_P(NormTest, RMSNormMatchesDouble) {
  auto [dtype, s] = GetParam();
  std::vector<float> x =
      randomValues(dtype, s.rows * s.cols, 1, 2.0f, s.center);
  std::vector<float> w = randomValues(dtype, s.cols, 2, 1.5f);
  std::vector<float> y(x.size());
  rmsNorm(dtype, x.data(), w.data(), y.data(), s.rows, s.cols, 1e-5f);
  expectClose(dtype, y, naiveRMSNorm(x, w, s.rows, s.cols, 1e-5), 1e-5);
  // In place gives the same bits.
  std::vector<float> z = x;
  rmsNorm(dtype, z.data(), w.data(), z.data(), s.rows, s.cols, 1e-5f);
  EXPECT_EQ(z, y);
}

TEST_P(NormTest, LayerNormMatchesDouble) {
  auto [dtype, s] = GetParam();
  std::vector<float> x =
      randomValues(dtype, s.rows * s.cols, 3, 2.0f, s.center);
  std::vector<float> w = randomValues(dtype, s.cols, 4, 1.5f);
  std::vector<float> b = randomValues(dtype, s.cols, 5, 0.5f);
  std::vector<float> y(x.size());
  layerNorm(dtype, x.data(), w.data(), b.data(), y.data(), s.rows, s.cols,
            1e-5f);
  // Rows around a mean of 100 lose log2(100/2) bits of the deviations to the
  // f32 inputs' own spacing, not to the kernel: the double reference sees
  // the same rounded inputs, so the tolerance stays absolute 1e-4.
  expectClose(dtype, y, naiveLayerNorm(x, w, b, s.rows, s.cols, 1e-5), 1e-4);
  std::vector<float> z = x;
  layerNorm(dtype, z.data(), w.data(), b.data(), z.data(), s.rows, s.cols,
            1e-5f);
  EXPECT_EQ(z, y);
}

TEST(NormTest, EpsDominatesAZeroRow) {
  // A zero row normalizes to zero (not NaN); eps keeps the divisor finite.
  std::vector<float> x(7, 0.0f), w(7, 1.0f), b(7, 0.25f), y(7);
  rmsNorm(DType::F32, x.data(), w.data(), y.data(), 1, 7, 1e-5f);
  for (float v : y)
    EXPECT_EQ(v, 0.0f);
  layerNorm(DType::F32, x.data(), w.data(), b.data(), y.data(), 1, 7, 1e-5f);
  for (float v : y)
    EXPECT_EQ(v, 0.25f);
}

TEST(NormTest, EmptyRowsReturnAtOnce) {
  // 2^40 rows of nothing: no element to write, and no time spent per row.
  rmsNorm(DType::F16, nullptr, nullptr, nullptr, int64_t(1) << 40, 0, 1e-5f);
  layerNorm(DType::F16, nullptr, nullptr, nullptr, nullptr, int64_t(1) << 40, 0,
            1e-5f);
  rope(DType::F16, nullptr, nullptr, int64_t(1) << 40, 0, 64, 0, 10000.0);
}

TEST(NormTest, LayerNormIsRMSNormOfTheCenteredRow) {
  // For a zero-mean row, layernorm without bias equals rmsnorm.
  int64_t cols = 37;
  std::vector<float> x = randomValues(DType::F32, cols, 9);
  double mean = 0;
  for (float v : x)
    mean += v;
  mean /= cols;
  for (float &v : x)
    v = static_cast<float>(v - mean);
  std::vector<float> w = randomValues(DType::F32, cols, 10), b(cols, 0.0f);
  std::vector<float> a(cols), r(cols);
  layerNorm(DType::F32, x.data(), w.data(), b.data(), a.data(), 1, cols, 1e-5f);
  rmsNorm(DType::F32, x.data(), w.data(), r.data(), 1, cols, 1e-5f);
  for (int64_t c = 0; c < cols; ++c)
    EXPECT_NEAR(a[c], r[c], 1e-5) << c;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, NormTest,
    ::testing::Combine(::testing::Values(DType::F32, DType::F16, DType::BF16),
                       ::testing::Values(Shape{1, 1, 0.0f}, Shape{3, 5, 0.0f},
                                         Shape{2, 8, 0.0f}, Shape{7, 13, 0.0f},
                                         Shape{5, 100, 0.5f},
                                         Shape{3, 1027, 0.0f},
                                         Shape{4, 96, 100.0f})),
    [](const auto &info) {
      DType dtype = std::get<0>(info.param);
      const auto &s = std::get<1>(info.param);
      return dtypeName(dtype).str() + "_" + std::to_string(s.rows) + "x" +
             std::to_string(s.cols) + "_mean" +
             std::to_string(static_cast<int>(s.center));
    });

} // namespace
