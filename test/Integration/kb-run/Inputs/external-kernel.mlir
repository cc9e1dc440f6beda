// A lowered program that calls a kernel with no body: kb-run has nothing to
// run in its place and must say so.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  func.func private @gelu_0(%a: memref<4x4xf32, #gemm_tile.cube<0>>)
  func.func @f(%x: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<4x4xf32>) -> tensor<4x4xf32>,
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1>} {
    call @gelu_0(%x) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> ()
    return %x : memref<4x4xf32, #gemm_tile.cube<0>>
  }
}
