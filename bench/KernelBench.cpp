//===- KernelBench.cpp - the tile kernel against the host's FMA peak ------===//
//
// Prints the host's single-core FMA peak (measured with a register-resident
// FMA loop, AVX-512 if present) and the GFLOP/s of kb's gemm kernel on tile
// and layer shapes, with the ratio to the peak. Best of --repeat runs. Both
// are timed in the thread's CPU time, not wall time: on a shared 2-core VM a
// preempted run would otherwise count another process's slice as ours (the
// ratio still drops when a sibling hyperthread competes for the FMA units).
//
// The f16 rows are the column groups kb-run hands the host gemm on
// llama-prefill (Llama-2-7B's MLP, 2048 tokens, W = 8; gemmColumns): a
// rank's gate or up product (16 PE tiles of 86 columns viewed in the
// 4096 x 11008 f16 weight) and a 256-row band of its down product (16 tiles
// of 256 columns of the 1376 x 4096 weight), each twice: C in warm memory,
// then in fresh blocks as kb-run mostly writes it.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/HostTensor.h"
#include "kb/Runtime/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <immintrin.h>
#include <string>
#include <vector>

namespace {

/// This thread's CPU seconds.
double cpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// 12 independent accumulators hide FMA latency on every current core.
#define KB_PEAK_LOOP(VEC, SET1, FMA, LANES)                                    \
  VEC acc[12];                                                                 \
  for (auto &a : acc)                                                          \
    a = SET1(1.0f);                                                            \
  VEC x = SET1(0.999999f), y = SET1(1e-7f);                                    \
  double start = cpuSeconds();                                                 \
  for (int64_t i = 0; i < iterations; ++i)                                     \
    for (auto &a : acc)                                                        \
      a = FMA(a, x, y);                                                        \
  double seconds = cpuSeconds() - start;                                       \
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

/// GFLOP/s of gemm on m×n×k (f32), best of `repeats`.
double gemmGflops(int64_t m, int64_t n, int64_t k, int repeats) {
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  double best = 1e30;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    double start = cpuSeconds();
    kb::runtime::gemm(a.data(), k, b.data(), n, c.data(), n, m, n, k, false);
    best = std::min(best, cpuSeconds() - start);
  }
  return 2.0 * m * n * k / best / 1e9;
}

/// GFLOP/s of C_s = A · B_s for `count` blocks of `n` columns of f16 B
/// (gemmColumns), each block a view `n` columns apart in a weight `ldb` wide,
/// best of `repeats`. With `freshC`, each repeat writes C into blocks just
/// taken from kb's tensor allocator, as kb-run's gemms mostly do, rather
/// than into the same warm vectors: the cost of a fresh page's first write
/// (a fault to the hypervisor in a VM) is then part of the figure.
double columnsGflops(int64_t m, int64_t n, int64_t k, int64_t count,
                     int64_t ldb, int repeats, bool freshC = false) {
  std::vector<float> a(m * k);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = 0.25f + 0.001f * (i % 97);
  std::vector<uint16_t> b(k * ldb, 0x3400); // 0.25
  std::vector<std::vector<float>> c(count, std::vector<float>(m * n));
  std::vector<kb::runtime::GemmColumns> cols(count);
  for (int64_t s = 0; s < count; ++s) {
    cols[s].halfB = b.data() + s * n;
    cols[s].ldb = ldb;
    cols[s].c = c[s].data();
    cols[s].ldc = n;
    cols[s].n = n;
  }
  double best = 1e30;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    std::vector<void *> fresh;
    if (freshC)
      for (int64_t s = 0; s < count; ++s) {
        fresh.push_back(
            kb::runtime::allocateTensorStorage(m * n * sizeof(float)));
        cols[s].c = static_cast<float *>(fresh.back());
      }
    double start = cpuSeconds();
    kb::runtime::gemmColumns(a.data(), k, cols.data(), count, m, k, false);
    best = std::min(best, cpuSeconds() - start);
    for (void *p : fresh)
      kb::runtime::freeTensorStorage(p, m * n * sizeof(float));
  }
  return 2.0 * m * n * k * count / best / 1e9;
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
  std::printf("host FMA peak (1 core): %.1f GFLOP/s (thread CPU time)\n", peak);
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
        gemmGflops(s.m, s.n, s.k, smoke ? 1 : repeat);
    std::printf("%6ld %6ld %6ld %10.1f %7.0f%%\n", (long)s.m, (long)s.n,
                (long)s.k, gflops, 100.0 * gflops / peak);
  }
  struct Group {
    const char *name;
    int64_t m, n, k, count, ldb;
  } groups[] = {{"llama-prefill gate/up", 2048, 86, 4096, 16, 11008},
                {"llama-prefill down", 256, 256, 1376, 16, 4096}};
  std::printf("f16 B, column groups (gemmColumns):\n");
  std::printf("%-31s %6s %10s %6s %10s %8s\n", "product", "m", "blocks x n",
              "k", "GFLOP/s", "of peak");
  for (const Group &g : groups) {
    // --smoke: the same blocks over a few rows and a short k.
    int64_t m = smoke ? 24 : g.m, k = smoke ? 64 : g.k;
    char blocks[32];
    std::snprintf(blocks, sizeof blocks, "%ldx%ld", (long)g.count, (long)g.n);
    for (bool freshC : {false, true}) {
      double gflops =
          columnsGflops(m, g.n, k, g.count, g.ldb, smoke ? 1 : repeat, freshC);
      std::string name = std::string(g.name) + (freshC ? ", fresh C" : "");
      std::printf("%-31s %6ld %10s %6ld %10.1f %7.0f%%\n", name.c_str(),
                  (long)m, blocks, (long)k, gflops, 100.0 * gflops / peak);
    }
  }
  return 0;
}
