//===- DType.h - element types the AHBM device computes in ------*- C++ -*-===//
//
// kb's host runtime holds every tensor as f32 values that are exactly
// representable in the tensor's dtype; these conversions do the rounding
// (to nearest, ties to even, as the device does).
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_DTYPE_H
#define KB_RUNTIME_DTYPE_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace kb::runtime {

enum class DType { F16, BF16, F32 };

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

/// `value` rounded to `dtype` and back to f32.
float roundToDType(float value, DType dtype);
/// Rounds every element of `data` to `dtype` in place.
void roundBufferToDType(float *data, size_t n, DType dtype);

} // namespace kb::runtime

#endif // KB_RUNTIME_DTYPE_H
