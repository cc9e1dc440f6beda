// GPT-2's input layer: token embedding plus learned positions. The positions
// are the first S rows of wpe (a slice: the prompt starts at position 0).
// The tests substitute the world size and the vocabulary (64 and 61 rows).
module attributes {kb.world_size = 4 : i64} {
  func.func @embed(%ids: tensor<9xi32>, %wte: tensor<64x32xf16>, %wpe: tensor<16x32xf16>) -> tensor<9x32xf16> {
    %tok = kb.embedding %ids, %wte : tensor<9xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
    %pos = tensor.extract_slice %wpe[0, 0] [9, 32] [1, 1] : tensor<16x32xf16> to tensor<9x32xf16>
    %x = kb.add %tok, %pos : tensor<9x32xf16>, tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}
