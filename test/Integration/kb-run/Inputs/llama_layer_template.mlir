// A Llama decoder layer (5 tokens, H 16, 4 query heads of head_dim 4, KVHEADS KV
// heads, F 32) whose world size, element type and KV heads the tests fill in.
module attributes {kb.world_size = WORLD : i64} {
  func.func @llama_layer(%x: tensor<5x16xDTYPE>, %wn: tensor<16xDTYPE>, %wq: tensor<16x16xDTYPE>,
                         %wk: tensor<16xKVCOLSxDTYPE>, %wv: tensor<16xKVCOLSxDTYPE>, %wo: tensor<16x16xDTYPE>,
                         %wm: tensor<16xDTYPE>, %wg: tensor<16x32xDTYPE>, %wu: tensor<16x32xDTYPE>,
                         %wd: tensor<32x16xDTYPE>) -> tensor<5x16xDTYPE> {
    %n = kb.rms_norm %x, %wn : tensor<5x16xDTYPE>, tensor<16xDTYPE>
    %q = kb.column_parallel_linear %n, %wq : (tensor<5x16xDTYPE>, tensor<16x16xDTYPE>) -> tensor<5x16xDTYPE>
    %k = kb.column_parallel_linear %n, %wk : (tensor<5x16xDTYPE>, tensor<16xKVCOLSxDTYPE>) -> tensor<5xKVCOLSxDTYPE>
    %v = kb.column_parallel_linear %n, %wv : (tensor<5x16xDTYPE>, tensor<16xKVCOLSxDTYPE>) -> tensor<5xKVCOLSxDTYPE>
    %qr = kb.rope %q head_dim 4 : tensor<5x16xDTYPE>
    %kr = kb.rope %k head_dim 4 : tensor<5xKVCOLSxDTYPE>
    %a = kb.attention %qr, %kr, %v heads 4 kv_heads KVHEADS : (tensor<5x16xDTYPE>, tensor<5xKVCOLSxDTYPE>, tensor<5xKVCOLSxDTYPE>) -> tensor<5x16xDTYPE>
    %o = kb.row_parallel_linear %a, %wo : (tensor<5x16xDTYPE>, tensor<16x16xDTYPE>) -> tensor<5x16xDTYPE>
    %h = kb.add %x, %o : tensor<5x16xDTYPE>, tensor<5x16xDTYPE>
    %m = kb.rms_norm %h, %wm : tensor<5x16xDTYPE>, tensor<16xDTYPE>
    %g = kb.column_parallel_linear %m, %wg : (tensor<5x16xDTYPE>, tensor<16x32xDTYPE>) -> tensor<5x32xDTYPE>
    %u = kb.column_parallel_linear %m, %wu : (tensor<5x16xDTYPE>, tensor<16x32xDTYPE>) -> tensor<5x32xDTYPE>
    %s = kb.silu %g : tensor<5x32xDTYPE>
    %p = kb.mul %s, %u : tensor<5x32xDTYPE>, tensor<5x32xDTYPE>
    %d = kb.row_parallel_linear %p, %wd : (tensor<5x32xDTYPE>, tensor<32x16xDTYPE>) -> tensor<5x16xDTYPE>
    %y = kb.add %h, %d : tensor<5x16xDTYPE>, tensor<5x16xDTYPE>
    return %y : tensor<5x16xDTYPE>
  }
}
