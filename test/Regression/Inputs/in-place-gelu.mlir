// Elementwise device ops that write the region they read: a gelu of the
// argument in place, then a gelu of a fresh buffer in place.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  func.func @f(%x: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<4x4xf32>) -> tensor<4x4xf32>,
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1>} {
    %t0 = gemm_tile.map "gelu" pe 0 %x [0, 0] to %x [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t0
    %o = gemm_tile.alloc : memref<4x4xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t1
    %t2 = gemm_tile.map "gelu" pe 0 %o [0, 0] to %o [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    return %o : memref<4x4xf32, #gemm_tile.cube<0>>
  }
}
