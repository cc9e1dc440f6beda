// The seed's block: ColumnParallelLinear -> gelu -> RowParallelLinear, TP = 4,
// f16, with biases on both layers (the seed deferred them) and the seed's
// policy, DPPolicy(cube="replicate", pe="replicate", num_cubes=1, num_pes=1),
// on the weights. Weights are in_features x out_features, as in the seed.
//
//   kb-opt --kb-pipeline examples/mlp_seed.mlir
//   kb-run examples/mlp_seed.mlir --check
#seed = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.world_size = 4 : i64} {
  func.func @mlp(%x: tensor<64x256xf16>,
                 %w1: tensor<256x1024xf16, #seed>, %b1: tensor<1024xf16>,
                 %w2: tensor<1024x256xf16, #seed>, %b2: tensor<256xf16>)
      -> tensor<64x256xf16> {
    %h = kb.column_parallel_linear %x, %w1 bias %b1
        : (tensor<64x256xf16>, tensor<256x1024xf16, #seed>, tensor<1024xf16>)
          -> tensor<64x1024xf16>
    %g = kb.gelu %h : tensor<64x1024xf16>
    %y = kb.row_parallel_linear %g, %w2 bias %b2
        : (tensor<64x1024xf16>, tensor<1024x256xf16, #seed>, tensor<256xf16>)
          -> tensor<64x256xf16>
    return %y : tensor<64x256xf16>
  }
}
