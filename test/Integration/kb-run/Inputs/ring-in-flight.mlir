// A hand-lowered row-parallel gemm whose all-reduce runs asynchronously and
// whose result is returned before the ring's tokens are waited for: kb-run
// must refuse it before running it.
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @row(%x: memref<4x8xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
                 %w: memref<8x6xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<4x6xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>,
                  kb.arg_split_dims = array<i64: 1, 0>, kb.result_split_dims = array<i64: -1>} {
    %y = gemm_tile.alloc : memref<4x6xf32, #gemm_tile.cube<0>>
    %t0 = gemm_tile.matmul pe 0 %x [0, 0], %w [0, 0] to %y [0, 0] sizes [4, 6, 8] k_chunk 8
        : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8x6xf32, #gemm_tile.cube<0>>, memref<4x6xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t0
    %r0 = gemm_tile.reduce_scatter_step <sum> %y step 0 of 2 : memref<4x6xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
    %r1 = gemm_tile.all_gather_step %y step 0 of 2 : memref<4x6xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
    gemm_tile.wait %r0
    return %y : memref<4x6xf32, #gemm_tile.cube<0>>
  }
}
