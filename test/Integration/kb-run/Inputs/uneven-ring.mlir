// A row-parallel gemm over 3 ranks whose 7x5 partial sums (35 elements) do not
// split evenly into 3 ring chunks.
module attributes {kb.world_size = 3 : i64} {
  func.func @f(%x: tensor<7x6xf32>, %w: tensor<6x5xf32>) -> tensor<7x5xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<7x6xf32>, tensor<6x5xf32>) -> tensor<7x5xf32>
    return %y : tensor<7x5xf32>
  }
}
