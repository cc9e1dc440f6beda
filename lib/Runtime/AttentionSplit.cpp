//===- AttentionSplit.cpp - attention split over keys: partials, combine --===//
//
// Decode attention has one query row per head but a long KV cache: one PE
// streaming the whole cache leaves the cube's other PEs idle. Split over
// keys, each PE computes its key range's unnormalized softmax statistics
// (running max m, sum l and output o) and a combine merges them with the
// exact rescaling of the online softmax (docs/design/0015). The partial
// follows causalAttentionBlock: the keys transposed once, scores on gemm(),
// the masked exponentials row by row, then p · v on gemm().
//
//===----------------------------------------------------------------------===//

#include "VectorMath.h"
#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/TransformerKernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace kb::runtime;
using namespace kb::runtime::vec;

/// At most this many scores per stacked block (16 MiB), as causalAttention.
static constexpr int64_t kScoreFloats = int64_t(1) << 22;

static constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// Scales the first `visible` scores of `row`, replaces them by
/// e^(s − m) with m their maximum, zeroes the rest up to `cols`; returns
/// {m, Σ e^(s − m)}, or {−inf, 0} when nothing is visible.
static std::pair<float, float> expMaskedRow(float *row, int64_t cols,
                                            int64_t visible, float scale) {
  if (visible <= 0) {
    std::fill_n(row, cols, 0.0f);
    return {kNegInf, 0.0f};
  }
  std::pair<float, float> stats = scaledExpRow(row, visible, scale);
  std::fill(row + visible, row + cols, 0.0f);
  return stats;
}

void kb::runtime::attentionPartialBlock(const float *q, int64_t ldq,
                                        const float *k, int64_t ldk,
                                        const float *v, int64_t ldv,
                                        float *partial, int64_t ldp,
                                        int64_t queries, int64_t keys,
                                        int64_t numHeads, int64_t headDim,
                                        int64_t firstPosition,
                                        int64_t keyBegin) {
  if (queries <= 0 || numHeads <= 0)
    return;
  // Keys of the range query i sees: those up to its position.
  auto visible = [&](int64_t i) {
    return std::clamp<int64_t>(firstPosition + i - keyBegin + 1, 0, keys);
  };
  // Keys past the last query's position are masked for every row.
  int64_t used = visible(queries - 1);
  float scale =
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim)));
  std::vector<float> keysT(static_cast<size_t>(headDim * std::max<int64_t>(used, 1)));
  for (int64_t t = 0; t < used; ++t)
    for (int64_t d = 0; d < headDim; ++d)
      keysT[d * used + t] = k[t * ldk + d];
  // Query rows per step: every head of a row stacked, bounded scratch.
  int64_t chunk = std::clamp<int64_t>(
      kScoreFloats / std::max<int64_t>(used * numHeads, 1), 1, queries);
  std::vector<float> stackedQ(numHeads * chunk * headDim),
      scores(numHeads * chunk * std::max<int64_t>(used, 1)),
      stackedOut(numHeads * chunk * headDim);
  for (int64_t first = 0; first < queries; first += chunk) {
    int64_t rows = std::min(chunk, queries - first);
    int64_t stacked = numHeads * rows;
    int64_t seen = visible(first + rows - 1);
    std::vector<std::pair<float, float>> stats(stacked, {kNegInf, 0.0f});
    if (seen > 0) {
      // Stacked row j·rows + i is query first + i of head j.
      for (int64_t j = 0; j < numHeads; ++j)
        for (int64_t i = 0; i < rows; ++i)
          std::copy_n(q + (first + i) * ldq + j * headDim, headDim,
                      stackedQ.data() + (j * rows + i) * headDim);
      // keysT holds `used` keys per dimension; the first `seen` are read.
      gemm(stackedQ.data(), headDim, keysT.data(), used, scores.data(), seen,
           stacked, seen, headDim, /*accumulate=*/false);
      for (int64_t j = 0; j < numHeads; ++j)
        for (int64_t i = 0; i < rows; ++i)
          stats[j * rows + i] =
              expMaskedRow(scores.data() + (j * rows + i) * seen, seen,
                           visible(first + i), scale);
      gemm(scores.data(), seen, v, ldv, stackedOut.data(), headDim, stacked,
           headDim, seen, /*accumulate=*/false);
    } else {
      std::fill(stackedOut.begin(), stackedOut.end(), 0.0f);
    }
    for (int64_t j = 0; j < numHeads; ++j)
      for (int64_t i = 0; i < rows; ++i) {
        float *row = partial + (j * queries + first + i) * ldp;
        std::copy_n(stackedOut.data() + (j * rows + i) * headDim, headDim,
                    row);
        row[headDim] = stats[j * rows + i].first;
        row[headDim + 1] = stats[j * rows + i].second;
      }
  }
}

void kb::runtime::attentionCombine(DType dtype, const float *partial,
                                   int64_t ldp, int64_t splits,
                                   int64_t queries, int64_t numHeads,
                                   int64_t headDim, float *out, int64_t ldo) {
  int64_t stacked = numHeads * queries;
  std::vector<float> acc(headDim);
  for (int64_t r = 0; r < stacked; ++r) {
    int64_t j = r / queries, i = r % queries;
    float *row = out + i * ldo + j * headDim;
    auto split = [&](int64_t s) { return partial + (s * stacked + r) * ldp; };
    float m = kNegInf;
    for (int64_t s = 0; s < splits; ++s)
      m = std::max(m, split(s)[headDim]);
    std::fill(acc.begin(), acc.end(), 0.0f);
    float total = 0;
    if (m != kNegInf) {
      for (int64_t s = 0; s < splits; ++s) {
        const float *p = split(s);
        if (p[headDim] == kNegInf)
          continue;
        float w = std::exp(p[headDim] - m);
        total += w * p[headDim + 1];
        F4 wv = splat(w);
        int64_t d = 0;
        for (; d + kLanes <= headDim; d += kLanes)
          store(acc.data() + d, load(acc.data() + d) + wv * load(p + d));
        for (; d < headDim; ++d)
          acc[d] += w * p[d];
      }
    }
    float inv = total > 0 ? 1.0f / total : 0.0f;
    F4 iv = splat(inv);
    int64_t d = 0;
    for (; d + kLanes <= headDim; d += kLanes)
      store(row + d, load(acc.data() + d) * iv);
    for (; d < headDim; ++d)
      row[d] = acc[d] * inv;
    roundBufferToDType(row, headDim, dtype);
  }
}
