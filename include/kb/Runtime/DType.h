//===- DType.h - element types the AHBM device computes in ------*- C++ -*-===//
//
// kb's host runtime holds every tensor as f32 values that are exactly
// representable in the tensor's dtype; these conversions do the rounding
// (to nearest, ties to even, as the device does). Integer tensors (token ids)
// are held the same way: every integer of magnitude at most 2^24 is an exact
// f32, and kb refuses larger ones where they enter (kMaxExactInteger), so one
// f32 store serves ids as well (a vocabulary is far smaller than 2^24).
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_DTYPE_H
#define KB_RUNTIME_DTYPE_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace kb::runtime {

enum class DType { F16, BF16, F32, I32, I64 };

/// The largest integer magnitude an integer tensor may hold: every integer up
/// to it is an exact f32.
constexpr int64_t kMaxExactInteger = int64_t(1) << 24;

/// I32 or I64.
inline bool isIntegerDType(DType dtype) {
  return dtype == DType::I32 || dtype == DType::I64;
}

size_t dtypeSize(DType dtype);
llvm::StringRef dtypeName(DType dtype);
std::optional<DType> parseDType(llvm::StringRef name);

uint16_t floatToHalf(float value);
float halfToFloat(uint16_t bits);
uint16_t floatToBF16(float value);
float bf16ToFloat(uint16_t bits);

/// out[i] = halfToFloat(in[i]), with the CPU's F16C conversion where it has
/// one (exact, as every f16 is an f32).
void halvesToFloats(const uint16_t *in, float *out, size_t n);

/// out[i] = floatToHalf(in[i]), with the CPU's F16C conversion where it has
/// one (the same rounding; a NaN takes floatToHalf's bits).
void floatsToHalves(const float *in, uint16_t *out, size_t n);

/// `value` rounded to `dtype` and back to f32.
float roundToDType(float value, DType dtype);
/// Rounds every element of `data` to `dtype` in place.
void roundBufferToDType(float *data, size_t n, DType dtype);

} // namespace kb::runtime

#endif // KB_RUNTIME_DTYPE_H
