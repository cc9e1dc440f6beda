// A small f32 MLP block for quick runs: TP = 4, M = 8, hidden 16, ffn 64.
module attributes {kb.world_size = 4 : i64} {
  func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x64xf32>, %b1: tensor<64xf32>,
                 %w2: tensor<64x16xf32>, %b2: tensor<16xf32>) -> tensor<8x16xf32> {
    %h = kb.column_parallel_linear %x, %w1 bias %b1
        : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %g = kb.gelu %h : tensor<8x64xf32>
    %y = kb.row_parallel_linear %g, %w2 bias %b2
        : (tensor<8x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}
