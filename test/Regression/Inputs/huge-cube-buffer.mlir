// A lowered program whose one cube buffer has 2^64 bytes.
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%arg0: memref<4611686018427387904x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>}) attributes {kb.arg_split_dims = array<i64: -1>, kb.local_function_type = (tensor<8x4xf32>) -> (), kb.result_split_dims = array<i64>} {
    return
  }
}
