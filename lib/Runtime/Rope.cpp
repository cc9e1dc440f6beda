//===- Rope.cpp - rotary position embedding -------------------------------===//

#include "kb/Runtime/TransformerKernels.h"

#include <cmath>
#include <vector>

using namespace kb::runtime;

void kb::runtime::rope(DType dtype, const float *in, float *out, int64_t rows,
                       int64_t numHeads, int64_t headDim,
                       int64_t positionOffset, double theta) {
  int64_t half = headDim / 2, cols = numHeads * headDim;
  if (cols == 0) // no angle is needed, however many rows
    return;
  std::vector<double> invFreq(half);
  for (int64_t i = 0; i < half; ++i)
    invFreq[i] = std::pow(theta, -2.0 * i / headDim);
  // One row's cosines and sines, shared by its heads. In f64: an f32 angle
  // at position 4096 is already off by about 2e-4 rad.
  std::vector<float> cosines(half), sines(half);
  for (int64_t r = 0; r < rows; ++r) {
    double position = static_cast<double>(positionOffset + r);
    for (int64_t i = 0; i < half; ++i) {
      double angle = position * invFreq[i];
      cosines[i] = static_cast<float>(std::cos(angle));
      sines[i] = static_cast<float>(std::sin(angle));
    }
    for (int64_t h = 0; h < numHeads; ++h) {
      const float *x = in + r * cols + h * headDim;
      float *y = out + r * cols + h * headDim;
      // Independent lanes: the compiler vectorizes this loop. Both halves
      // are read before either is written, so `out` may be `in`.
      for (int64_t i = 0; i < half; ++i) {
        float lo = x[i], hi = x[i + half];
        y[i] = lo * cosines[i] - hi * sines[i];
        y[i + half] = hi * cosines[i] + lo * sines[i];
      }
    }
    roundBufferToDType(out + r * cols, cols, dtype);
  }
}
