//===- GemmTileAttentionOps.td - attention on one PE -------*- tablegen -*-===//
//
// The device op of kb.attention: one fused block of causal attention on one
// PE (docs/design/0010-attention-on-pes.md). Included by GemmTileOps.td, so
// it is one of the dialect's ops; its C++ is GemmTileAttentionOps.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEATTENTIONOPS_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEATTENTIONOPS_TD

def GemmTile_AttentionOp : GemmTile_Op<"attention", [
    DeclareOpInterfaceMethods<GemmTile_PEComputeOpInterface,
                              ["canWorkInPlace"]>]> {
  let summary = "Causal attention of a block of query rows on one PE";
  let description = [{
    PE `pe` of the cube that holds all four buffers computes, for
    `sizes = [rows, keys, head_dim]` and `heads` query heads that share one
    KV head, for each head `j < heads` and query row `i < rows`:

    ```
    out[o0 + i, o1 + j·d : +d] =
        softmax_t(q[q0 + i, q1 + j·d : +d] · k[k0 + t, k1 : +d] / sqrt(d))
        · v[v0 + t, v1 : +d]
    ```

    with `d = head_dim` and the softmax over the keys `t ≤ position + i`
    (query row `i` sits at position `position + i`; the mask is causal), the
    row maximum subtracted. It reads q's `rows × heads·d` region, k's and v's
    `keys × d` regions and writes out's `rows × heads·d` region; the last
    row's position must be below `keys`. The PE keeps the queries, an f32
    accumulator and each row's running maximum and sum in its buffer and
    streams k and v through it in chunks of `key_chunk` keys, two of each
    in flight (an online softmax: flash attention); the scores and both
    products are f32, and out is rounded once to the element type. All four
    buffers have one element type.

    ```mlir
    // Query rows 2 and 3 of a prefill of 8 tokens, 4 query heads of one KV
    // head, head_dim 64.
    %t = gemm_tile.attention pe 1 %q [2, 0], %k [0, 0], %v [0, 0] to %o [2, 0]
        sizes [2, 4, 64] heads 4 position 2 key_chunk 4
        : memref<8x256xf16, #gemm_tile.cube<0>>, memref<8x64xf16, #gemm_tile.cube<0>>,
          memref<8x64xf16, #gemm_tile.cube<0>>, memref<8x256xf16, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$q, DenseI64ArrayAttr:$q_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$k, DenseI64ArrayAttr:$k_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$v, DenseI64ArrayAttr:$v_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out,
      DenseI64ArrayAttr:$out_offsets, DenseI64ArrayAttr:$sizes,
      I64Attr:$heads, I64Attr:$position, I64Attr:$key_chunk);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $q $q_offsets `,` $k $k_offsets `,` $v $v_offsets `to` $out
    $out_offsets `sizes` $sizes `heads` $heads `position` $position
    `key_chunk` $key_chunk attr-dict
    `:` type($q) `,` type($k) `,` type($v) `,` type($out)
  }];
  let hasVerifier = 1;
}

def GemmTile_AttentionPartialOp : GemmTile_Op<"attention_partial", [
    DeclareOpInterfaceMethods<GemmTile_PEComputeOpInterface,
                              ["canWorkInPlace"]>]> {
  let summary = "One key range's unnormalized softmax of attention, on one PE";
  let description = [{
    Attention split over keys across PEs (flash decoding,
    docs/design/0015-attention-split-over-keys.md): PE `pe` computes, for
    `sizes = [rows, keys, head_dim]`, `heads` query heads of one KV head and
    the `keys` keys from global key `key_begin` (k's and v's regions start at
    that key), for stacked row `r = j·rows + i` (head j, query row i at
    position `position + i`, which sees the keys `key_begin + t ≤ position +
    i`), with `s_t = q · k_t / sqrt(d)`:

    ```
    m = max_t s_t,   l = Σ_t e^(s_t − m),   o = Σ_t e^(s_t − m) · v_t
    partial[p0 + r, p1 : +d + 2] = [o, m, l]            (f32, unrounded)
    ```

    A row that sees none of the range gets m = −inf, l = 0, o = 0.
    `gemm_tile.attention_combine` merges the ranges. The range ends at or
    before the last query row's key (`key_begin + keys ≤ position + rows`).
    The PE's working set is gemm_tile.attention's for its rows and chunk.

    ```mlir
    // Keys [512, 1000) of a decode step at position 999, 4 query heads.
    %t = gemm_tile.attention_partial pe 1 %q [0, 0], %k [512, 0], %v [512, 0]
        to %p [4, 0] sizes [1, 488, 128] heads 4 position 999 key_begin 512
        key_chunk 64
        : memref<1x512xf16, #gemm_tile.cube<0>>, memref<1000x128xf16, #gemm_tile.cube<0>>,
          memref<1000x128xf16, #gemm_tile.cube<0>>, memref<8x130xf32, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$q, DenseI64ArrayAttr:$q_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$k, DenseI64ArrayAttr:$k_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$v, DenseI64ArrayAttr:$v_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$partial,
      DenseI64ArrayAttr:$partial_offsets, DenseI64ArrayAttr:$sizes,
      I64Attr:$heads, I64Attr:$position, I64Attr:$key_begin,
      I64Attr:$key_chunk);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $q $q_offsets `,` $k $k_offsets `,` $v $v_offsets `to` $partial
    $partial_offsets `sizes` $sizes `heads` $heads `position` $position
    `key_begin` $key_begin `key_chunk` $key_chunk attr-dict
    `:` type($q) `,` type($k) `,` type($v) `,` type($partial)
  }];
  let hasVerifier = 1;
}

def GemmTile_AttentionCombineOp : GemmTile_Op<"attention_combine", [
    DeclareOpInterfaceMethods<GemmTile_PEComputeOpInterface,
                              ["canWorkInPlace"]>]> {
  let summary = "Merges the key ranges' partial softmaxes of attention";
  let description = [{
    PE `pe` merges `splits` partials of `gemm_tile.attention_partial`, for
    `sizes = [splits, rows, head_dim]` and `heads` query heads: split s is
    the `heads·rows` partial rows from `p0 + s·heads·rows`, each
    `[o, m, l]` (`head_dim + 2` f32). For stacked row `r = j·rows + i`, with
    `m = max_s m_s` and `w_s = e^(m_s − m)`:

    ```
    out[o0 + i, o1 + j·d : +d] = Σ_s w_s · o_s / Σ_s w_s · l_s
    ```

    rounded once to out's element type. The PE holds the f32 accumulator,
    m and l of every stacked row and streams the splits, two in flight.

    ```mlir
    %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0]
        sizes [2, 1, 128] heads 4
        : memref<8x130xf32, #gemm_tile.cube<0>>, memref<1x512xf16, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$partial,
      DenseI64ArrayAttr:$partial_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out,
      DenseI64ArrayAttr:$out_offsets, DenseI64ArrayAttr:$sizes,
      I64Attr:$heads);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $partial $partial_offsets `to` $out $out_offsets `sizes` $sizes
    `heads` $heads attr-dict `:` type($partial) `,` type($out)
  }];
  let hasVerifier = 1;
}

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEATTENTIONOPS_TD
