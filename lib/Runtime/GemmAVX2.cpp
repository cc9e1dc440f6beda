//===- GemmAVX2.cpp - the blocked gemm for AVX2 + FMA -------------------===//
//
// Compiled with AVX2/FMA flags (see CMakeLists.txt); called only when the CPU
// has them. One template per kernel for B of f32 or f16 bits (TB).
//
//===----------------------------------------------------------------------===//

#include "GemmBlocked.h"

namespace kb::runtime::detail {
template <typename TB>
void gemmAVX2(const float *a, int64_t lda, const Columns<TB> *cols,
              int64_t count, int64_t m, int64_t k, bool accumulate,
              PackedWeights *weights) {
  // KC = 256: a 16 KiB B micro-panel and a 6 KiB A micro-panel share a
  // 32 KiB L1 (KC = 384 overflowed it: 45-50% of peak against 60-70% on Zen 3).
  blockedGemm<6, 16, 256, 8>(a, lda, cols, count, m, k, accumulate, weights);
}

template <typename TB>
void gemvAVX2(const float *a, int64_t lda, const TB *b, int64_t ldb, float *c,
              int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<8, TB>::run(a, lda, b, ldb, c, ldc, m, n, k);
}

KB_GEMM_COLUMN_INSTANCES(gemmAVX2)
KB_GEMM_INSTANCES(gemvAVX2)
} // namespace kb::runtime::detail
