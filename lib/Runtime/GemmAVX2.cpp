//===- GemmAVX2.cpp - the blocked gemm for AVX2 ---------------------===//
//
// Compiled with AVX2 flags (see CMakeLists.txt); called only when the CPU
// has them.
//
//===----------------------------------------------------------------------===//

#include "GemmBlocked.h"

namespace kb::runtime::detail {
void gemmAVX2(const float *a, int64_t lda, const float *b, int64_t ldb,
              float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  // KC = 256: a 16 KiB B micro-panel and a 6 KiB A micro-panel share a
  // 32 KiB L1 (KC = 384 overflowed it: 45-50% of peak against 60-70% on Zen 3).
  blockedGemm<6, 16, 256, MicroKernel<6, 16, 8>>(a, lda, b, ldb, c, ldc, m, n,
                                                 k);
}

void gemvAVX2(const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
          int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<8>::run(a, lda, b, ldb, c, ldc, m, n, k);
}

// The same kernels with B as f16 bits, widened in B's packing or as it
// streams.
void gemmAVX2(const float *a, int64_t lda, const uint16_t *b, int64_t ldb,
               float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  blockedGemm<6, 16, 256, MicroKernel<6, 16, 8>>(a, lda, b, ldb, c, ldc, m, n, k);
}

void gemvAVX2(const float *a, int64_t lda, const uint16_t *b, int64_t ldb,
               float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<8, uint16_t>::run(a, lda, b, ldb, c, ldc, m, n, k);
}
} // namespace kb::runtime::detail
