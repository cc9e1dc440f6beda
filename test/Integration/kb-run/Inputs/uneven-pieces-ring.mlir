// A row-parallel partial sum split over 2 cubes by rows (two 3x5 pieces, 30
// elements) reduced over 4 ranks by one ring: its chunks (8, 8, 7 and 7
// elements) straddle the boundary between the two cubes' pieces.
#rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.world_size = 4 : i64} {
  func.func @f(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>) -> tensor<6x5xf32, #rows> {
    %y = kb.row_parallel_linear %x, %w : (tensor<6x8xf32>, tensor<8x5xf32>) -> tensor<6x5xf32, #rows>
    return %y : tensor<6x5xf32, #rows>
  }
}
