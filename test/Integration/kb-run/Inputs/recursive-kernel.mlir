// A lowered program whose kernel calls itself: no straight line of device
// operations ends, so kb-run must refuse it instead of expanding forever.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  func.func private @gelu_0(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
    %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
    call @gelu_0(%a) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> ()
    return
  }
  func.func @f(%x: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<4x4xf32>) -> tensor<4x4xf32>,
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1>} {
    call @gelu_0(%x) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> ()
    return %x : memref<4x4xf32, #gemm_tile.cube<0>>
  }
}
