// 512 MiB of f32 input, replicated: each of 64 ranks computes its GELU (in its
// cubes' memory) before the column-parallel gemm reads it.
module attributes {kb.world_size = 64 : i64} {
  func.func @wide(%x: tensor<16384x8192xf32>, %w: tensor<8192x64xf32>) -> tensor<16384x64xf32> {
    %g = kb.gelu %x : tensor<16384x8192xf32>
    %y = kb.column_parallel_linear %g, %w : (tensor<16384x8192xf32>, tensor<8192x64xf32>) -> tensor<16384x64xf32>
    return %y : tensor<16384x64xf32>
  }
}
