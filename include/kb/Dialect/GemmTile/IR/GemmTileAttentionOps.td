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

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEATTENTIONOPS_TD
