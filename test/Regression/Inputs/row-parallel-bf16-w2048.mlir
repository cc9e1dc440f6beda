// One row-parallel layer over 2048 TP ranks in bf16: the all-reduce's ring
// has 2047 steps per half.
module attributes {kb.world_size = 2048 : i64} {
  func.func @row(%x: tensor<4x2048xbf16>, %w: tensor<2048x16xbf16>) -> tensor<4x16xbf16> {
    %y = kb.row_parallel_linear %x, %w : (tensor<4x2048xbf16>, tensor<2048x16xbf16>) -> tensor<4x16xbf16>
    return %y : tensor<4x16xbf16>
  }
}
