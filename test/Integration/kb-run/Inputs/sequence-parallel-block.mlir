// A sequence-parallel block on ahbm's 16 cubes: the tokens all-gathered into
// a column-parallel gemm, SiLU, then a row-parallel gemm reduce-scattered
// back along the tokens and the residual add. The row-parallel gemm's lhs is
// split by columns over the cubes, and every cube reads it whole.
module attributes {kb.sequence_parallel, kb.world_size = 4 : i64} {
  func.func @block(%x: tensor<256x2048xf16>, %w1: tensor<2048x2048xf16>,
                   %w2: tensor<2048x2048xf16>) -> tensor<256x2048xf16> {
    %a = kb.column_parallel_linear %x, %w1 : (tensor<256x2048xf16>, tensor<2048x2048xf16>) -> tensor<256x2048xf16>
    %g = kb.silu %a : tensor<256x2048xf16>
    %o = kb.row_parallel_linear %g, %w2 : (tensor<256x2048xf16>, tensor<2048x2048xf16>) -> tensor<256x2048xf16>
    %h = kb.add %x, %o : tensor<256x2048xf16>, tensor<256x2048xf16>
    return %h : tensor<256x2048xf16>
  }
}
