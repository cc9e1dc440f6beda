//===- DType.cpp - f16 and bf16 rounding ----------------------------------===//

#include "kb/Runtime/DType.h"

#include <algorithm>

#include <cmath>
#include <cstring>
#include <immintrin.h>

using namespace kb::runtime;

size_t kb::runtime::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
    return 8;
  }
  return 4;
}

llvm::StringRef kb::runtime::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F32:
    return "f32";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

std::optional<DType> kb::runtime::parseDType(llvm::StringRef name) {
  if (name == "f16")
    return DType::F16;
  if (name == "bf16")
    return DType::BF16;
  if (name == "f32")
    return DType::F32;
  if (name == "i32")
    return DType::I32;
  if (name == "i64")
    return DType::I64;
  return std::nullopt;
}

static uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

static float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

uint16_t kb::runtime::floatToHalf(float value) {
  uint32_t bits = bitsOf(value);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t exponent = (bits >> 23) & 0xffu;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) // Inf or NaN (NaN stays a quiet NaN)
    return sign | 0x7c00u | (mantissa ? 0x200u | (mantissa >> 13) : 0);
  int32_t e = static_cast<int32_t>(exponent) - 127 + 15;
  if (e >= 0x1f)
    return sign | 0x7c00u; // overflow to infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-one mantissa into place,
    // rounding to nearest even on the bits shifted out.
    if (e < -10)
      return sign;
    uint32_t m = mantissa | 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = m >> shift;
    uint32_t rest = m & ((1u << shift) - 1);
    uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
    ++half; // may carry into the exponent, up to infinity: still correct
  return sign | half;
}

float kb::runtime::halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f)
    return floatOf(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0)
      return floatOf(sign);
    // Subnormal: value = mantissa * 2^-24.
    float value = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -value : value;
  }
  return floatOf(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

uint16_t kb::runtime::floatToBF16(float value) {
  uint32_t bits = bitsOf(value);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu))
    return static_cast<uint16_t>((bits >> 16) | 0x40u); // quiet NaN
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float kb::runtime::bf16ToFloat(uint16_t bits) {
  return floatOf(static_cast<uint32_t>(bits) << 16);
}

float kb::runtime::roundToDType(float value, DType dtype) {
  switch (dtype) {
  case DType::F16:
    return halfToFloat(floatToHalf(value));
  case DType::BF16:
    return bf16ToFloat(floatToBF16(value));
  case DType::F32:
  case DType::I32:
  case DType::I64: // integers are held exactly (kMaxExactInteger)
    return value;
  }
  return value;
}

__attribute__((target("f16c,avx2"))) static void roundHalfF16C(float *data,
                                                               size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(data + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(data + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i)
    data[i] = halfToFloat(floatToHalf(data[i]));
}

__attribute__((target("f16c,avx2"))) static void
halvesToFloatsF16C(const uint16_t *in, float *out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i *>(in + i))));
  for (; i < n; ++i)
    out[i] = halfToFloat(in[i]);
}

__attribute__((target("f16c,avx2"))) static void
floatsToHalvesF16C(const float *in, uint16_t *out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(in + i);
    // NaNs keep the scalar conversion's bits (F16C keeps the payload).
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)))
      break;
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i)
    out[i] = floatToHalf(in[i]);
}

void kb::runtime::floatsToHalves(const float *in, uint16_t *out, size_t n) {
  if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2")) {
    // In blocks, so that one NaN sends only its block to the scalar loop.
    constexpr size_t kBlock = 4096;
    for (size_t at = 0; at < n; at += kBlock)
      floatsToHalvesF16C(in + at, out + at, std::min(kBlock, n - at));
    return;
  }
  for (size_t i = 0; i < n; ++i)
    out[i] = floatToHalf(in[i]);
}

void kb::runtime::halvesToFloats(const uint16_t *in, float *out, size_t n) {
  if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2")) {
    halvesToFloatsF16C(in, out, n);
    return;
  }
  for (size_t i = 0; i < n; ++i)
    out[i] = halfToFloat(in[i]);
}

void kb::runtime::roundBufferToDType(float *data, size_t n, DType dtype) {
  if (dtype == DType::F32 || isIntegerDType(dtype))
    return;
  if (dtype == DType::F16) {
    if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2")) {
      roundHalfF16C(data, n);
      return;
    }
    for (size_t i = 0; i < n; ++i)
      data[i] = halfToFloat(floatToHalf(data[i]));
    return;
  }
  for (size_t i = 0; i < n; ++i)
    data[i] = bf16ToFloat(floatToBF16(data[i]));
}
