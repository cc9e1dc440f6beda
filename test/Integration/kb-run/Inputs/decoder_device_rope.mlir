// RoPE on a q projection (5 tokens, 8 heads of head_dim 8) of a prompt that
// starts at position 3.
module attributes {kb.world_size = WORLD : i64} {
  func.func @q(%x: tensor<5x32xDTYPE>, %wq: tensor<32x64xDTYPE>) -> tensor<5x64xDTYPE> {
    %q = kb.column_parallel_linear %x, %wq : (tensor<5x32xDTYPE>, tensor<32x64xDTYPE>) -> tensor<5x64xDTYPE>
    %r = kb.rope %q head_dim 8 offset 3 : tensor<5x64xDTYPE>
    return %r : tensor<5x64xDTYPE>
  }
}
