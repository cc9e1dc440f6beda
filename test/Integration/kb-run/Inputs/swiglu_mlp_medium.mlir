// A SwiGLU MLP (64 tokens, hidden 1024, ffn 2816, f16) over 2 SIPs: the
// gate and up projections column-parallel, silu and mul on each rank's
// columns, the down projection row-parallel and its all-reduce.
module attributes {kb.world_size = 2 : i64} {
  func.func @swiglu(%x: tensor<64x1024xf16>, %wg: tensor<1024x2816xf16>,
                    %wu: tensor<1024x2816xf16>, %wd: tensor<2816x1024xf16>)
      -> tensor<64x1024xf16> {
    %g = kb.column_parallel_linear %x, %wg : (tensor<64x1024xf16>, tensor<1024x2816xf16>) -> tensor<64x2816xf16>
    %u = kb.column_parallel_linear %x, %wu : (tensor<64x1024xf16>, tensor<1024x2816xf16>) -> tensor<64x2816xf16>
    %s = kb.silu %g : tensor<64x2816xf16>
    %h = kb.mul %s, %u : tensor<64x2816xf16>, tensor<64x2816xf16>
    %y = kb.row_parallel_linear %h, %wd : (tensor<64x2816xf16>, tensor<2816x1024xf16>) -> tensor<64x1024xf16>
    return %y : tensor<64x1024xf16>
  }
}
