//===- KernelTestSupport.h - data and tolerances for kernel tests -*- C++ -*-=//
//
// Deterministic pseudo-random inputs rounded to a dtype, and the tolerance
// of a kernel that computes in f32 and rounds once to its dtype, against a
// reference computed in double from the same inputs.
//
//===----------------------------------------------------------------------===//

#ifndef KB_UNITTESTS_RUNTIME_KERNELTESTSUPPORT_H
#define KB_UNITTESTS_RUNTIME_KERNELTESTSUPPORT_H

#include "kb/Runtime/DType.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace kb::runtime::testing {

/// `n` values uniform in [center - spread, center + spread), rounded to
/// `dtype`; the same for a given seed on every platform.
inline std::vector<float> randomValues(DType dtype, int64_t n, uint32_t seed,
                                       float spread = 1.0f,
                                       float center = 0.0f) {
  std::vector<float> values(n);
  uint32_t state = seed * 2654435761u + 12345u;
  for (float &v : values) {
    state = state * 1664525u + 1013904223u;
    v = center +
        spread * (2.0f * static_cast<float>(state >> 8) / 16777216.0f - 1.0f);
  }
  roundBufferToDType(values.data(), values.size(), dtype);
  return values;
}

/// How far a result rounded to `dtype` may be from the exact `expected`:
/// one unit in the last place of the dtype at |expected| (the final rounding
/// plus f32 arithmetic before it), and `absolute` for results near zero,
/// where cancellation leaves only an absolute error bound.
inline double tolerance(DType dtype, double expected, double absolute) {
  double ulp = dtype == DType::F32   ? std::ldexp(1.0, -20)
               : dtype == DType::F16 ? std::ldexp(1.0, -10)
                                     : std::ldexp(1.0, -7);
  return ulp * std::fabs(expected) + absolute;
}

} // namespace kb::runtime::testing

#endif // KB_UNITTESTS_RUNTIME_KERNELTESTSUPPORT_H
