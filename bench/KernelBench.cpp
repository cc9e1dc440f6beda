//===- KernelBench.cpp - the tile kernel against the host's FMA peak ------===//
//
// Prints the host's single-core FMA peak (measured with a register-resident
// FMA loop, AVX-512 if present) and the GFLOP/s of kb's gemm kernel on tile
// and layer shapes, with the ratio to the peak. Best of --repeat runs.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>

namespace {

// 12 independent accumulators hide FMA latency on every current core.
#define KB_PEAK_LOOP(VEC, SET1, FMA, LANES)                                    \
  VEC acc[12];                                                                 \
  for (auto &a : acc)                                                          \
    a = SET1(1.0f);                                                            \
  VEC x = SET1(0.999999f), y = SET1(1e-7f);                                    \
  auto start = std::chrono::steady_clock::now();                               \
  for (int64_t i = 0; i < iterations; ++i)                                     \
    for (auto &a : acc)                                                        \
      a = FMA(a, x, y);                                                        \
  double seconds =                                                             \
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)  \
          .count();                                                            \
  float sink[LANES], total = 0;                                                \
  for (auto &a : acc) {                                                        \
    std::memcpy(sink, &a, sizeof sink);                                        \
    for (float v : sink)                                                       \
      total += v;                                                              \
  }                                                                            \
  if (total == 42.0f)                                                          \
    std::puts("");                                                             \
  return 2.0 * LANES * 12 * iterations / seconds / 1e9;

__attribute__((target("avx512f,fma"))) double peakAVX512(int64_t iterations) {
  KB_PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}

__attribute__((target("avx2,fma"))) double peakAVX2(int64_t iterations) {
  KB_PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}

} // namespace

int main(int argc, char **argv) {
  int repeat = 5;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke"))
      smoke = true;
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::atoi(argv[++i]);
  }
  int64_t iterations = smoke ? 1000000 : 50000000;
  double peak = 0;
  for (int r = 0; r < (smoke ? 1 : 3); ++r)
    peak = std::max(peak, __builtin_cpu_supports("avx512f")
                              ? peakAVX512(iterations)
                              : peakAVX2(iterations));
  std::printf("host FMA peak (1 core): %.1f GFLOP/s\n", peak);
  struct Shape {
    int64_t m, n, k;
  } shapes[] = {{128, 128, 448},
                {128, 128, 4096},
                {512, 1024, 1024},
                {1024, 1024, 1024},
                {512, 4096, 1024},
                // A Llama-2-7B prefill tile: 512 rows of a wait's 2048, the
                // 172 columns of one PE of a rank's 1376, k = 4096.
                {512, 172, 4096}};
  std::printf("%6s %6s %6s %10s %8s\n", "m", "n", "k", "GFLOP/s", "of peak");
  for (const Shape &s : shapes) {
    if (smoke && s.m * s.n * s.k > 128 * 128 * 4096)
      continue;
    double gflops =
        kb::runtime::measureGemmGflops(s.m, s.n, s.k, smoke ? 1 : repeat);
    std::printf("%6ld %6ld %6ld %10.1f %7.0f%%\n", (long)s.m, (long)s.n,
                (long)s.k, gflops, 100.0 * gflops / peak);
  }
  return 0;
}
