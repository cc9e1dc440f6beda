//===- GemmAVX512.cpp - the blocked gemm for AVX512 ---------------------===//
//
// Compiled with AVX512 flags (see CMakeLists.txt); called only when the CPU
// has them. One template per kernel for B of f32 or f16 bits (TB): the f16
// instance widens B in its packing or as it streams.
//
//===----------------------------------------------------------------------===//

#include "GemmBlocked.h"

namespace kb::runtime::detail {
template <typename TB>
void gemmAVX512(const float *a, int64_t lda, const Columns<TB> *cols,
                int64_t count, int64_t m, int64_t k, bool accumulate,
                PackedWeights *weights) {
  // KC = 384 measured best on an AVX-512 host (77% of its FMA peak on 1024³).
  blockedGemm<12, 32, 384, 16>(a, lda, cols, count, m, k, accumulate, weights);
}

template <typename TB>
void gemvAVX512(const float *a, int64_t lda, const TB *b, int64_t ldb,
                float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
  Gemv<16, TB>::run(a, lda, b, ldb, c, ldc, m, n, k);
}

KB_GEMM_COLUMN_INSTANCES(gemmAVX512)
KB_GEMM_INSTANCES(gemvAVX512)
} // namespace kb::runtime::detail
