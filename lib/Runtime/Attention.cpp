//===- Attention.cpp - causal grouped-query attention ---------------------===//
//
// Per query head: scores = q_h · k_gᵀ on gemm(), the scaled, masked,
// max-subtracted softmax row by row, then probabilities · v_g on gemm()
// straight into the head's columns of the output. The KV head's keys are
// transposed once per KV head and reused by the query heads of its group.
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

void kb::runtime::scaledMaskedSoftmaxRow(float *row, int64_t cols,
                                         int64_t visible, float scale) {
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
  F4 inv = splat(1.0f / (sum(total) + tailTotal));
  for (c = 0; c + kLanes <= visible; c += kLanes)
    store(row + c, load(row + c) * inv);
  for (; c < visible; ++c)
    row[c] *= inv[0];
  for (; c < cols; ++c)
    row[c] = 0.0f;
}

void kb::runtime::causalAttention(DType dtype, const float *q, const float *k,
                                  const float *v, float *out, int64_t queries,
                                  int64_t keys, int64_t numHeads,
                                  int64_t numKVHeads, int64_t headDim) {
  if (queries == 0)
    return;
  int64_t qCols = numHeads * headDim, kvCols = numKVHeads * headDim;
  int64_t group = numHeads / numKVHeads;
  float scale =
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim)));
  std::vector<float> keysT(headDim * keys), scores(queries * keys);
  for (int64_t h = 0; h < numHeads; ++h) {
    int64_t g = h / group;
    if (h % group == 0)
      for (int64_t t = 0; t < keys; ++t)
        for (int64_t d = 0; d < headDim; ++d)
          keysT[d * keys + t] = k[t * kvCols + g * headDim + d];
    gemm(q + h * headDim, qCols, keysT.data(), keys, scores.data(), keys,
         queries, keys, headDim, /*accumulate=*/false);
    for (int64_t i = 0; i < queries; ++i)
      scaledMaskedSoftmaxRow(scores.data() + i * keys, keys,
                             keys - queries + i + 1, scale);
    gemm(scores.data(), keys, v + g * headDim, kvCols, out + h * headDim, qCols,
         queries, headDim, keys, /*accumulate=*/false);
  }
  roundBufferToDType(out, queries * qCols, dtype);
}
