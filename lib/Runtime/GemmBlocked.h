//===- GemmBlocked.h - the blocked gemm, one instance per ISA -------*- C++
//-*-===//
//
// Included by one file per instruction set (GemmAVX512.cpp, GemmAVX2.cpp,
// Gemm.cpp), each compiled with that set's flags, so the micro-kernel's
// vector code is generated for it. Everything here has internal linkage so
// no instance leaks into another file's.
//
//===----------------------------------------------------------------------===//

#ifndef KB_LIB_RUNTIME_GEMMBLOCKED_H
#define KB_LIB_RUNTIME_GEMMBLOCKED_H

#include "kb/Runtime/DType.h"
#include "kb/Runtime/PackedWeights.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) || defined(__F16C__) || defined(__AVX__)
#include <immintrin.h>
#endif

namespace kb::runtime::detail {
/// One block of columns of a product: C[:, 0 : n] (ldc) += A · B[:, 0 : n]
/// (ldb), B of f32 or f16 bits. The blocked kernels take several blocks that
/// share A (a device tile's columns of one weight, each in its own buffer),
/// so A's blocks are read and packed once for all of them.
template <typename TB> struct Columns {
  const TB *b;
  int64_t ldb;
  float *c;
  int64_t ldc;
  int64_t n;
};
} // namespace kb::runtime::detail

namespace {

/// dst[0 : n] = B's elements src[0 : n] as f32: a copy for f32, a conversion
/// for f16 bits, with the widest conversion the file is compiled for (f16 is
/// exact in f32, so every instance gives the same values).
inline void rowToF32(const float *src, float *dst, int64_t n) {
  // Vector moves, not memcpy: GCC makes a variable-length memcpy a
  // `rep movsq`, whose start-up cost dominated a 32-float panel row (a
  // quarter of a small-tile run).
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
#endif
#if defined(__AVX__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
#endif
  for (; i < n; ++i)
    dst[i] = src[i];
}
inline void rowToF32(const uint16_t *src, float *dst, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(
                                  reinterpret_cast<const __m256i *>(src + i))));
#endif
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i *>(src + i))));
  // The last n % 8 through a zero-padded copy: a device tile's 86 columns
  // end on 6, which took 6 calls of the scalar halfToFloat per row of B.
  if (i < n) {
    uint16_t in[8] = {};
    float out[8];
    std::memcpy(in, src + i, (n - i) * sizeof(uint16_t));
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128(
                              reinterpret_cast<const __m128i *>(in))));
    std::memcpy(dst + i, out, (n - i) * sizeof(float));
    return;
  }
#endif
  for (; i < n; ++i)
    dst[i] = kb::runtime::halfToFloat(src[i]);
}
/// dst[0 : n] = src[0 : n] for a panel row of B in its own type, by vector
/// moves: a libc memmove call per 64-byte panel row was most of a weight
/// block's packing.
template <typename TB>
inline void copyPanelRow(const TB *src, TB *dst, int64_t n) {
  int64_t bytes = n * int64_t(sizeof(TB)), i = 0;
  auto *from = reinterpret_cast<const char *>(src);
  auto *to = reinterpret_cast<char *>(dst);
#if defined(__AVX512F__)
  for (; i + 64 <= bytes; i += 64)
    _mm512_storeu_si512(to + i, _mm512_loadu_si512(from + i));
#endif
#if defined(__AVX__)
  for (; i + 32 <= bytes; i += 32)
    _mm256_storeu_si256(
        reinterpret_cast<__m256i *>(to + i),
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(from + i)));
#endif
  if (i < bytes)
    std::memcpy(to + i, from + i, bytes - i);
}
/// VL f16 values at p, widened to f32 into a vector of VL floats (Vec), with
/// the widest conversion the file is compiled for: the kernels' loads of f16
/// B, in a cached panel or streamed.
template <typename Vec, int VL> inline Vec widenHalves(const uint16_t *p) {
#if defined(__AVX512F__)
  if constexpr (VL == 16)
    return (Vec)_mm512_maskz_cvtph_ps(
        0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
#endif
#if defined(__F16C__)
  if constexpr (VL == 8)
    return (Vec)_mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  if constexpr (VL == 4)
    return (Vec)_mm_cvtph_ps(
        _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)));
#endif
  Vec v;
  for (int i = 0; i < VL; ++i)
    v[i] = kb::runtime::halfToFloat(p[i]);
  return v;
}
inline float toF32(float x) { return x; }
inline float toF32(uint16_t x) { return kb::runtime::halfToFloat(x); }

/// A thread's packing buffer: grown as needed and never zero-filled. Every
/// element a kernel reads is written by the packing first (panel padding is
/// zeroed explicitly), so a std::vector's value-initialising resize only
/// cost a memset of the whole buffer on each thread's first gemm (5% of a
/// small `mlp` run). 64-byte aligned, so panels start on a cache line.
class PackBuffer {
public:
  float *get(int64_t n) {
    if (n > size) {
      data.reset(static_cast<float *>(
          ::operator new[](n * sizeof(float), std::align_val_t(64))));
      size = n;
    }
    return data.get();
  }
  int64_t capacity() const { return size; }

private:
  struct Free {
    void operator()(float *p) const {
      ::operator delete[](p, std::align_val_t(64));
    }
  };
  std::unique_ptr<float[], Free> data;
  int64_t size = 0;
};

constexpr int64_t kMC = 144; // rows of A per block (a multiple of MR)
constexpr int64_t kNC = 3072;
/// Column blocks of B up to this wide read A unpacked (blockedGemm).
constexpr int64_t kUnpackedANC = 256;
/// Products of at most this many rows of A take B's panels from a
/// PackedWeights cache when they are given one. Packing an element of B
/// costs a few multiply-adds' time, against m of them in the product: a few
/// percent at this m, and kept in the thread's buffer while still warm.
constexpr int64_t kCachedPackMaxRows = 512;

/// C tile (MR × NR, leading dimension ldc) += A panel · B panel, for the
/// first mr × nr of it; panels are packed and zero-padded to MR / NR (a last
/// partial panel of A to the MR of the kernel that takes it: remainderRows).
template <int MR, int NR, int VL> struct MicroKernel {
  typedef float Vec __attribute__((vector_size(VL * 4)));
  // Unaligned, aliasing view for loads and stores: a plain dereference keeps
  // the accumulators in registers, where memcpy made GCC bounce them (and the
  // B row) through the stack and stall on store forwarding every step.
  typedef float VecU
      __attribute__((vector_size(VL * 4), aligned(4), may_alias));
  static constexpr int kVecs = NR / VL;
  /// The kernel of the same panel width on R rows (a last, partial panel
  /// of A: remainderRows).
  template <int R> using WithRows = MicroKernel<R, NR, VL>;

  static inline Vec load(const float *p) {
    return *reinterpret_cast<const VecU *>(p);
  }
  static inline void store(float *p, Vec v) {
    *reinterpret_cast<VecU *>(p) = v;
  }
  // A panel of B in f32, or in f16 bits (a weight's panels kept packed in
  // PackedWeights: half the bytes to read again), widened as it is loaded.
  static inline Vec loadB(const float *p) { return load(p); }
  static inline Vec loadB(const uint16_t *p) { return widenHalves<Vec, VL>(p); }
  // -0.0 + x is x for every x, so this folds to a plain broadcast (+0.0
  // would cost an add, to turn -0.0 into +0.0).
  static inline Vec broadcast(float x) { return -Vec{} + x; }

  /// A is a packed panel (element (i, p) at a[p * MR + i]) or, with
  /// kUnpackedA, MR whole rows read in place (a[i * lda + p]). kOverwrite
  /// (a product's first panel of k, C not accumulated into): C = 0 + the
  /// tile, exactly what zero-filling C first and adding gave (0 + -0 is +0),
  /// without reading C or writing it twice.
  template <bool kUnpackedA = false, bool kOverwrite = false,
            typename TP = float>
  static inline void run(int64_t kc, const float *a, const TP *b, float *c,
                         int64_t ldc, int64_t mr, int64_t nr, int64_t lda = 0) {
    Vec acc[MR][kVecs];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < kVecs; ++j)
        acc[i][j] = Vec{};
    // C's tile, wanted only after the kc steps, into L1 meanwhile: its rows
    // are a device tile's width apart in a buffer of MBs that each of k/KC
    // panels of B sweeps again, so without this every micro-tile ended on
    // MR × 2-3 cache misses from L3 or memory (kb-run's llama-prefill
    // 3% less CPU, kb-kernel-bench's down group 4 points of peak).
    for (int i = 0; i < MR; ++i) {
      __builtin_prefetch(c + i * ldc, 1);
      __builtin_prefetch(c + i * ldc + NR - 1, 1);
    }
    for (int64_t p = 0; p < kc; ++p) {
      Vec bv[kVecs];
      for (int j = 0; j < kVecs; ++j)
        bv[j] = loadB(b + p * NR + j * VL);
      for (int i = 0; i < MR; ++i) {
        Vec av = broadcast(kUnpackedA ? a[i * lda + p] : a[p * MR + i]);
        for (int j = 0; j < kVecs; ++j)
          acc[i][j] += av * bv[j];
      }
    }
    if (mr == MR && nr == NR) {
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < kVecs; ++j)
          store(c + i * ldc + j * VL,
                (kOverwrite ? Vec{} : load(c + i * ldc + j * VL)) + acc[i][j]);
      return;
    }
    float tile[MR * NR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < kVecs; ++j)
        store(tile + i * NR + j * VL, acc[i][j]);
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < nr; ++j)
        c[i * ldc + j] = (kOverwrite ? 0.0f : c[i * ldc + j]) + tile[i * NR + j];
  }
};

/// The rows a last panel of `mr` < MR rows of A is packed and multiplied
/// as: a third or two thirds of MR when that holds them (MR divisible by
/// 3: 4 or 8 of AVX-512's 12), else MR. The overlap of collectives cuts a
/// row-parallel product into bands of rows that are rarely a multiple of
/// MR (62 rows of Llama-2-7B's down projection at 2048 tokens: 5 panels
/// and 2 rows), and a whole MR-row kernel on the last few rows multiplied
/// 72 rows for such a band's 62. Every element of C is still summed in the
/// same order.
template <int MR> constexpr int64_t remainderRows(int64_t mr) {
  if constexpr (MR % 3 == 0) {
    if (mr <= MR / 3)
      return MR / 3;
    if (mr <= 2 * MR / 3)
      return 2 * MR / 3;
  }
  return MR;
}
static_assert(remainderRows<12>(2) == 4 && remainderRows<12>(8) == 8 &&
              remainderRows<12>(9) == 12 && remainderRows<6>(1) == 2 &&
              remainderRows<4>(1) == 4);

/// Four floats in a vector register.
typedef float Float4 __attribute__((vector_size(16)));
/// Elements I... of the 8 of a then b: GCC's __builtin_shuffle, clang's
/// __builtin_shufflevector (each compiler has only its own).
template <int... I> inline Float4 shuffle4(Float4 a, Float4 b) {
#if defined(__clang__)
  return __builtin_shufflevector(a, b, I...);
#else
  typedef int Int4 __attribute__((vector_size(16)));
  return __builtin_shuffle(a, b, Int4{I...});
#endif
}

/// Packs the first kc / 4 · 4 columns of MR whole rows of A (`rows`, lda
/// apart) into an MR-tall panel (element (i, p) at panel[p * MR + i]) by
/// 4 × 4 blocks: four 4-float loads, a transpose in registers and four
/// 4-float stores, in place of 16 scalar loads and stores (packing A was
/// 2% of a llama-prefill run). Returns the columns packed; the same
/// values land where the scalar loop would put them.
template <int MR>
inline int64_t packPanelA4(const float *rows, int64_t lda, int64_t kc,
                           float *panel) {
  using V4 = Float4;
  typedef float V4U __attribute__((vector_size(16), aligned(4), may_alias));
  auto load = [](const float *p) { return V4(*reinterpret_cast<const V4U *>(p)); };
  auto store = [](float *p, V4 v) { *reinterpret_cast<V4U *>(p) = v; };
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4)
    for (int i = 0; i < MR; i += 4) {
      const float *r = rows + i * lda + p;
      V4 r0 = load(r), r1 = load(r + lda), r2 = load(r + 2 * lda),
         r3 = load(r + 3 * lda);
      // (r0[0] r1[0] r0[1] r1[1]), (r2[0] r3[0] r2[1] r3[1]), and the same
      // of elements 2 and 3; then column q of the block from two of them.
      V4 lo01 = shuffle4<0, 4, 1, 5>(r0, r1);
      V4 lo23 = shuffle4<0, 4, 1, 5>(r2, r3);
      V4 hi01 = shuffle4<2, 6, 3, 7>(r0, r1);
      V4 hi23 = shuffle4<2, 6, 3, 7>(r2, r3);
      float *dst = panel + p * MR + i;
      store(dst, shuffle4<0, 1, 4, 5>(lo01, lo23));
      store(dst + MR, shuffle4<2, 3, 6, 7>(lo01, lo23));
      store(dst + 2 * MR, shuffle4<0, 1, 4, 5>(hi01, hi23));
      store(dst + 3 * MR, shuffle4<2, 3, 6, 7>(hi01, hi23));
    }
  return p;
}

/// The width of the B panel that starts `r` columns before a block's end: a
/// whole NR panel while more than 3/4 of it would be used, else a half or a
/// quarter one, so a block's last columns cost at most NR/4 - 1 columns of
/// padding arithmetic, not up to NR - 1. A device tile's 86 columns are
/// multiplied as 32 + 32 + 16 + 8, not 3 × 32 (a tenth of a prefill's
/// gate and up products was padding).
template <int NR> constexpr int64_t panelWidth(int64_t r) {
  return r > 3 * NR / 4 ? NR : r > NR / 4 ? NR / 2 : NR / 4;
}
/// The columns of n once packed into panelWidth panels: every panel but the
/// last is full, so a panel starting at column jr sits at jr · kc.
template <int NR> constexpr int64_t paddedWidth(int64_t n) {
  int64_t jr = 0;
  while (jr < n) {
    int64_t w = panelWidth<NR>(n - jr);
    if (n - jr <= w)
      return jr + w;
    jr += w;
  }
  return jr;
}
static_assert(paddedWidth<32>(86) == 88 && paddedWidth<32>(172) == 176 &&
              paddedWidth<32>(26) == 32 && paddedWidth<32>(64) == 64 &&
              paddedWidth<16>(5) == 8 && paddedWidth<8>(1) == 2);

/// All k rows of one column block of B packed as blockedGemm packs a
/// block alone, but in B's own element type (f16 bits stay 16-bit: the
/// micro-kernel widens them as it loads, and a cached weight's panels are
/// read from memory by every product, so half the bytes is the speed),
/// panel block by panel block of KC rows: rows [pc, pc + kc) at
/// out + paddedWidth(n) · pc, each NR-wide (or narrower, panelWidth)
/// panel at its first column · kc within them, zero-padded.
template <int NR, int KC, typename TB>
inline void packWholeBlock(const TB *b, int64_t ldb, int64_t n, int64_t k,
                           TB *out) {
  int64_t padded = paddedWidth<NR>(n);
  for (int64_t pc = 0; pc < k; pc += KC) {
    int64_t kc = std::min<int64_t>(KC, k - pc);
    for (int64_t p = 0; p < kc; ++p) {
      // Rows a whole weight row apart: fetched 8 ahead (see blockedGemm).
      if (pc + p + 8 < k) {
        const char *ahead =
            reinterpret_cast<const char *>(b + (pc + p + 8) * ldb);
        for (int64_t at = 0; at < n * int64_t(sizeof(TB)); at += 64)
          __builtin_prefetch(ahead + at);
      }
      for (int64_t jr = 0, w; jr < n; jr += w) {
        w = panelWidth<NR>(n - jr);
        int64_t nr = std::min(w, n - jr);
        TB *dst = out + padded * pc + jr * kc + p * w;
        copyPanelRow(b + (pc + p) * ldb + jr, dst, nr);
        std::fill(dst + nr, dst + w, TB{}); // +0.0 in f32 and f16 alike
      }
    }
  }
}

/// The blocked loop nest around one micro-kernel shape, for the column
/// blocks `cols[0 : count]` that share A (m × k). KC, the panel depth,
/// keeps one B micro-panel (KC × NR) and one A micro-panel (MR × KC) in L1
/// together; it is per kernel because NR differs. The blocks are packed side
/// by side as one product's columns, up to kNC columns at a time (a wider
/// block is cut), in NR-wide panels that run across the blocks' edges, and
/// each (mc × kc) block of A is read or packed once for all of them: with a
/// device tile's 86 columns per block, reading A (2048 × 4096, rows 16 KiB
/// apart, whose 12 rows of a micro-tile then share one L1 set) again for
/// every block took most of a prefill run, and panels cut at each block's
/// edge (32 + 32 + 16 + 8 columns) ran a quarter of its products in the
/// narrow kernels. A panel that spans blocks multiplies into a strip
/// (stripBuffer), copied to the blocks' Cs at the end. Each element of C is
/// summed in the same order whatever the blocks and panels, so the results
/// do not depend on them.
///
/// With `weights` (B's blocks constant while it lives) and at most
/// kCachedPackMaxRows rows, each block's panels are packed once into the
/// cache (packWholeBlock: panels then end at each block's edge) and read
/// from there by this and every later product of the block.
template <int MR, int NR, int KC, int VL, typename TB>
inline void blockedGemm(const float *a, int64_t lda,
                        const kb::runtime::detail::Columns<TB> *cols,
                        int64_t count, int64_t m, int64_t k, bool accumulate,
                        kb::runtime::PackedWeights *weights) {
  using Cols = kb::runtime::detail::Columns<TB>;
  // The micro-kernels of the three panel widths (panelWidth).
  using Kernel = MicroKernel<MR, NR, VL>;
  using HalfKernel = MicroKernel<MR, NR / 2, std::min(VL, NR / 2)>;
  using QuarterKernel = MicroKernel<MR, NR / 4, std::min(VL, NR / 4)>;
  thread_local PackBuffer packBufferA, packBufferB;
  float *packedA = packBufferA.get(((kMC + MR - 1) / MR) * MR * KC);
  float *packedB = packBufferB.get(((kNC + NR - 1) / NR) * NR * KC);
  // The blocks cut to at most kNC columns, then grouped while their columns
  // fit the kNC-wide packing buffer.
  std::vector<Cols> pieces;
  for (int64_t s = 0; s < count; ++s)
    for (int64_t jc = 0; jc < cols[s].n; jc += kNC)
      pieces.push_back({cols[s].b + jc, cols[s].ldb, cols[s].c + jc,
                        cols[s].ldc, std::min(kNC, cols[s].n - jc)});
  // A panel of the group: columns [jr, jr + w) of the pieces side by side,
  // of which `nr` hold columns of a piece (the rest is padding), and the
  // segments of pieces it covers, left to right.
  struct Segment {
    size_t piece;
    int64_t at;   // the segment's first column in the piece
    int64_t from; // ... and in the panel
    int64_t n;
  };
  struct Panel {
    int64_t jr, w, nr;
    size_t firstSegment, segments;
    // A panel of several segments: its columns in the strip.
    int64_t strip = -1;
    // A panel of a block packed in `weights`: the block's packed panels
    // (packWholeBlock) and their padded width.
    const TB *packed = nullptr;
    int64_t packedWidth = 0;
  };
  // The panels that span pieces are multiplied into a strip of this
  // thread's, as if one C, and copied to the pieces' Cs once at the end:
  // adding a stack tile to each piece's C after every panel of k cost more
  // than the narrow kernels it replaces.
  thread_local std::vector<float> stripBuffer;
  std::vector<Panel> panels;
  std::vector<Segment> segments;
  std::vector<int64_t> starts;
  for (size_t g0 = 0, g1; g0 < pieces.size(); g0 = g1) {
    int64_t width = pieces[g0].n;
    for (g1 = g0 + 1; g1 < pieces.size() && width + pieces[g1].n <= kNC; ++g1)
      width += pieces[g1].n;
    // The group's panels and where each piece starts among its columns.
    starts.clear();
    for (size_t g = g0, at = 0; g < g1; at += pieces[g].n, ++g)
      starts.push_back(at);
    panels.clear();
    segments.clear();
    // Each piece's panels from the cache, when all of the group's are there.
    std::vector<const TB *> cached;
    if (weights && m <= kCachedPackMaxRows)
      for (size_t g = g0; g < g1; ++g) {
        const Cols &piece = pieces[g];
        auto *packed = static_cast<const TB *>(weights->get(
            {piece.b, piece.ldb, piece.n, k, int64_t(sizeof(TB)), NR, KC},
            paddedWidth<NR>(piece.n) * k * sizeof(TB), [&](void *out) {
              packWholeBlock<NR, KC>(piece.b, piece.ldb, piece.n, k,
                                     static_cast<TB *>(out));
            }));
        if (!packed) {
          cached.clear();
          break;
        }
        cached.push_back(packed);
      }
    for (size_t g = g0; !cached.empty() && g < g1; ++g)
      for (int64_t jr = 0, w; jr < pieces[g].n; jr += w) {
        w = panelWidth<NR>(pieces[g].n - jr);
        Panel panel{starts[g - g0] + jr, w, std::min(w, pieces[g].n - jr),
                    segments.size(), 1};
        panel.packed = cached[g - g0];
        panel.packedWidth = paddedWidth<NR>(pieces[g].n);
        segments.push_back({g, jr, 0, panel.nr});
        panels.push_back(panel);
      }
    for (int64_t jr = 0, w; cached.empty() && jr < width; jr += w) {
      w = panelWidth<NR>(width - jr);
      Panel panel{jr, w, std::min(w, width - jr), segments.size(), 0};
      for (size_t g = g0; g < g1; ++g) {
        int64_t lo = std::max(jr, starts[g - g0]),
                hi = std::min(jr + panel.nr, starts[g - g0] + pieces[g].n);
        if (lo < hi)
          segments.push_back({g, lo - starts[g - g0], lo - jr, hi - lo});
      }
      panel.segments = segments.size() - panel.firstSegment;
      panels.push_back(panel);
    }
    int64_t stripLd = 0;
    for (Panel &panel : panels)
      if (panel.segments > 1) {
        panel.strip = stripLd;
        stripLd += NR;
      }
    if (stripBuffer.size() < static_cast<size_t>(m * stripLd))
      stripBuffer.resize(m * stripLd);
    float *strip = stripBuffer.data();
    // Copies between the strip and the pieces' Cs, for every row of C.
    auto stripCopy = [&](bool toStrip) {
      for (const Panel &panel : panels)
        for (size_t s = 0; panel.strip >= 0 && s < panel.segments; ++s) {
          const Segment &seg = segments[panel.firstSegment + s];
          const Cols &piece = pieces[seg.piece];
          for (int64_t i = 0; i < m; ++i) {
            float *c = piece.c + i * piece.ldc + seg.at;
            float *t = strip + i * stripLd + panel.strip + seg.from;
            if (toStrip)
              std::copy_n(c, seg.n, t);
            else
              std::copy_n(t, seg.n, c);
          }
        }
    };
    if (accumulate)
      stripCopy(/*toStrip=*/true);
    int64_t padded = 0;
    if (cached.empty())
      padded = paddedWidth<NR>(width);
    else
      for (size_t g = g0; g < g1; ++g)
        padded += paddedWidth<NR>(pieces[g].n);
    for (int64_t pc = 0; pc < k; pc += KC) {
      int64_t kc = std::min<int64_t>(KC, k - pc);
      // Pack B[pc : pc+kc, group] into the NR-wide panels, zero-padded (and
      // converted to f32: f16 weights are widened here, once per use). Row
      // by row of B, each row's segments in one sweep: a weight viewed in
      // place has rows a whole global row apart (a page or more), which the
      // prefetcher does not follow, so a panel-by-panel pack took one cache
      // miss per NR elements (a tenth of a prefill run).
      for (int64_t p = 0; cached.empty() && p < kc; ++p) {
        // The rows 8 ahead, every cache line of them: the rows are too far
        // apart for the hardware to fetch them early.
        if (p + 8 < kc)
          for (size_t g = g0; g < g1; ++g) {
            const char *ahead = reinterpret_cast<const char *>(
                pieces[g].b + (pc + p + 8) * pieces[g].ldb);
            for (int64_t at = 0; at < pieces[g].n * int64_t(sizeof(TB));
                 at += 64)
              __builtin_prefetch(ahead + at);
          }
        for (const Panel &panel : panels) {
          float *dst = packedB + panel.jr * kc + p * panel.w;
          for (size_t s = 0; s < panel.segments; ++s) {
            const Segment &seg = segments[panel.firstSegment + s];
            const Cols &piece = pieces[seg.piece];
            rowToF32(piece.b + (pc + p) * piece.ldb + seg.at, dst + seg.from,
                     seg.n);
          }
          std::fill(dst + panel.nr, dst + panel.w, 0.0f);
        }
      }
      // With few columns of B in all (a lone device tile's 128 or 172), a
      // packed A panel would serve only a few micro-tiles, and packing A
      // (the large operand of a tall tile) was a quarter of a prefill run:
      // whole MR-row panels of A are then read in place, each row a stream
      // the prefetcher follows; only a last partial panel is packed.
      bool unpackedA = padded <= kUnpackedANC;
      // Every micro-tile of A's rows [ic + from, ic + to) (MR-row panels
      // at `aPanels`, or A itself with `inPlace`) against every panel.
      // Without `accumulate`, the first panel of k writes C (the kernels'
      // kOverwrite): C is not zero-filled beforehand.
      bool overwrite = !accumulate && pc == 0;
      auto multiply = [&](int64_t ic, int64_t from, int64_t to,
                          const float *aPanels, bool inPlace) {
        for (const Panel &panel : panels) {
          const float *bp = packedB + panel.jr * kc;
          // One piece's columns: its C. Else the strip.
          const Segment &first = segments[panel.firstSegment];
          float *c0 = panel.strip >= 0
                          ? strip + panel.strip
                          : pieces[first.piece].c + first.at;
          int64_t ldc = panel.strip >= 0 ? stripLd : pieces[first.piece].ldc;
          // B's panel packed here, or in the cache in B's own type.
          auto tiles = [&](auto kernel, const auto *bp) {
            using K = decltype(kernel);
            for (int64_t ir = from; ir < to; ir += MR) {
              int64_t mr = std::min<int64_t>(MR, to - ir);
              const float *ap = a + (ic + ir) * lda + pc;
              // (No panels when A is read in place: a null base takes no
              // offset.)
              const float *aPanel =
                  aPanels ? aPanels + (ir / MR) * MR * kc : nullptr;
              float *c = c0 + (ic + ir) * ldc;
              // A last partial panel, packed remainderRows(mr) tall.
              if (int64_t height = remainderRows<MR>(mr);
                  !inPlace && height < MR) {
                auto partial = [&](auto rows) {
                  using R =
                      typename K::template WithRows<decltype(rows)::value>;
                  if (overwrite)
                    R::template run<false, true>(kc, aPanel, bp, c, ldc, mr,
                                                 panel.nr);
                  else
                    R::run(kc, aPanel, bp, c, ldc, mr, panel.nr);
                };
                if constexpr (MR % 3 == 0) {
                  if (height == MR / 3)
                    partial(std::integral_constant<int, MR / 3>{});
                  else
                    partial(std::integral_constant<int, 2 * MR / 3>{});
                }
                continue;
              }
              if (inPlace && overwrite)
                K::template run<true, true>(kc, ap, bp, c, ldc, MR, panel.nr,
                                            lda);
              else if (inPlace)
                K::template run<true>(kc, ap, bp, c, ldc, MR, panel.nr, lda);
              else if (overwrite)
                K::template run<false, true>(kc, aPanel, bp, c, ldc, mr,
                                             panel.nr);
              else
                K::run(kc, aPanel, bp, c, ldc, mr, panel.nr);
            }
          };
          auto widths = [&](const auto *bp) {
            if (panel.w == NR)
              tiles(Kernel{}, bp);
            else if (panel.w == NR / 2)
              tiles(HalfKernel{}, bp);
            else
              tiles(QuarterKernel{}, bp);
          };
          if (panel.packed)
            widths(panel.packed + panel.packedWidth * pc +
                   segments[panel.firstSegment].at * kc);
          else
            widths(bp);
        }
      };
      for (int64_t ic = 0; ic < m; ic += kMC) {
        int64_t mc = std::min(kMC, m - ic);
        int64_t first = 0;
        if (unpackedA) {
          first = mc / MR * MR;
          multiply(ic, 0, first, nullptr, /*inPlace=*/true);
          if (first == mc)
            continue;
          // The last rows: packed below as one partial panel.
        }
        // Pack A[ic : ic+mc, pc : pc+kc] into MR-tall panels, zero-padded.
        // Written in panel order (one MR-long column at a time, from MR row
        // streams the prefetcher follows), not row by row with a stride of
        // MR: with n small, packing A is a good part of the work.
        for (int64_t ir = first; ir < mc; ir += MR) {
          float *panel = packedA + (ir / MR) * MR * kc;
          int64_t mr = std::min<int64_t>(MR, mc - ir);
          // A last partial panel is as tall as the kernel that takes it.
          int64_t height = remainderRows<MR>(mr);
          const float *rows = a + (ic + ir) * lda + pc;
          int64_t p = 0;
          if constexpr (MR % 4 == 0)
            if (mr == MR)
              p = packPanelA4<MR>(rows, lda, kc, panel);
          for (; p < kc; ++p) {
            float *dst = panel + p * height;
            for (int64_t i = 0; i < mr; ++i)
              dst[i] = rows[i * lda + p];
            for (int64_t i = mr; i < height; ++i)
              dst[i] = 0.0f;
          }
        }
        multiply(ic, first, mc, packedA, /*inPlace=*/false);
      }
    }
    stripCopy(/*toStrip=*/false);
  }
}

/// C (R rows) += A (R rows) · B for R <= 8 rows, without packing: B streams
/// once from memory, kP rows at a time, and each VL-wide column strip of the
/// R rows of C stays in registers across those kP rows. With few rows of A,
/// packing B (a copy of all of it) costs as much as the product itself; this
/// reads each weight once, as a decode step's matrix-vector products need.
/// B is f32 or f16 bits (TB), converted as it streams.
template <int VL, typename TB = float> struct Gemv {
  typedef float Vec __attribute__((vector_size(VL * 4)));
  typedef float VecU
      __attribute__((vector_size(VL * 4), aligned(4), may_alias));
  static constexpr int kP = 4;

  static inline Vec load(const float *p) {
    return *reinterpret_cast<const VecU *>(p);
  }
  static inline void store(float *p, Vec v) {
    *reinterpret_cast<VecU *>(p) = v;
  }
  static inline Vec broadcast(float x) { return -Vec{} + x; }
  static inline Vec loadB(const float *p) { return load(p); }
  static inline Vec loadB(const uint16_t *p) { return widenHalves<Vec, VL>(p); }

  /// kp (<= kP) rows of B starting at row p into the R rows of C.
  template <int R>
  static inline void rows(const float *a, int64_t lda, const TB *b,
                          int64_t ldb, float *c, int64_t ldc, int64_t n,
                          int64_t p, int kp) {
    Vec av[R][kP];
    for (int i = 0; i < R; ++i)
      for (int q = 0; q < kP; ++q)
        av[i][q] = broadcast(q < kp ? a[i * lda + p + q] : 0.0f);
    const TB *br[kP];
    for (int q = 0; q < kP; ++q)
      br[q] = b + (p + (q < kp ? q : 0)) * ldb;
    int64_t j = 0;
    for (; j + VL <= n; j += VL) {
      Vec bv[kP];
      for (int q = 0; q < kP; ++q)
        bv[q] = loadB(br[q] + j);
      for (int i = 0; i < R; ++i) {
        Vec acc = load(c + i * ldc + j);
        for (int q = 0; q < kP; ++q)
          acc += av[i][q] * bv[q];
        store(c + i * ldc + j, acc);
      }
    }
    for (; j < n; ++j)
      for (int i = 0; i < R; ++i) {
        float acc = c[i * ldc + j];
        for (int q = 0; q < kp; ++q)
          acc += a[i * lda + p + q] * toF32(br[q][j]);
        c[i * ldc + j] = acc;
      }
  }

  template <int R>
  static void block(const float *a, int64_t lda, const TB *b, int64_t ldb,
                    float *c, int64_t ldc, int64_t n, int64_t k) {
    for (int64_t p = 0; p < k; p += kP)
      rows<R>(a, lda, b, ldb, c, ldc, n, p,
              static_cast<int>(std::min<int64_t>(kP, k - p)));
  }

  static void run(const float *a, int64_t lda, const TB *b, int64_t ldb,
                  float *c, int64_t ldc, int64_t m, int64_t n, int64_t k) {
    for (int64_t i = 0; i < m; i += 8) {
      const float *ai = a + i * lda;
      float *ci = c + i * ldc;
      switch (std::min<int64_t>(8, m - i)) {
      case 1: block<1>(ai, lda, b, ldb, ci, ldc, n, k); break;
      case 2: block<2>(ai, lda, b, ldb, ci, ldc, n, k); break;
      case 3: block<3>(ai, lda, b, ldb, ci, ldc, n, k); break;
      case 4: block<4>(ai, lda, b, ldb, ci, ldc, n, k); break;
      case 5: block<5>(ai, lda, b, ldb, ci, ldc, n, k); break;
      case 6: block<6>(ai, lda, b, ldb, ci, ldc, n, k); break;
      case 7: block<7>(ai, lda, b, ldb, ci, ldc, n, k); break;
      default: block<8>(ai, lda, b, ldb, ci, ldc, n, k); break;
      }
    }
  }
};

} // namespace

/// The f32-B and f16-B instances of an ISA file's kernel template `name`
/// (declared in Gemm.cpp), so one definition serves both.
#define KB_GEMM_INSTANCES(name)                                                \
  template void name<float>(const float *, int64_t, const float *, int64_t,    \
                            float *, int64_t, int64_t, int64_t, int64_t);      \
  template void name<uint16_t>(const float *, int64_t, const uint16_t *,       \
                               int64_t, float *, int64_t, int64_t, int64_t,    \
                               int64_t);

/// The f32-B and f16-B instances of an ISA file's blocked kernel `name`,
/// which takes column blocks sharing A (blockedGemm).
#define KB_GEMM_COLUMN_INSTANCES(name)                                         \
  template void name<float>(const float *, int64_t, const Columns<float> *,    \
                            int64_t, int64_t, int64_t, bool,                   \
                            kb::runtime::PackedWeights *);                     \
  template void name<uint16_t>(const float *, int64_t,                         \
                               const Columns<uint16_t> *, int64_t, int64_t,    \
                               int64_t, bool, kb::runtime::PackedWeights *);

#endif // KB_LIB_RUNTIME_GEMMBLOCKED_H
