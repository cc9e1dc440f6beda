//===- Elementwise.cpp - elementwise kernels and a gemm probe -------------===//
//
// The elementwise kernels, and their registry: the table at the end is the
// instruction set of gemm_tile.map / gemm_tile.zip. A new elementwise kb op
// is a kernel here and a row in that table (its name is the op's mnemonic);
// the lowering, the verifier, the cost model and both interpreters find it
// by name.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Kernels.h"

#include "VectorMath.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVectorExtras.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

using namespace kb::runtime;

namespace {

// Four lanes as GCC vector extensions (SSE on every x86-64), with the vector
// exp of VectorMath.h: no libm call and no per-lane branch, where std::tanh
// cost a libm call per element.
using vec::F4;
typedef float F4U __attribute__((vector_size(16), aligned(4), may_alias));

/// 0.5·x·(1 + tanh(y)) = x / (1 + e^(-2y)): the same function without the
/// cancellation of 1 + tanh(y) for large negative x.
inline F4 gelu4(F4 x) {
  const float k0 = 0.7978845608028654f, k1 = 0.044715f;
  F4 y = k0 * (x + k1 * x * x * x);
  return x / (1.0f + vec::exp(-2.0f * y));
}

/// x · sigmoid(x) = x / (1 + e^-x); e^-x saturates to infinity for very
/// negative x, giving the exact limit 0 (with x's sign).
inline F4 silu4(F4 x) { return x / (1.0f + vec::exp(-x)); }

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

//===----------------------------------------------------------------------===//
// The registry: kernels by the name a device op gives.
//===----------------------------------------------------------------------===//

namespace {
struct MapEntry {
  llvm::StringLiteral name;
  MapKernel kernel;
};
struct ZipEntry {
  llvm::StringLiteral name;
  ZipKernel kernel;
};

constexpr MapEntry kMapKernels[] = {
    {"gelu", geluTanh},
    {"silu", silu},
    {"scale", copy}, // gemm_tile.map multiplies by its factor
};
constexpr ZipEntry kZipKernels[] = {
    {"add", addInPlace},
    {"mul", mulInPlace},
};

template <typename Entry>
llvm::SmallVector<llvm::StringRef> namesOf(llvm::ArrayRef<Entry> table) {
  return llvm::map_to_vector(table,
                             [](const Entry &e) -> llvm::StringRef { return e.name; });
}
} // namespace

MapKernel kb::runtime::lookupMapKernel(llvm::StringRef name) {
  const MapEntry *it = llvm::find_if(
      kMapKernels, [&](const MapEntry &e) { return e.name == name; });
  return it == std::end(kMapKernels) ? nullptr : it->kernel;
}

ZipKernel kb::runtime::lookupZipKernel(llvm::StringRef name) {
  const ZipEntry *it = llvm::find_if(
      kZipKernels, [&](const ZipEntry &e) { return e.name == name; });
  return it == std::end(kZipKernels) ? nullptr : it->kernel;
}

llvm::SmallVector<llvm::StringRef> kb::runtime::mapKernelNames() {
  return namesOf(llvm::ArrayRef(kMapKernels));
}

llvm::SmallVector<llvm::StringRef> kb::runtime::zipKernelNames() {
  return namesOf(llvm::ArrayRef(kZipKernels));
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
