//===- GemmTileRowOps.td - row ops of a decoder layer ------*- tablegen -*-===//
//
// PE ops that work on whole rows (or whole heads) of a region: the norms,
// which reduce over a row before they write it, and rotary position
// embedding, which rotates each head by its token's position. A PE computes
// a slab of rows; a row's whole last dimension is in its slab, so a norm
// needs no cross-PE reduction. Included from GemmTileOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEROWOPS_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEROWOPS_TD

// A norm of the rows of a `sizes` region of `input` into `out`; the region
// spans whole rows of both buffers and `weight` holds one element per column.
class GemmTile_RowNormOp<string mnemonic>
    : GemmTile_Op<mnemonic, [DeclareOpInterfaceMethods<
          GemmTile_PEComputeOpInterface>]> {
  let hasVerifier = 1;
}

def GemmTile_RMSNormOp : GemmTile_RowNormOp<"rms_norm"> {
  let summary = "RMSNorm of whole rows of a region on one PE";
  let description = [{
    PE `pe` of the cube holding the buffers writes, for each row `r` of the
    2-D `sizes` region (`sizes = [rows, cols]`),
    `out[o0 + r, :] = input[x0 + r, :] / sqrt(mean(input[x0 + r, :]²) + eps) · weight`
    (`kb.rms_norm`), accumulating in f32 and rounding once to out's element
    type. The region spans whole rows of `input` and `out` (column offset 0,
    `cols` their row length) and `weight` has `cols` elements: the PE reduces
    over a row it holds entirely.

    ```mlir
    %t = gemm_tile.rms_norm pe 1 %x [4, 0], %w to %n [4, 0] sizes [4, 64]
        eps 9.99999974E-6
        : memref<8x64xf16, #gemm_tile.cube<0>>, memref<64xf16, #gemm_tile.cube<0>>,
          memref<8x64xf16, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$input, DenseI64ArrayAttr:$input_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$weight,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out, DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes, F32Attr:$eps);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $input $input_offsets `,` $weight `to` $out $out_offsets
    `sizes` $sizes `eps` $eps attr-dict
    `:` type($input) `,` type($weight) `,` type($out)
  }];
}

def GemmTile_LayerNormOp : GemmTile_RowNormOp<"layer_norm"> {
  let summary = "LayerNorm of whole rows of a region on one PE";
  let description = [{
    As `gemm_tile.rms_norm`, with `kb.layer_norm`'s arithmetic: each row of
    the region becomes `(row − mean) / sqrt(var + eps) · weight + bias`, the
    biased variance computed in a second pass over the row. `weight` and
    `bias` have one element per column of the region, which spans whole
    rows of `input` and `out`.

    ```mlir
    %t = gemm_tile.layer_norm pe 0 %x [0, 0], %w, %b to %n [0, 0] sizes [3, 48]
        eps 9.99999974E-6
        : memref<3x48xf32, #gemm_tile.cube<1>>, memref<48xf32, #gemm_tile.cube<1>>,
          memref<48xf32, #gemm_tile.cube<1>>, memref<3x48xf32, #gemm_tile.cube<1>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$input, DenseI64ArrayAttr:$input_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$weight,
      Arg<GemmTile_Buffer, "", [MemRead]>:$bias,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out, DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes, F32Attr:$eps);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $input $input_offsets `,` $weight `,` $bias `to` $out $out_offsets
    `sizes` $sizes `eps` $eps attr-dict
    `:` type($input) `,` type($weight) `,` type($bias) `,` type($out)
  }];
}

def GemmTile_RoPEOp : GemmTile_Op<"rope", [
    DeclareOpInterfaceMethods<GemmTile_PEComputeOpInterface>]> {
  let summary = "Rotary position embedding of whole heads of a region on one PE";
  let description = [{
    PE `pe` of the cube holding both buffers rotates the 2-D `sizes` region
    of `input` into `out` as `kb.rope` does: the region's columns are
    `sizes[1] / head_dim` whole heads side by side (the first starting at the
    region's first column), and its row `r` is the token at global position
    `position + r`. `position` is the `kb.rope`'s `position_offset` plus the
    region's first row in the tensor, so a slab of later rows knows its
    tokens. Angles in f64, the rotation in f32, rounded once to out's element
    type.

    ```mlir
    %t = gemm_tile.rope pe 2 %q [8, 0] to %r [8, 0] sizes [4, 256]
        head_dim 128 position 8 theta 1.000000e+04
        : memref<16x256xf16, #gemm_tile.cube<3>>, memref<16x256xf16, #gemm_tile.cube<3>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$input, DenseI64ArrayAttr:$input_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out, DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes, I64Attr:$head_dim, I64Attr:$position,
      F64Attr:$theta);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $input $input_offsets `to` $out $out_offsets `sizes` $sizes
    `head_dim` $head_dim `position` $position `theta` $theta attr-dict
    `:` type($input) `,` type($out)
  }];
  let hasVerifier = 1;
}

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEROWOPS_TD
