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
// then in fresh blocks as kb-run mostly writes it; then the down
// projection's products as a run's overlap bands cut them (62 rows, 8 ranks'
// weights, panels cached), the 4-rank MLP's row-parallel band as a cube's PEs
// cut it (each 9-row tile its own product, then the tiles stacked), and what
// writing fresh host memory costs against writing it again (a run's peak
// memory is paid at that first rate).
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/GemmBatch.h"
#include "kb/Runtime/HostTensor.h"
#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/PackedWeights.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <immintrin.h>
#include <string>
#include <utility>
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

/// GFLOP/s of the row-parallel products as kb-run runs them when the
/// overlap cuts them into thin row bands: each of `ranks` ranks multiplies
/// an m-row band by its own f16 weight (`count` blocks of `n` columns,
/// k rows) whose panels a PackedWeights cache holds (packed by a first,
/// untimed sweep), one rank after another, so that a rank's panels come
/// back from memory rather than from the last-level cache. C's blocks come
/// from kb's tensor allocator, but at 62 KiB they are below its mapped size
/// and malloc recycles them from one sweep to the next: this times the
/// kernel, not the fresh pages the run's band buffers cost (the last line
/// prints those). Best of `repeats` sweeps over the ranks.
double cachedBandGflops(int64_t m, int64_t n, int64_t k, int64_t count,
                        int64_t ranks, int repeats) {
  std::vector<float> a(m * k);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = 0.25f + 0.001f * (i % 97);
  std::vector<std::vector<uint16_t>> b(
      ranks, std::vector<uint16_t>(k * n * count, 0x3400)); // 0.25
  kb::runtime::PackedWeights weights(kb::runtime::PackedWeights::kRunBytes);
  std::vector<kb::runtime::GemmColumns> cols(count);
  auto sweep = [&] {
    std::vector<void *> fresh;
    for (int64_t r = 0; r < ranks; ++r) {
      for (int64_t s = 0; s < count; ++s) {
        fresh.push_back(
            kb::runtime::allocateTensorStorage(m * n * sizeof(float)));
        cols[s].halfB = b[r].data() + s * n;
        cols[s].ldb = n * count;
        cols[s].c = static_cast<float *>(fresh.back());
        cols[s].ldc = n;
        cols[s].n = n;
      }
      kb::runtime::gemmColumns(a.data(), k, cols.data(), count, m, k,
                               /*accumulate=*/false, &weights);
    }
    for (void *p : fresh)
      kb::runtime::freeTensorStorage(p, m * n * sizeof(float));
  };
  sweep();
  double best = 1e30;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    double start = cpuSeconds();
    sweep();
    best = std::min(best, cpuSeconds() - start);
  }
  return 2.0 * m * n * k * count * ranks / best / 1e9;
}

/// GFLOP/s of a row-parallel band as a cube's PEs cut it (the 4-rank MLP's
/// overlap bands: `tiles` tiles of `rows` rows, each PE's rows of A staged
/// in a buffer of its own and each tile's C blocks in their own), by a
/// rank's f32 weight (`count` blocks of `n` columns, k rows): first each
/// tile its own product, packing the weight again, then the tiles stacked
/// into one (stackGemms), which packs it once. Best of `repeats` each.
std::pair<double, double> stackedBandGflops(int64_t tiles, int64_t rows,
                                            int64_t n, int64_t k, int64_t count,
                                            int repeats) {
  std::vector<float> b(k * n * count, 0.25f);
  std::vector<std::vector<float>> a(tiles), c(tiles * count);
  std::vector<kb::runtime::GemmTask> tasks;
  for (int64_t t = 0; t < tiles; ++t) {
    a[t].resize(rows * k);
    for (size_t i = 0; i < a[t].size(); ++i)
      a[t][i] = 0.25f + 0.001f * ((i + t) % 97);
    kb::runtime::GemmTask task;
    task.a = a[t].data();
    task.lda = k;
    task.m = rows;
    task.k = k;
    task.n = n * count;
    for (int64_t s = 0; s < count; ++s) {
      c[t * count + s].resize(rows * n);
      kb::runtime::GemmColumns block;
      block.b = b.data() + s * n;
      block.ldb = n * count;
      block.c = c[t * count + s].data();
      block.ldc = n;
      block.n = n;
      task.blocks.push_back(block);
    }
    tasks.push_back(task);
  }
  std::vector<kb::runtime::GemmTask> stacked = kb::runtime::stackGemms(tasks);
  auto best = [&](const std::vector<kb::runtime::GemmTask> &batch) {
    double fastest = 1e30;
    for (int r = 0; r < std::max(repeats, 1) + 1; ++r) {
      double start = cpuSeconds();
      for (const kb::runtime::GemmTask &task : batch)
        task.run();
      // The first run warms the buffers of this thread (untimed).
      if (r > 0)
        fastest = std::min(fastest, cpuSeconds() - start);
    }
    return 2.0 * tiles * rows * n * count * k / fastest / 1e9;
  };
  return {best(tasks), best(stacked)};
}

/// GB/s of the first and of a second write of every byte of `bytes` taken
/// from kb's tensor allocator (populated as kb-run's blocks are), in the
/// thread's CPU time: what a buffer's fresh pages cost the tile that first
/// writes them, against memory already in use. On a virtual machine whose
/// host backs guest pages lazily the first is far the slower, and that
/// cost scales with a run's peak memory, not with its arithmetic.
std::pair<double, double> freshWriteGBps(size_t bytes) {
  void *p = kb::runtime::allocateTensorStorage(bytes);
  double start = cpuSeconds();
  std::memset(p, 1, bytes);
  double first = cpuSeconds() - start;
  start = cpuSeconds();
  std::memset(p, 2, bytes);
  double second = cpuSeconds() - start;
  kb::runtime::freeTensorStorage(p, bytes);
  return {bytes / first / 1e9, bytes / second / 1e9};
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
  // The down projection's products as the overlap cuts them: 62-row bands
  // (most of a 2048-token run's), each rank's f16 panels cached.
  {
    int64_t m = smoke ? 14 : 62, k = smoke ? 64 : 1376;
    double gflops =
        cachedBandGflops(m, 256, k, 16, smoke ? 2 : 8, smoke ? 1 : repeat);
    std::printf("%-31s %6ld %10s %6ld %10.1f %7.0f%%\n",
                "llama-prefill down band, cached", (long)m, "16x256", (long)k,
                gflops, 100.0 * gflops / peak);
  }
  // The 4-rank MLP's row-parallel band: 8 PE tiles of 9 rows by a rank's
  // 1024 x 1024 f32 weight block in 16 blocks of 64 columns.
  {
    int64_t n = smoke ? 16 : 64, k = smoke ? 64 : 1024;
    auto [alone, stacked] =
        stackedBandGflops(8, 9, n, k, 16, smoke ? 1 : repeat);
    std::printf("mlp down band, 8 PE tiles of 9 rows, k %ld: one by one "
                "%.1f GFLOP/s, stacked %.1f (%.2fx)\n",
                (long)k, alone, stacked, stacked / alone);
  }
  // A block of cube buffers' size in all (a fresh one each time: the
  // allocator unmaps what is freed), in a scope of transient tensors as
  // kb-run's cube buffers are.
  {
    kb::runtime::TransientTensorScope transient;
    size_t bytes = (smoke ? size_t{8} : size_t{256}) << 20;
    auto [first, again] = freshWriteGBps(bytes);
    std::printf("fresh host memory (%zu MiB): first write %.1f GB/s, "
                "second %.1f GB/s (%.1fx)\n",
                bytes >> 20, first, again, again / first);
  }
  return 0;
}
