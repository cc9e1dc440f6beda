#narrow = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 32, num_pes = 1>
module attributes {kb.world_size = 4 : i64} {
  func.func @policy(%x: tensor<8x16xf16>,
                    %w: tensor<16x64xf16, #narrow>) -> tensor<8x64xf16> {
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x64xf16, #narrow>) -> tensor<8x64xf16>
    return %y : tensor<8x64xf16>
  }
}
