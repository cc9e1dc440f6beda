//===- TransformerKernels.h - norms, rope and attention ---------*- C++ -*-===//
//
// The host kernels of a transformer decoder layer beyond gemm and the
// elementwise ops: RMSNorm, LayerNorm, rotary position embedding and the
// causal attention core, with the math of docs/Transformer.md.
//
// As everywhere in kb's runtime, tensors are row-major f32 buffers holding
// values representable in their dtype (HostTensor.h). Every kernel computes
// in f32 and rounds its output once to `dtype`, so one kernel serves f16,
// bf16 and f32 storage.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_TRANSFORMERKERNELS_H
#define KB_RUNTIME_TRANSFORMERKERNELS_H

#include "kb/Runtime/DType.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <utility>

namespace kb::runtime {

/// out[r][c] = in[r][c] / sqrt(mean_c(in[r][c]²) + eps) · weight[c] for a
/// rows × cols matrix. `out` may be `in`.
void rmsNorm(DType dtype, const float *in, const float *weight, float *out,
             int64_t rows, int64_t cols, float eps);

/// out[r][c] = (in[r][c] − mean_r) / sqrt(var_r + eps) · weight[c] + bias[c]
/// with the biased variance of row r, computed in two passes. `out` may be
/// `in`.
void layerNorm(DType dtype, const float *in, const float *weight,
               const float *bias, float *out, int64_t rows, int64_t cols,
               float eps);

/// Hugging Face's rotate_half RoPE on rows × (numHeads · headDim), row r at
/// position positionOffset + r: for each head v and i < headDim/2, with
/// angle = position · theta^(−2i/headDim) (in f64),
///   out[i]           = v[i]·cos − v[i + headDim/2]·sin
///   out[i + headDim/2] = v[i + headDim/2]·cos + v[i]·sin.
/// headDim must be even. `out` may be `in`.
void rope(DType dtype, const float *in, float *out, int64_t rows,
          int64_t numHeads, int64_t headDim, int64_t positionOffset,
          double theta);

/// Causal grouped-query attention: q is queries × (numHeads · headDim), k and
/// v are keys × (numKVHeads · headDim), out is queries × (numHeads · headDim).
/// Query head h uses KV head h / (numHeads / numKVHeads); query i sits at
/// position keys − queries + i and sees keys 0..keys − queries + i.
///   out_h = softmax(q_h · k_gᵀ / sqrt(headDim) + mask) · v_g
/// with the row maximum subtracted. Both products run on gemm(); the scores
/// and probabilities stay f32. Requires keys >= queries, numKVHeads dividing
/// numHeads, and `out` distinct from the inputs.
void causalAttention(DType dtype, const float *q, const float *k,
                     const float *v, float *out, int64_t queries, int64_t keys,
                     int64_t numHeads, int64_t numKVHeads, int64_t headDim);

/// causalAttention on strided views, for a block of query rows that need
/// not be the last ones: q and out have leading dimensions ldq and ldo (at
/// least numHeads · headDim), k and v ldk and ldv (at least
/// numKVHeads · headDim); query i sits at position firstPosition + i and
/// sees keys 0..firstPosition + i, so firstPosition + queries <= keys (keys
/// beyond the last query's position are not read). Each output row's
/// numHeads · headDim values are rounded to `dtype`; the rest of a row of
/// `out` is not touched. What the device's gemm_tile.attention computes on
/// one PE, for one KV head's query heads and a block of rows.
void causalAttentionBlock(DType dtype, const float *q, int64_t ldq,
                          const float *k, int64_t ldk, const float *v,
                          int64_t ldv, float *out, int64_t ldo, int64_t queries,
                          int64_t keys, int64_t numHeads, int64_t numKVHeads,
                          int64_t headDim, int64_t firstPosition);

/// Rows [row, row + rows) of a matrix, at `data` with leading dimension
/// `ld`: a matrix held in row bands where they were made (the keys a relay
/// gathered from every cube, read where each cube computed its band).
struct RowPiece {
  int64_t row = 0, rows = 0;
  const float *data = nullptr;
  int64_t ld = 0;
};

/// causalAttentionBlock with k and v in row pieces that tile their first
/// `keys` rows (in any order). With one piece each, the same sums as the
/// contiguous form; with several, the product by v accumulates piece by
/// piece.
void causalAttentionBlock(DType dtype, const float *q, int64_t ldq,
                          llvm::ArrayRef<RowPiece> k,
                          llvm::ArrayRef<RowPiece> v, float *out, int64_t ldo,
                          int64_t queries, int64_t keys, int64_t numHeads,
                          int64_t numKVHeads, int64_t headDim,
                          int64_t firstPosition);

/// One key range's share of causalAttentionBlock, for attention split over
/// keys across PEs (flash decoding): q holds `queries` rows of `numHeads`
/// query heads of one KV head (leading dimension ldq), k and v hold `keys`
/// keys of that KV head from global key `keyBegin` (ldk, ldv). Query i sits
/// at position firstPosition + i and sees the keys keyBegin + t <=
/// firstPosition + i. For stacked row r = j · queries + i (head j, query i)
/// it writes partial row r (leading dimension ldp, headDim + 2 floats):
///   m = max over the visible t of s_t, s_t = q·k_t / sqrt(headDim),
///   l = Σ e^(s_t − m),  o = Σ e^(s_t − m) · v_t   (unnormalized)
/// as [o_0 .. o_{headDim−1}, m, l], all f32 and not rounded. A row that sees
/// none of the range gets m = −inf, l = 0, o = 0.
void attentionPartialBlock(const float *q, int64_t ldq, const float *k,
                           int64_t ldk, const float *v, int64_t ldv,
                           float *partial, int64_t ldp, int64_t queries,
                           int64_t keys, int64_t numHeads, int64_t headDim,
                           int64_t firstPosition, int64_t keyBegin);

/// Merges `splits` partials of attentionPartialBlock exactly: split s holds
/// numHeads · queries partial rows from row s · numHeads · queries of
/// `partial` (leading dimension ldp). For each stacked row r = j · queries
/// + i, with m = max_s m_s and w_s = e^(m_s − m) (0 for m_s = −inf):
///   out[i, j·headDim : +headDim] = Σ_s w_s · o_s / Σ_s w_s · l_s
/// rounded to `dtype` (leading dimension ldo). A row no split sees is 0.
void attentionCombine(DType dtype, const float *partial, int64_t ldp,
                      int64_t splits, int64_t queries, int64_t numHeads,
                      int64_t headDim, float *out, int64_t ldo);

/// The unnormalized half of that softmax: row[c] = e^(scale·row[c] − m) for
/// c < visible, m the maximum of the scaled scores; returns {m, Σ}. Entries
/// from `visible` on are left as they are. visible >= 1.
std::pair<float, float> scaledExpRow(float *row, int64_t visible, float scale);

/// The softmax of one row of scores as causalAttention applies it:
/// row[c] = e^(scale·row[c] − m) / Σ for c < visible (m the maximum of the
/// scaled visible scores), and 0 for visible <= c < cols. visible >= 1.
void scaledMaskedSoftmaxRow(float *row, int64_t cols, int64_t visible,
                            float scale);

} // namespace kb::runtime

#endif // KB_RUNTIME_TRANSFORMERKERNELS_H
