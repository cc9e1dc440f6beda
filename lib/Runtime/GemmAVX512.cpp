//===- GemmAVX512.cpp - the blocked gemm for AVX512 ---------------------===//
//
// Compiled with AVX512 flags (see CMakeLists.txt); called only when the CPU
// has them.
//
//===----------------------------------------------------------------------===//

#include "GemmBlocked.h"

namespace kb::runtime::detail {
void gemmAVX512(const float *a, int64_t lda, const float *b, int64_t ldb,
                float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  // KC = 384 measured best on an AVX-512 host (77% of its FMA peak on 1024³).
  blockedGemm<12, 32, 384, MicroKernel<12, 32, 16>>(a, lda, b, ldb, c, ldc, m,
                                                    n, k);
}

void gemvAVX512(const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
          int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<16>::run(a, lda, b, ldb, c, ldc, m, n, k);
}

// The same kernels with B as f16 bits, widened in B's packing or as it
// streams.
void gemmAVX512(const float *a, int64_t lda, const uint16_t *b, int64_t ldb,
               float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  blockedGemm<12, 32, 384, MicroKernel<12, 32, 16>>(a, lda, b, ldb, c, ldc, m, n, k);
}

void gemvAVX512(const float *a, int64_t lda, const uint16_t *b, int64_t ldb,
               float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<16, uint16_t>::run(a, lda, b, ldb, c, ldc, m, n, k);
}
} // namespace kb::runtime::detail
