// GPT-2's fused W_qkv [H, 3H] and b_qkv split into q, k, v by static
// slices, then the three column-parallel projections (7 tokens).
module attributes {kb.world_size = WORLD : i64} {
  func.func @qkv(%x: tensor<7x32xDTYPE>, %w: tensor<32x96xDTYPE>, %b: tensor<96xDTYPE>) -> (tensor<7x32xDTYPE>, tensor<7x32xDTYPE>, tensor<7x32xDTYPE>) {
    %wq = tensor.extract_slice %w[0, 0] [32, 32] [1, 1] : tensor<32x96xDTYPE> to tensor<32x32xDTYPE>
    %wk = tensor.extract_slice %w[0, 32] [32, 32] [1, 1] : tensor<32x96xDTYPE> to tensor<32x32xDTYPE>
    %wv = tensor.extract_slice %w[0, 64] [32, 32] [1, 1] : tensor<32x96xDTYPE> to tensor<32x32xDTYPE>
    %bq = tensor.extract_slice %b[0] [32] [1] : tensor<96xDTYPE> to tensor<32xDTYPE>
    %q = kb.column_parallel_linear %x, %wq : (tensor<7x32xDTYPE>, tensor<32x32xDTYPE>) -> tensor<7x32xDTYPE>
    %qb = kb.add %q, %bq : tensor<7x32xDTYPE>, tensor<32xDTYPE>
    %k = kb.column_parallel_linear %x, %wk : (tensor<7x32xDTYPE>, tensor<32x32xDTYPE>) -> tensor<7x32xDTYPE>
    %v = kb.column_parallel_linear %x, %wv : (tensor<7x32xDTYPE>, tensor<32x32xDTYPE>) -> tensor<7x32xDTYPE>
    return %qb, %k, %v : tensor<7x32xDTYPE>, tensor<7x32xDTYPE>, tensor<7x32xDTYPE>
  }
}
