// An MLP whose row-parallel all-reduce kb-overlap-collectives cuts into row
// bands (512 tokens, hidden 512, ffn 2048, 4 ranks, f32).
module attributes {kb.world_size = 4 : i64} {
  func.func @mlp(%x: tensor<512x512xf32>, %w1: tensor<512x2048xf32>, %b1: tensor<2048xf32>,
                 %w2: tensor<2048x512xf32>, %b2: tensor<512xf32>) -> tensor<512x512xf32> {
    %a = kb.column_parallel_linear %x, %w1 bias %b1 : (tensor<512x512xf32>, tensor<512x2048xf32>, tensor<2048xf32>) -> tensor<512x2048xf32>
    %g = kb.gelu %a : tensor<512x2048xf32>
    %y = kb.row_parallel_linear %g, %w2 bias %b2 : (tensor<512x2048xf32>, tensor<2048x512xf32>, tensor<512xf32>) -> tensor<512x512xf32>
    return %y : tensor<512x512xf32>
  }
}
