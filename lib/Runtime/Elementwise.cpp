//===- Elementwise.cpp - elementwise kernels and a gemm probe -------------===//

#include "kb/Runtime/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

using namespace kb::runtime;

void kb::runtime::geluTanh(const float *in, float *out, size_t n) {
  const float k0 = 0.7978845608028654f, k1 = 0.044715f;
  for (size_t i = 0; i < n; ++i) {
    float x = in[i];
    out[i] = 0.5f * x * (1.0f + std::tanh(k0 * (x + k1 * x * x * x)));
  }
}

void kb::runtime::addInPlace(float *dst, const float *src, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] += src[i];
}

void kb::runtime::addBiasRows(float *dst, const float *bias, int64_t rows,
                              int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dst[r * cols + c] += bias[c];
}

void kb::runtime::reduceInto(float *dst, const float *src, size_t n,
                             ReduceOp op) {
  switch (op) {
  case ReduceOp::Sum:
    addInPlace(dst, src, n);
    return;
  case ReduceOp::Max:
    for (size_t i = 0; i < n; ++i)
      dst[i] = std::max(dst[i], src[i]);
    return;
  case ReduceOp::Min:
    for (size_t i = 0; i < n; ++i)
      dst[i] = std::min(dst[i], src[i]);
    return;
  }
}

void kb::runtime::scale(float *data, size_t n, float factor) {
  for (size_t i = 0; i < n; ++i)
    data[i] *= factor;
}

double kb::runtime::measureGemmGflops(int64_t m, int64_t n, int64_t k,
                                      int repeats) {
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  double best = 1e30;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    auto start = std::chrono::steady_clock::now();
    gemm(a.data(), k, b.data(), n, c.data(), n, m, n, k, false);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    best = std::min(best, seconds);
  }
  return 2.0 * m * n * k / best / 1e9;
}
