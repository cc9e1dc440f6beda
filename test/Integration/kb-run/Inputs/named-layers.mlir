// Two layers the user named (as a front end may, with MLIR's named locations).
module attributes {kb.world_size = 2 : i64} {
  func.func @block(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %w2: tensor<32x16xf32>)
      -> tensor<8x16xf32> {
    %h = kb.column_parallel_linear %x, %w1
        : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32> loc("mlp.fc1"("model.py":13:9))
    %y = kb.row_parallel_linear %h, %w2
        : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32> loc("mlp.fc2"("model.py":15:9))
    return %y : tensor<8x16xf32>
  }
}
