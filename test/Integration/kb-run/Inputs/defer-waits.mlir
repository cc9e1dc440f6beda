// A hand-lowered pair of gemms with outlined kernels: @q ends copying its
// result to the other cube, which only @use reads; @k's gemm does not.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func private @q(%x: memref<64x64xf32, #gemm_tile.cube<0>>, %w: memref<64x64xf32, #gemm_tile.cube<0>>)
      -> memref<64x64xf32, #gemm_tile.cube<1>> {
    %y = gemm_tile.alloc : memref<64x64xf32, #gemm_tile.cube<0>>
    %t0 = gemm_tile.matmul pe 0 %x [0, 0], %w [0, 0] to %y [0, 0] sizes [32, 64, 64] k_chunk 64
        : memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.matmul pe 1 %x [32, 0], %w [0, 0] to %y [32, 0] sizes [32, 64, 64] k_chunk 64
        : memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t0, %t1
    %o = gemm_tile.alloc : memref<64x64xf32, #gemm_tile.cube<1>>
    %c = gemm_tile.dma %y [0, 0] to %o [0, 0] sizes [64, 64]
        : memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %c
    return %o : memref<64x64xf32, #gemm_tile.cube<1>>
  }
  func.func private @k(%x: memref<64x64xf32, #gemm_tile.cube<0>>, %w: memref<64x64xf32, #gemm_tile.cube<0>>)
      -> memref<64x64xf32, #gemm_tile.cube<0>> {
    %y = gemm_tile.alloc : memref<64x64xf32, #gemm_tile.cube<0>>
    %t0 = gemm_tile.matmul pe 0 %x [0, 0], %w [0, 0] to %y [0, 0] sizes [32, 64, 64] k_chunk 64
        : memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.matmul pe 1 %x [32, 0], %w [0, 0] to %y [32, 0] sizes [32, 64, 64] k_chunk 64
        : memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t0, %t1
    return %y : memref<64x64xf32, #gemm_tile.cube<0>>
  }
  func.func private @use(%o: memref<64x64xf32, #gemm_tile.cube<1>>) -> memref<64x64xf32, #gemm_tile.cube<1>> {
    %r = gemm_tile.alloc : memref<64x64xf32, #gemm_tile.cube<1>>
    %t = gemm_tile.map "gelu" pe 0 %o [0, 0] to %r [0, 0] sizes [64, 64]
        : memref<64x64xf32, #gemm_tile.cube<1>>, memref<64x64xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t
    return %r : memref<64x64xf32, #gemm_tile.cube<1>>
  }
  func.func @layer(%x: memref<64x64xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
                   %wq: memref<64x64xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
                   %wk: memref<64x64xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      -> (memref<64x64xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<64x64xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>),
                  kb.arg_split_dims = array<i64: -1, -1, -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %q = call @q(%x, %wq) : (memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>) -> memref<64x64xf32, #gemm_tile.cube<1>>
    %k = call @k(%x, %wk) : (memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>) -> memref<64x64xf32, #gemm_tile.cube<0>>
    %u = call @use(%q) : (memref<64x64xf32, #gemm_tile.cube<1>>) -> memref<64x64xf32, #gemm_tile.cube<1>>
    return %u, %k : memref<64x64xf32, #gemm_tile.cube<1>>, memref<64x64xf32, #gemm_tile.cube<0>>
  }
}
