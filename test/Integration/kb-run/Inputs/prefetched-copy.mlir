// A hand-lowered program whose kernel @down receives a weight copy that its
// caller issued before @gelu, as gemm-tile-prefetch-copies makes it: the
// buffer and the copy's token are arguments, and @down waits on the token
// before its tile reads the buffer. With -DREAD_EARLY (see the test) the
// tile reads it before the wait, which kb-run must report.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1>} {
  func.func private @gelu(%x: memref<8x16xf32, #gemm_tile.cube<1>>) -> memref<8x16xf32, #gemm_tile.cube<1>> {
    %y = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<1>>
    %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [8, 16]
        : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t
    return %y : memref<8x16xf32, #gemm_tile.cube<1>>
  }
  func.func private @down(%x: memref<8x16xf32, #gemm_tile.cube<1>>, %b: memref<16x16xf32, #gemm_tile.cube<1>>,
                          %tb: !gemm_tile.token) -> memref<8x16xf32, #gemm_tile.cube<1>> {
    %y = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<1>>
    WAIT_BEFORE
    %t = gemm_tile.matmul pe 0 %x [0, 0], %b [0, 0] to %y [0, 0] sizes [8, 16, 16] k_chunk 16
        : memref<8x16xf32, #gemm_tile.cube<1>>, memref<16x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<1>>
    WAIT_AFTER
    return %y : memref<8x16xf32, #gemm_tile.cube<1>>
  }
  func.func @mlp(%x: memref<8x16xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
                 %w: memref<16x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<8x16xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>,
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1>} {
    %b = gemm_tile.alloc : memref<16x16xf32, #gemm_tile.cube<1>>
    %tb = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16]
        : memref<16x16xf32, #gemm_tile.cube<0>>, memref<16x16xf32, #gemm_tile.cube<1>>
    %g = call @gelu(%x) : (memref<8x16xf32, #gemm_tile.cube<1>>) -> memref<8x16xf32, #gemm_tile.cube<1>>
    %y = call @down(%g, %b, %tb) : (memref<8x16xf32, #gemm_tile.cube<1>>, memref<16x16xf32, #gemm_tile.cube<1>>, !gemm_tile.token) -> memref<8x16xf32, #gemm_tile.cube<1>>
    return %y : memref<8x16xf32, #gemm_tile.cube<1>>
  }
}
