// Three column -> gelu -> row blocks at W = 8 in f16: with unscaled [-1, 1)
// weights, activations grow by ~sqrt(512) per layer and overflow f16.
module attributes {kb.world_size = 8 : i64} {
  func.func @three_blocks(%x: tensor<64x512xf16>,
                          %w1: tensor<512x512xf16>, %w2: tensor<512x512xf16>,
                          %w3: tensor<512x512xf16>, %w4: tensor<512x512xf16>,
                          %w5: tensor<512x512xf16>, %w6: tensor<512x512xf16>)
      -> tensor<64x512xf16> {
    %a = kb.column_parallel_linear %x, %w1 : (tensor<64x512xf16>, tensor<512x512xf16>) -> tensor<64x512xf16>
    %b = kb.gelu %a : tensor<64x512xf16>
    %c = kb.row_parallel_linear %b, %w2 : (tensor<64x512xf16>, tensor<512x512xf16>) -> tensor<64x512xf16>
    %d = kb.column_parallel_linear %c, %w3 : (tensor<64x512xf16>, tensor<512x512xf16>) -> tensor<64x512xf16>
    %e = kb.gelu %d : tensor<64x512xf16>
    %f = kb.row_parallel_linear %e, %w4 : (tensor<64x512xf16>, tensor<512x512xf16>) -> tensor<64x512xf16>
    %g = kb.column_parallel_linear %f, %w5 : (tensor<64x512xf16>, tensor<512x512xf16>) -> tensor<64x512xf16>
    %h = kb.gelu %g : tensor<64x512xf16>
    %i = kb.row_parallel_linear %h, %w6 : (tensor<64x512xf16>, tensor<512x512xf16>) -> tensor<64x512xf16>
    return %i : tensor<64x512xf16>
  }
}
