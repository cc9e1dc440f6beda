// A row-parallel projection read by a residual add whose sum the next
// RMSNorm and column-parallel gemm read whole on every cube: the layer's
// shape after attention, at 256 tokens and hidden 2048 on ahbm's 16 cubes.
module attributes {kb.world_size = 4 : i64} {
  func.func @residual(%x: tensor<256x2048xf16>, %a: tensor<256x2048xf16>,
                      %wo: tensor<2048x2048xf16>, %g: tensor<2048xf16>,
                      %w: tensor<2048x2048xf16>) -> tensor<256x2048xf16> {
    %o = kb.row_parallel_linear %a, %wo : (tensor<256x2048xf16>, tensor<2048x2048xf16>) -> tensor<256x2048xf16>
    %h = kb.add %x, %o : tensor<256x2048xf16>, tensor<256x2048xf16>
    %m = kb.rms_norm %h, %g : tensor<256x2048xf16>, tensor<2048xf16>
    %y = kb.column_parallel_linear %m, %w : (tensor<256x2048xf16>, tensor<2048x2048xf16>) -> tensor<256x2048xf16>
    return %y : tensor<256x2048xf16>
  }
}
