//===- Attention.cpp - causal grouped-query attention ---------------------===//
//
// Per KV head g, per block of query rows, the rows of every query head of
// g's group stacked: scores = q · k_gᵀ on gemm(), the scaled, masked,
// max-subtracted softmax row by row, then probabilities · v_g on gemm(),
// copied back into each head's columns of the output. k_g is transposed
// once per KV head.
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

/// Rows of scores per block: the query heads of one KV head share its keys,
/// so a block stacks the group's queries (decode with 4 query heads per KV
/// head multiplies 4 rows at once, and packs the keys once, not 4 times).
/// Each block's keys stop at its last query's position, which halves a
/// prefill's work.
static constexpr int64_t kStackedRows = 256;
/// At most this many scores per block (16 MiB), fewer rows for long
/// contexts: the scratch stays bounded whatever the head and key counts
/// (one row of `keys` scores at the least, no more than k itself holds).
static constexpr int64_t kScoreFloats = int64_t(1) << 22;

std::pair<float, float> kb::runtime::scaledExpRow(float *row, int64_t visible,
                                                  float scale) {
  F4 s = splat(scale);
  // Scale the visible scores and find their maximum.
  F4 m = splat(-std::numeric_limits<float>::infinity());
  int64_t c = 0;
  for (; c + kLanes <= visible; c += kLanes) {
    F4 x = load(row + c) * s;
    store(row + c, x);
    m = max(m, x);
  }
  float rowMax = max(m);
  for (; c < visible; ++c) {
    row[c] *= scale;
    rowMax = std::max(rowMax, row[c]);
  }
  // Exponentiate and sum; the padding lanes of the tail hold the maximum's
  // e^0 = 1, which is not added.
  F4 total = {};
  float tailTotal = 0;
  F4 mx = splat(rowMax);
  for (c = 0; c + kLanes <= visible; c += kLanes) {
    F4 e = vec::exp(load(row + c) - mx);
    store(row + c, e);
    total += e;
  }
  if (c < visible) {
    int64_t n = visible - c;
    F4 e = vec::exp(loadPartial(row + c, n, rowMax) - mx);
    storePartial(row + c, e, n);
    for (int64_t i = 0; i < n; ++i)
      tailTotal += e[i];
  }
  return {rowMax, sum(total) + tailTotal};
}

void kb::runtime::scaledMaskedSoftmaxRow(float *row, int64_t cols,
                                         int64_t visible, float scale) {
  F4 inv = splat(1.0f / scaledExpRow(row, visible, scale).second);
  int64_t c = 0;
  for (; c + kLanes <= visible; c += kLanes)
    store(row + c, load(row + c) * inv);
  for (; c < visible; ++c)
    row[c] *= inv[0];
  for (; c < cols; ++c)
    row[c] = 0.0f;
}

/// keysT[d][t] = k_g[t][d] (leading dimension ldt) for the keys × headDim
/// block of KV head g, in 32 × 32 tiles so that neither side strides
/// through memory a float at a time.
static void transposeKeys(const float *k, int64_t kvCols, int64_t g,
                          int64_t keys, int64_t headDim, float *keysT,
                          int64_t ldt) {
  constexpr int64_t kTile = 32;
  for (int64_t t0 = 0; t0 < keys; t0 += kTile)
    for (int64_t d0 = 0; d0 < headDim; d0 += kTile)
      for (int64_t t = t0; t < std::min(keys, t0 + kTile); ++t)
        for (int64_t d = d0; d < std::min(headDim, d0 + kTile); ++d)
          keysT[d * ldt + t] = k[t * kvCols + g * headDim + d];
}

void kb::runtime::causalAttention(DType dtype, const float *q, const float *k,
                                  const float *v, float *out, int64_t queries,
                                  int64_t keys, int64_t numHeads,
                                  int64_t numKVHeads, int64_t headDim) {
  int64_t qCols = numHeads * headDim, kvCols = numKVHeads * headDim;
  causalAttentionBlock(dtype, q, qCols, k, kvCols, v, kvCols, out, qCols,
                       queries, keys, numHeads, numKVHeads, headDim,
                       keys - queries);
}

void kb::runtime::causalAttentionBlock(DType dtype, const float *q, int64_t ldq,
                                       const float *k, int64_t ldk,
                                       const float *v, int64_t ldv, float *out,
                                       int64_t ldo, int64_t queries,
                                       int64_t keys, int64_t numHeads,
                                       int64_t numKVHeads, int64_t headDim,
                                       int64_t firstPosition) {
  RowPiece kPiece{0, keys, k, ldk}, vPiece{0, keys, v, ldv};
  causalAttentionBlock(dtype, q, ldq, kPiece, vPiece, out, ldo, queries, keys,
                       numHeads, numKVHeads, headDim, firstPosition);
}

void kb::runtime::causalAttentionBlock(DType dtype, const float *q, int64_t ldq,
                                       llvm::ArrayRef<RowPiece> k,
                                       llvm::ArrayRef<RowPiece> v, float *out,
                                       int64_t ldo, int64_t queries,
                                       int64_t keys, int64_t numHeads,
                                       int64_t numKVHeads, int64_t headDim,
                                       int64_t firstPosition) {
  if (queries == 0 || numHeads == 0)
    return;
  // Keys past the last query's position are masked for every row.
  keys = std::min(keys, firstPosition + queries);
  int64_t group = numHeads / numKVHeads;
  // A block is up to `heads` query heads of one group times up to `chunk`
  // query rows, stacked: at most `stackedRows` rows of `keys` scores.
  int64_t stackedRows =
      std::max<int64_t>(1, std::min(kStackedRows, kScoreFloats / keys));
  int64_t heads = std::min(group, stackedRows);
  int64_t chunk = std::min(queries, std::max<int64_t>(1, stackedRows / heads));
  float scale =
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim)));
  std::vector<float> keysT(headDim * keys), scores(heads * chunk * keys),
      stackedQ(heads * chunk * headDim), stackedOut(heads * chunk * headDim);
  for (int64_t g = 0; g < numKVHeads; ++g) {
    for (const RowPiece &piece : k)
      if (piece.row < keys)
        transposeKeys(piece.data, piece.ld, g,
                      std::min(piece.rows, keys - piece.row), headDim,
                      keysT.data() + piece.row, keys);
    for (int64_t h0 = g * group; h0 < (g + 1) * group; h0 += heads) {
      int64_t blockHeads = std::min(heads, (g + 1) * group - h0);
      for (int64_t first = 0; first < queries; first += chunk) {
        int64_t rows = std::min(chunk, queries - first);
        int64_t stacked = blockHeads * rows;
        // The block's last query sees the most keys; later keys are masked
        // for every row of the block, so neither product computes them.
        int64_t seen = firstPosition + first + rows;
        // Stacked row j·rows + i is query first + i of head h0 + j.
        for (int64_t j = 0; j < blockHeads; ++j)
          for (int64_t i = 0; i < rows; ++i)
            std::copy_n(q + (first + i) * ldq + (h0 + j) * headDim, headDim,
                        stackedQ.data() + (j * rows + i) * headDim);
        gemm(stackedQ.data(), headDim, keysT.data(), keys, scores.data(), seen,
             stacked, seen, headDim, /*accumulate=*/false);
        for (int64_t j = 0; j < blockHeads; ++j)
          for (int64_t i = 0; i < rows; ++i)
            scaledMaskedSoftmaxRow(scores.data() + (j * rows + i) * seen, seen,
                                   firstPosition + first + i + 1, scale);
        // Probabilities · v, the keys of each piece of v in turn.
        bool accumulate = false;
        for (const RowPiece &piece : v) {
          int64_t count = std::min(piece.rows, seen - piece.row);
          if (count <= 0)
            continue;
          gemm(scores.data() + piece.row, seen, piece.data + g * headDim,
               piece.ld, stackedOut.data(), headDim, stacked, headDim, count,
               accumulate);
          accumulate = true;
        }
        for (int64_t j = 0; j < blockHeads; ++j)
          for (int64_t i = 0; i < rows; ++i) {
            float *row = out + (first + i) * ldo + (h0 + j) * headDim;
            std::copy_n(stackedOut.data() + (j * rows + i) * headDim, headDim,
                        row);
            roundBufferToDType(row, headDim, dtype);
          }
      }
    }
  }
}
