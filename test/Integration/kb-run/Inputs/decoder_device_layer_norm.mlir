// A GPT-2 style pre-LayerNorm block without attention (7 tokens, H 48, F 96):
// LayerNorm with weight and bias, a biased column-parallel fc, GELU, the
// row-parallel projection and the residual.
module attributes {kb.world_size = WORLD : i64} {
  func.func @block(%x: tensor<7x48xDTYPE>, %lw: tensor<48xDTYPE>, %lb: tensor<48xDTYPE>, %w: tensor<48x96xDTYPE>, %b: tensor<96xDTYPE>,
                   %w2: tensor<96x48xDTYPE>) -> tensor<7x48xDTYPE> {
    %n = kb.layer_norm %x, %lw, %lb : tensor<7x48xDTYPE>, tensor<48xDTYPE>, tensor<48xDTYPE>
    %h = kb.column_parallel_linear %n, %w : (tensor<7x48xDTYPE>, tensor<48x96xDTYPE>) -> tensor<7x96xDTYPE>
    %hb = kb.add %h, %b : tensor<7x96xDTYPE>, tensor<96xDTYPE>
    %g = kb.gelu %hb : tensor<7x96xDTYPE>
    %d = kb.row_parallel_linear %g, %w2 : (tensor<7x96xDTYPE>, tensor<96x48xDTYPE>) -> tensor<7x48xDTYPE>
    %y = kb.add %x, %d : tensor<7x48xDTYPE>, tensor<7x48xDTYPE>
    return %y : tensor<7x48xDTYPE>
  }
}
