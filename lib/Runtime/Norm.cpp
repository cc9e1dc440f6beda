//===- Norm.cpp - RMSNorm and LayerNorm over rows -------------------------===//

#include "VectorMath.h"
#include "kb/Runtime/TransformerKernels.h"

#include <cmath>

using namespace kb::runtime;
using namespace kb::runtime::vec;

namespace {

/// Σ row[c], eight partial sums.
float rowSum(const float *row, int64_t cols) {
  F4 a = {}, b = {};
  int64_t c = 0;
  for (; c + 2 * kLanes <= cols; c += 2 * kLanes) {
    a += load(row + c);
    b += load(row + c + kLanes);
  }
  for (; c + kLanes <= cols; c += kLanes)
    a += load(row + c);
  if (c < cols)
    b += loadPartial(row + c, cols - c, 0.0f);
  return sum(a + b);
}

/// Σ (row[c] − center)², eight partial sums.
float rowSumOfSquares(const float *row, int64_t cols, float center) {
  F4 a = {}, b = {}, m = splat(center);
  int64_t c = 0;
  for (; c + 2 * kLanes <= cols; c += 2 * kLanes) {
    F4 x = load(row + c) - m, y = load(row + c + kLanes) - m;
    a += x * x;
    b += y * y;
  }
  for (; c + kLanes <= cols; c += kLanes) {
    F4 x = load(row + c) - m;
    a += x * x;
  }
  if (c < cols) {
    // The padding lanes hold `center`, so they add 0.
    F4 x = loadPartial(row + c, cols - c, center) - m;
    b += x * x;
  }
  return sum(a + b);
}

/// out[c] = (in[c] − center) · factor · weight[c] (+ bias[c]).
void normalizeRow(const float *in, const float *weight, const float *bias,
                  float *out, int64_t cols, float center, float factor) {
  F4 m = splat(center), f = splat(factor);
  int64_t c = 0;
  for (; c + kLanes <= cols; c += kLanes) {
    F4 y = (load(in + c) - m) * f * load(weight + c);
    if (bias)
      y += load(bias + c);
    store(out + c, y);
  }
  for (; c < cols; ++c)
    out[c] = (in[c] - center) * factor * weight[c] + (bias ? bias[c] : 0.0f);
}

} // namespace

void kb::runtime::rmsNorm(DType dtype, const float *in, const float *weight,
                          float *out, int64_t rows, int64_t cols, float eps) {
  if (cols == 0) // nothing to write, however many rows
    return;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = in + r * cols;
    float meanSquare = rowSumOfSquares(row, cols, 0.0f) / cols;
    float factor = 1.0f / std::sqrt(meanSquare + eps);
    normalizeRow(row, weight, nullptr, out + r * cols, cols, 0.0f, factor);
    roundBufferToDType(out + r * cols, cols, dtype);
  }
}

void kb::runtime::layerNorm(DType dtype, const float *in, const float *weight,
                            const float *bias, float *out, int64_t rows,
                            int64_t cols, float eps) {
  if (cols == 0)
    return;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = in + r * cols;
    float mean = rowSum(row, cols) / cols;
    float variance = rowSumOfSquares(row, cols, mean) / cols;
    float factor = 1.0f / std::sqrt(variance + eps);
    normalizeRow(row, weight, bias, out + r * cols, cols, mean, factor);
    roundBufferToDType(out + r * cols, cols, dtype);
  }
}
