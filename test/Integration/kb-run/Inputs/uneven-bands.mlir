// A row-parallel gemm and its all-reduce, written per rank with uneven row
// bands: a short first band, a long one, a short last one (3 + 50 + 7 = 60
// rows, which 3 equal bands would also cut, but not these). The lhs is
// split by columns over the cubes, so every band's rows are staged.
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 4>
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @row(%x: tensor<60x64xf32, #cols> {kb.split_dim = 1 : i64},
                 %w: tensor<64x32xf32, #w> {kb.split_dim = 0 : i64})
      -> tensor<60x32xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 3 bands [3, 50, 7] : (tensor<60x64xf32, #cols>, tensor<64x32xf32, #w>) -> tensor<60x32xf32, #out> loc("model.py":9:9)
    return %y : tensor<60x32xf32, #out>
  }
}
