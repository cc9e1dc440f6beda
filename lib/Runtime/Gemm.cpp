//===- Gemm.cpp - packed, blocked f32 gemm --------------------------------===//
//
// GotoBLAS structure: B is packed into kc × NR panels per (kc, nc) block,
// A into MR × kc panels per (mc, kc) block, and a register-tile micro-kernel
// multiplies one A panel by one B panel. A product of at most kGemvMaxRows
// rows of A skips the packing and streams B once (Gemv in GemmBlocked.h).
// Both kernels are compiled for AVX-512 and AVX2 and picked once at run time.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Kernels.h"

#include "GemmBlocked.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>

using namespace kb::runtime;

namespace kb::runtime::detail {
// One template per ISA kernel for B of f32 or f16 bits (TB), instantiated for
// both in its own file (KB_GEMM_INSTANCES).
template <typename TB>
void gemmAVX512(const float *a, int64_t lda, const Columns<TB> *cols,
                int64_t count, int64_t m, int64_t k, bool accumulate,
                PackedWeights *weights);
template <typename TB>
void gemmAVX2(const float *a, int64_t lda, const Columns<TB> *cols,
              int64_t count, int64_t m, int64_t k, bool accumulate,
              PackedWeights *weights);
template <typename TB>
void gemvAVX512(const float *a, int64_t lda, const TB *b, int64_t ldb,
                float *c, int64_t ldc, int64_t m, int64_t n, int64_t k);
template <typename TB>
void gemvAVX2(const float *a, int64_t lda, const TB *b, int64_t ldb, float *c,
              int64_t ldc, int64_t m, int64_t n, int64_t k);
} // namespace kb::runtime::detail

namespace {
using namespace kb::runtime::detail;

template <typename TB>
void gemmPortable(const float *a, int64_t lda, const Columns<TB> *cols,
                  int64_t count, int64_t m, int64_t k, bool accumulate,
                  PackedWeights *weights) {
  blockedGemm<4, 8, 256, 4>(a, lda, cols, count, m, k, accumulate, weights);
}

template <typename TB>
void gemvPortable(const float *a, int64_t lda, const TB *b, int64_t ldb,
                  float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<4, TB>::run(a, lda, b, ldb, c, ldc, m, n, k);
}

template <typename TB>
using GemmFn = void (*)(const float *, int64_t, const TB *, int64_t, float *,
                        int64_t, int64_t, int64_t, int64_t);

/// The blocked kernel and the small-M one of one instruction set, for B of
/// element type TB (f32, or f16 bits).
template <typename TB>
using BlockedFn = void (*)(const float *, int64_t, const Columns<TB> *, int64_t,
                           int64_t, int64_t, bool, PackedWeights *);
template <typename TB> struct GemmImpl {
  BlockedFn<TB> blocked;
  GemmFn<TB> gemv;
};

template <typename TB> GemmImpl<TB> kernelFn(GemmKernel kernel) {
  switch (kernel) {
  case GemmKernel::AVX512:
    return {gemmAVX512<TB>, gemvAVX512<TB>};
  case GemmKernel::AVX2:
    return {gemmAVX2<TB>, gemvAVX2<TB>};
  case GemmKernel::Portable:
    break;
  }
  return {gemmPortable<TB>, gemvPortable<TB>};
}

template <typename TB> GemmImpl<TB> selectGemm() {
  for (GemmKernel kernel : {GemmKernel::AVX512, GemmKernel::AVX2})
    if (gemmKernelSupported(kernel))
      return kernelFn<TB>(kernel);
  return kernelFn<TB>(GemmKernel::Portable);
}

/// The column blocks `cols[0 : count]` sharing A (m × k); their B packed
/// in `weights` when given.
template <typename TB>
void runColumns(GemmImpl<TB> impl, const float *a, int64_t lda,
                const Columns<TB> *cols, int64_t count, int64_t m, int64_t k,
                bool accumulate, PackedWeights *weights = nullptr) {
  if (m <= 0)
    return;
  // The blocked kernel writes C on its first panel of k when not
  // accumulating (kOverwrite); the others add to C, zero-filled here.
  bool blocked = m > kGemvMaxRows && k > 0;
  if (!accumulate && !blocked)
    for (int64_t s = 0; s < count; ++s)
      for (int64_t i = 0; i < m; ++i)
        std::fill(cols[s].c + i * cols[s].ldc,
                  cols[s].c + i * cols[s].ldc + std::max<int64_t>(cols[s].n, 0),
                  0.0f);
  if (k <= 0)
    return;
  if (m <= kGemvMaxRows) {
    // B streams once per block whatever the grouping.
    for (int64_t s = 0; s < count; ++s)
      if (cols[s].n > 0)
        impl.gemv(a, lda, cols[s].b, cols[s].ldb, cols[s].c, cols[s].ldc, m,
                  cols[s].n, k);
    return;
  }
  impl.blocked(a, lda, cols, count, m, k, accumulate, weights);
}

template <typename TB>
void run(GemmImpl<TB> impl, const float *a, int64_t lda, const TB *b,
         int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t n, int64_t k,
         bool accumulate) {
  if (n <= 0)
    return;
  Columns<TB> cols{b, ldb, c, ldc, n};
  runColumns(impl, a, lda, &cols, 1, m, k, accumulate);
}
} // namespace

bool kb::runtime::gemmKernelSupported(GemmKernel kernel) {
  __builtin_cpu_init();
  switch (kernel) {
  case GemmKernel::AVX512:
    return __builtin_cpu_supports("avx512f");
  case GemmKernel::AVX2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  case GemmKernel::Portable:
    return true;
  }
  return false;
}

// The public f32-B and f16-B entry points are this one template.
template <typename TB>
static void gemmWithT(GemmKernel kernel, const float *a, int64_t lda,
                      const TB *b, int64_t ldb, float *c, int64_t ldc,
                      int64_t m, int64_t n, int64_t k, bool accumulate) {
  run(kernelFn<TB>(kernel), a, lda, b, ldb, c, ldc, m, n, k, accumulate);
}

template <typename TB>
static void gemmT(const float *a, int64_t lda, const TB *b, int64_t ldb,
                  float *c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                  bool accumulate) {
  static const GemmImpl<TB> impl = selectGemm<TB>();
  run(impl, a, lda, b, ldb, c, ldc, m, n, k, accumulate);
}

void kb::runtime::gemmWith(GemmKernel kernel, const float *a, int64_t lda,
                           const float *b, int64_t ldb, float *c, int64_t ldc,
                           int64_t m, int64_t n, int64_t k, bool accumulate) {
  gemmWithT(kernel, a, lda, b, ldb, c, ldc, m, n, k, accumulate);
}

void kb::runtime::gemmWith(GemmKernel kernel, const float *a, int64_t lda,
                           const uint16_t *b, int64_t ldb, float *c,
                           int64_t ldc, int64_t m, int64_t n, int64_t k,
                           bool accumulate) {
  gemmWithT(kernel, a, lda, b, ldb, c, ldc, m, n, k, accumulate);
}

void kb::runtime::gemm(const float *a, int64_t lda, const float *b, int64_t ldb,
                       float *c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                       bool accumulate) {
  gemmT(a, lda, b, ldb, c, ldc, m, n, k, accumulate);
}

void kb::runtime::gemm(const float *a, int64_t lda, const uint16_t *b,
                       int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t n,
                       int64_t k, bool accumulate) {
  gemmT(a, lda, b, ldb, c, ldc, m, n, k, accumulate);
}

/// gemmColumns for blocks whose B is `b` of each GemmColumns (f32 or f16),
/// with `impl`.
template <typename TB>
static void gemmColumnsOf(GemmImpl<TB> impl, const TB *GemmColumns::*b,
                          const float *a, int64_t lda, const GemmColumns *cols,
                          int64_t count, int64_t m, int64_t k, bool accumulate,
                          PackedWeights *weights) {
  // Most tasks are one block (a tile not grouped with others): no heap.
  llvm::SmallVector<Columns<TB>, 4> blocks;
  blocks.reserve(count);
  for (int64_t s = 0; s < count; ++s)
    blocks.push_back({cols[s].*b, cols[s].ldb, cols[s].c, cols[s].ldc,
                      cols[s].n});
  runColumns(impl, a, lda, blocks.data(), count, m, k, accumulate, weights);
}

/// gemmColumns with `kernel`'s instances, or the best the CPU has.
static void gemmColumnsWithKernel(std::optional<GemmKernel> kernel,
                                  const float *a, int64_t lda,
                                  const GemmColumns *cols, int64_t count,
                                  int64_t m, int64_t k, bool accumulate,
                                  PackedWeights *weights) {
  if (count <= 0)
    return;
  // A group's blocks share B's type (groupGemms keys on it).
  if (cols[0].halfB) {
    static const GemmImpl<uint16_t> best = selectGemm<uint16_t>();
    gemmColumnsOf(kernel ? kernelFn<uint16_t>(*kernel) : best,
                  &GemmColumns::halfB, a, lda, cols, count, m, k, accumulate,
                  weights);
  } else {
    static const GemmImpl<float> best = selectGemm<float>();
    gemmColumnsOf(kernel ? kernelFn<float>(*kernel) : best, &GemmColumns::b, a,
                  lda, cols, count, m, k, accumulate, weights);
  }
}

void kb::runtime::gemmColumns(const float *a, int64_t lda,
                              const GemmColumns *cols, int64_t count, int64_t m,
                              int64_t k, bool accumulate,
                              PackedWeights *weights) {
  gemmColumnsWithKernel(std::nullopt, a, lda, cols, count, m, k, accumulate,
                        weights);
}

void kb::runtime::gemmColumnsWith(GemmKernel kernel, const float *a,
                                  int64_t lda, const GemmColumns *cols,
                                  int64_t count, int64_t m, int64_t k,
                                  bool accumulate, PackedWeights *weights) {
  gemmColumnsWithKernel(kernel, a, lda, cols, count, m, k, accumulate, weights);
}
