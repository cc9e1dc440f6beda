// 256 MiB of f32 input, replicated: 64 ranks hold it in each of their 4 cubes.
module attributes {kb.world_size = 64 : i64} {
  func.func @wide(%x: tensor<8192x8192xf32>, %w: tensor<8192x64xf32>) -> tensor<8192x64xf32> {
    %y = kb.column_parallel_linear %x, %w : (tensor<8192x8192xf32>, tensor<8192x64xf32>) -> tensor<8192x64xf32>
    return %y : tensor<8192x64xf32>
  }
}
