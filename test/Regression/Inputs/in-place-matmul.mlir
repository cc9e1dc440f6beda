// A tile gemm whose output region overlaps its lhs in the same buffer.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  func.func @f(%x: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %w: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>,
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1>} {
    %t = gemm_tile.matmul pe 0 %x [0, 0], %w [0, 0] to %x [0, 0] sizes [4, 4, 4] k_chunk 4
        : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
    return %x : memref<4x4xf32, #gemm_tile.cube<0>>
  }
}
