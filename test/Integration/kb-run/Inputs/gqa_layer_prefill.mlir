// A small GQA Llama layer in prefill with fewer KV heads than ranks: H 256,
// 8 query heads and 2 KV heads of head_dim 32, F 512, 5 tokens. At W = 4 or
// 8 each KV head is replicated over W / 2 ranks (Megatron's GQA partition).
module attributes {kb.world_size = WORLD : i64} {
  func.func @gqa_prefill(%x: tensor<5x256xDTYPE>, %wn: tensor<256xDTYPE>, %wq: tensor<256x256xDTYPE>,
                         %wk: tensor<256x64xDTYPE>, %wv: tensor<256x64xDTYPE>, %wo: tensor<256x256xDTYPE>,
                         %wm: tensor<256xDTYPE>, %wg: tensor<256x512xDTYPE>, %wu: tensor<256x512xDTYPE>,
                         %wd: tensor<512x256xDTYPE>) -> tensor<5x256xDTYPE> {
    %n = kb.rms_norm %x, %wn : tensor<5x256xDTYPE>, tensor<256xDTYPE>
    %q = kb.column_parallel_linear %n, %wq : (tensor<5x256xDTYPE>, tensor<256x256xDTYPE>) -> tensor<5x256xDTYPE>
    %k = kb.column_parallel_linear %n, %wk : (tensor<5x256xDTYPE>, tensor<256x64xDTYPE>) -> tensor<5x64xDTYPE>
    %v = kb.column_parallel_linear %n, %wv : (tensor<5x256xDTYPE>, tensor<256x64xDTYPE>) -> tensor<5x64xDTYPE>
    %qr = kb.rope %q head_dim 32 : tensor<5x256xDTYPE>
    %kr = kb.rope %k head_dim 32 : tensor<5x64xDTYPE>
    %a = kb.attention %qr, %kr, %v heads 8 kv_heads 2 : (tensor<5x256xDTYPE>, tensor<5x64xDTYPE>, tensor<5x64xDTYPE>) -> tensor<5x256xDTYPE>
    %o = kb.row_parallel_linear %a, %wo : (tensor<5x256xDTYPE>, tensor<256x256xDTYPE>) -> tensor<5x256xDTYPE>
    %h = kb.add %x, %o : tensor<5x256xDTYPE>, tensor<5x256xDTYPE>
    %m = kb.rms_norm %h, %wm : tensor<5x256xDTYPE>, tensor<256xDTYPE>
    %g = kb.column_parallel_linear %m, %wg : (tensor<5x256xDTYPE>, tensor<256x512xDTYPE>) -> tensor<5x512xDTYPE>
    %u = kb.column_parallel_linear %m, %wu : (tensor<5x256xDTYPE>, tensor<256x512xDTYPE>) -> tensor<5x512xDTYPE>
    %s = kb.silu %g : tensor<5x512xDTYPE>
    %p = kb.mul %s, %u : tensor<5x512xDTYPE>, tensor<5x512xDTYPE>
    %d = kb.row_parallel_linear %p, %wd : (tensor<5x512xDTYPE>, tensor<512x256xDTYPE>) -> tensor<5x256xDTYPE>
    %y = kb.add %h, %d : tensor<5x256xDTYPE>, tensor<5x256xDTYPE>
    return %y : tensor<5x256xDTYPE>
  }
}
