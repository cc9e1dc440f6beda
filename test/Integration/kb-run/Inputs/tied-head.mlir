// A tied LM head: the logits of (wte[ids] + h) against the same table wte,
// column-parallel over the vocabulary padded to a multiple of W, gathered
// and sliced back to the vocabulary. The tests substitute WORLD, VOCAB and
// PADDED (the vocabulary padded to a multiple of WORLD).
module attributes {kb.world_size = WORLD : i64} {
  func.func @head(%ids: tensor<9xi32>, %wte: tensor<VOCABx32xf16>, %h: tensor<9x32xf16>) -> tensor<9xVOCABxf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<VOCABx32xf16> -> tensor<9x32xf16>
    %y = kb.add %x, %h : tensor<9x32xf16>, tensor<9x32xf16>
    %l = kb.lm_head %y, %wte : tensor<9x32xf16>, tensor<VOCABx32xf16> -> tensor<9xPADDEDxf16>
    %g = kb.all_gather %l along 1 : tensor<9xPADDEDxf16> -> tensor<9xPADDEDxf16>
    %s = tensor.extract_slice %g[0, 0] [9, VOCAB] [1, 1] : tensor<9xPADDEDxf16> to tensor<9xVOCABxf16>
    return %s : tensor<9xVOCABxf16>
  }
}
