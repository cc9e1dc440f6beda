// A local attention block whose shapes the tests fill in: S new tokens (x)
// attend, causally, to T ≥ S tokens (ctx, whose last S rows are the new
// ones' positions): q, k, v column-parallel by heads (NH query heads over
// NKV KV heads of head_dim HD, model width 32), attention on each rank's
// heads, the output projection row-parallel with its all-reduce.
module attributes {kb.world_size = WORLD : i64DEVICE} {
  func.func @attention_block(%x: tensor<Sx32xDTYPE>, %ctx: tensor<Tx32xDTYPE>, %wq: tensor<32xQCOLSxDTYPE>,
                             %wk: tensor<32xKVCOLSxDTYPE>, %wv: tensor<32xKVCOLSxDTYPE>,
                             %wo: tensor<QCOLSx32xDTYPE>) -> tensor<Sx32xDTYPE> {
    %q = kb.column_parallel_linear %x, %wq : (tensor<Sx32xDTYPE>, tensor<32xQCOLSxDTYPE>) -> tensor<SxQCOLSxDTYPE>
    %k = kb.column_parallel_linear %ctx, %wk : (tensor<Tx32xDTYPE>, tensor<32xKVCOLSxDTYPE>) -> tensor<TxKVCOLSxDTYPE>
    %v = kb.column_parallel_linear %ctx, %wv : (tensor<Tx32xDTYPE>, tensor<32xKVCOLSxDTYPE>) -> tensor<TxKVCOLSxDTYPE>
    %a = kb.attention %q, %k, %v heads NH kv_heads NKV : (tensor<SxQCOLSxDTYPE>, tensor<TxKVCOLSxDTYPE>, tensor<TxKVCOLSxDTYPE>) -> tensor<SxQCOLSxDTYPE>
    %y = kb.row_parallel_linear %a, %wo : (tensor<SxQCOLSxDTYPE>, tensor<QCOLSx32xDTYPE>) -> tensor<Sx32xDTYPE>
    return %y : tensor<Sx32xDTYPE>
  }
}
