//===- VectorMath.h - four-lane f32 helpers for the row kernels -*- C++ -*-===//
//
// GCC vector extensions, four f32 lanes: one SSE register on any x86-64 (a
// wider vector would change the ABI of these helpers between the portable
// and the AVX builds). The row reductions of the norms and the softmax
// accumulate in several vectors of partial sums, which both vectorizes them
// and keeps the f32 rounding error of a long row well below a serial sum's.
//
//===----------------------------------------------------------------------===//

#ifndef KB_LIB_RUNTIME_VECTORMATH_H
#define KB_LIB_RUNTIME_VECTORMATH_H

#include <cstdint>
#include <cstring>
#include <limits>

namespace kb::runtime::vec {

typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

constexpr int64_t kLanes = 4;

inline F4 splat(float x) { return F4{} + x; }

inline F4 load(const float *p) {
  F4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store(float *p, F4 v) { std::memcpy(p, &v, sizeof v); }

/// The first `n` (< kLanes) elements of `p`, the other lanes `fill`.
inline F4 loadPartial(const float *p, int64_t n, float fill) {
  F4 v = splat(fill);
  std::memcpy(&v, p, n * sizeof(float));
  return v;
}

inline void storePartial(float *p, F4 v, int64_t n) {
  std::memcpy(p, &v, n * sizeof(float));
}

inline float sum(F4 v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i)
    s += v[i];
  return s;
}

inline float max(F4 v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i)
    m = v[i] > m ? v[i] : m;
  return m;
}

inline F4 max(F4 a, F4 b) { return a > b ? a : b; }

/// e^x to about 2 ulp on [-87, 88] (Cephes' expf: x = n·ln2 + r with
/// |r| <= ln2/2, a degree-6 polynomial for e^r, 2^n put into the exponent),
/// e^-87 below and infinity above. -inf gives e^-87 ≈ 1.6e-38, not 0: the
/// softmax never feeds it masked scores, it skips them.
inline F4 exp(F4 arg) {
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

} // namespace kb::runtime::vec

#endif // KB_LIB_RUNTIME_VECTORMATH_H
