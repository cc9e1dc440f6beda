// A local view written per rank: each of 2 ranks multiplies by its rows of the
// weight and the ranks sum their products. The weight's policy names 8 cubes; the
// device has 4.
#eight = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 8, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @row(%x: tensor<8x16xf32> {kb.split_dim = 1 : i64},
                 %w: tensor<16x32xf32, #eight> {kb.split_dim = 0 : i64})
      -> tensor<8x32xf32> {
    %p = kb.matmul %x, %w : (tensor<8x16xf32>, tensor<16x32xf32, #eight>) -> tensor<8x32xf32> loc("model.py":7:9)
    %y = kb.all_reduce <sum> %p : tensor<8x32xf32> loc("model.py":8:9)
    return %y : tensor<8x32xf32>
  }
}
