// Two buffers filled by the same copies of %x in one wait (a broadcast): kb-run
// copies once and the second buffer views the first. Then, in one wait, a gemm
// reads the viewing buffer %b while a map doubles the viewed buffer %a in
// place: the gemm must still read %x's values, and %b still hold them.
// Results: 2·x, x, x·w.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 3, pes_per_cube = 1>} {
  func.func @f(%x: memref<2x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %w: memref<4x3xf32, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<2x4xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<2x4xf32, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<2x3xf32, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<2x4xf32>, tensor<4x3xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x3xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1, -1>} {
    %a = gemm_tile.alloc : memref<2x4xf32, #gemm_tile.cube<1>>
    %b = gemm_tile.alloc : memref<2x4xf32, #gemm_tile.cube<2>>
    %t0 = gemm_tile.dma %x [0, 0] to %a [0, 0] sizes [2, 2] : memref<2x4xf32, #gemm_tile.cube<0>>, memref<2x4xf32, #gemm_tile.cube<1>>
    %t1 = gemm_tile.dma %x [0, 2] to %a [0, 2] sizes [2, 2] : memref<2x4xf32, #gemm_tile.cube<0>>, memref<2x4xf32, #gemm_tile.cube<1>>
    %t2 = gemm_tile.dma %x [0, 2] to %b [0, 2] sizes [2, 2] : memref<2x4xf32, #gemm_tile.cube<0>>, memref<2x4xf32, #gemm_tile.cube<2>>
    %t3 = gemm_tile.dma %x [0, 0] to %b [0, 0] sizes [2, 2] : memref<2x4xf32, #gemm_tile.cube<0>>, memref<2x4xf32, #gemm_tile.cube<2>>
    gemm_tile.wait %t0, %t1, %t2, %t3
    %c = gemm_tile.alloc : memref<2x3xf32, #gemm_tile.cube<2>>
    %t4 = gemm_tile.matmul pe 0 %b [0, 0], %w [0, 0] to %c [0, 0] sizes [2, 3, 4] k_chunk 4
        : memref<2x4xf32, #gemm_tile.cube<2>>, memref<4x3xf32, #gemm_tile.cube<2>>, memref<2x3xf32, #gemm_tile.cube<2>>
    %t5 = gemm_tile.map "scale" pe 0 %a [0, 0] to %a [0, 0] sizes [2, 4] times 2.000000e+00
        : memref<2x4xf32, #gemm_tile.cube<1>>, memref<2x4xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t4, %t5
    return %a, %b, %c : memref<2x4xf32, #gemm_tile.cube<1>>, memref<2x4xf32, #gemm_tile.cube<2>>, memref<2x3xf32, #gemm_tile.cube<2>>
  }
}
