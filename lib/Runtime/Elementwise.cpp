//===- Elementwise.cpp - elementwise kernels and a gemm probe -------------===//

#include "kb/Runtime/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

using namespace kb::runtime;

namespace {

// Four lanes as GCC vector extensions (SSE on every x86-64): no libm call and
// no per-lane branch, where std::tanh cost a libm call per element.
typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));
typedef float F4U __attribute__((vector_size(16), aligned(4), may_alias));

inline F4 splat(float x) { return F4{} + x; }

/// e^x to about 2 ulp on [-87, 88] (Cephes' expf: x = n·ln2 + r with
/// |r| <= ln2/2, a degree-6 polynomial for e^r, 2^n put into the exponent),
/// e^-87 below and infinity above.
inline F4 expPoly(F4 arg) {
  F4 x = arg < -87.0f ? splat(-87.0f) : arg;
  x = x > 88.0f ? splat(88.0f) : x;
  // Round to nearest by adding and removing 1.5·2^23.
  const float shifter = 12582912.0f;
  F4 n = (x * 1.44269504088896341f + shifter) - shifter;
  F4 r = x - n * 0.693359375f - n * -2.12194440e-4f;
  F4 p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  I4 bits = (__builtin_convertvector(n, I4) + 127) << 23;
  F4 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  F4 result = p * scale;
  return arg > 88.0f ? splat(std::numeric_limits<float>::infinity()) : result;
}

/// 0.5·x·(1 + tanh(y)) = x / (1 + e^(-2y)): the same function without the
/// cancellation of 1 + tanh(y) for large negative x.
inline F4 gelu4(F4 x) {
  const float k0 = 0.7978845608028654f, k1 = 0.044715f;
  F4 y = k0 * (x + k1 * x * x * x);
  return x / (1.0f + expPoly(-2.0f * y));
}

/// x · sigmoid(x) = x / (1 + e^-x); e^-x saturates to infinity for very
/// negative x, giving the exact limit 0 (with x's sign).
inline F4 silu4(F4 x) { return x / (1.0f + expPoly(-x)); }

/// out[i] = f(in[i]) four lanes at a time, the tail through a padded vector.
template <typename Fn>
inline void mapUnary(const float *in, float *out, size_t n, Fn f) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4)
    *reinterpret_cast<F4U *>(out + i) =
        f(*reinterpret_cast<const F4U *>(in + i));
  if (i == n)
    return;
  F4 tail = {};
  std::memcpy(&tail, in + i, (n - i) * sizeof(float));
  F4 result = f(tail);
  std::memcpy(out + i, &result, (n - i) * sizeof(float));
}

} // namespace

void kb::runtime::geluTanh(const float *in, float *out, size_t n) {
  mapUnary(in, out, n, gelu4);
}

void kb::runtime::silu(const float *in, float *out, size_t n) {
  mapUnary(in, out, n, silu4);
}

void kb::runtime::copy(const float *in, float *out, size_t n) {
  if (in != out)
    std::memmove(out, in, n * sizeof(float));
}

void kb::runtime::mulInPlace(float *dst, const float *src, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] *= src[i];
}

void kb::runtime::mulRows(float *dst, const float *row, int64_t rows,
                          int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dst[r * cols + c] *= row[c];
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
