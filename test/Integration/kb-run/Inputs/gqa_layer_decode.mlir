// The same GQA layer decoding the token at position 7 (a cache of 7 rows, no
// tile multiple): the caches and k_new, v_new [1, 64] are held by KV head,
// each head by W / 2 ranks; the results are gathered from one rank per head.
module attributes {kb.world_size = WORLD : i64} {
  func.func @gqa_decode(%x: tensor<1x256xDTYPE>, %wn: tensor<256xDTYPE>, %wq: tensor<256x256xDTYPE>,
                        %wk: tensor<256x64xDTYPE>, %wv: tensor<256x64xDTYPE>, %wo: tensor<256x256xDTYPE>,
                        %wm: tensor<256xDTYPE>, %wg: tensor<256x512xDTYPE>, %wu: tensor<256x512xDTYPE>,
                        %wd: tensor<512x256xDTYPE>, %kc: tensor<7x64xDTYPE>, %vc: tensor<7x64xDTYPE>)
      -> (tensor<1x256xDTYPE>, tensor<1x64xDTYPE>, tensor<1x64xDTYPE>) {
    %n = kb.rms_norm %x, %wn : tensor<1x256xDTYPE>, tensor<256xDTYPE>
    %q = kb.column_parallel_linear %n, %wq : (tensor<1x256xDTYPE>, tensor<256x256xDTYPE>) -> tensor<1x256xDTYPE>
    %k = kb.column_parallel_linear %n, %wk : (tensor<1x256xDTYPE>, tensor<256x64xDTYPE>) -> tensor<1x64xDTYPE>
    %v = kb.column_parallel_linear %n, %wv : (tensor<1x256xDTYPE>, tensor<256x64xDTYPE>) -> tensor<1x64xDTYPE>
    %qr = kb.rope %q head_dim 32 offset 7 : tensor<1x256xDTYPE>
    %kr = kb.rope %k head_dim 32 offset 7 : tensor<1x64xDTYPE>
    %ks = kb.kv_append %kc, %kr : tensor<7x64xDTYPE>, tensor<1x64xDTYPE> -> tensor<8x64xDTYPE>
    %vs = kb.kv_append %vc, %v : tensor<7x64xDTYPE>, tensor<1x64xDTYPE> -> tensor<8x64xDTYPE>
    %a = kb.attention %qr, %ks, %vs heads 8 kv_heads 2 : (tensor<1x256xDTYPE>, tensor<8x64xDTYPE>, tensor<8x64xDTYPE>) -> tensor<1x256xDTYPE>
    %o = kb.row_parallel_linear %a, %wo : (tensor<1x256xDTYPE>, tensor<256x256xDTYPE>) -> tensor<1x256xDTYPE>
    %h = kb.add %x, %o : tensor<1x256xDTYPE>, tensor<1x256xDTYPE>
    %m = kb.rms_norm %h, %wm : tensor<1x256xDTYPE>, tensor<256xDTYPE>
    %g = kb.column_parallel_linear %m, %wg : (tensor<1x256xDTYPE>, tensor<256x512xDTYPE>) -> tensor<1x512xDTYPE>
    %u = kb.column_parallel_linear %m, %wu : (tensor<1x256xDTYPE>, tensor<256x512xDTYPE>) -> tensor<1x512xDTYPE>
    %s = kb.silu %g : tensor<1x512xDTYPE>
    %p = kb.mul %s, %u : tensor<1x512xDTYPE>, tensor<1x512xDTYPE>
    %d = kb.row_parallel_linear %p, %wd : (tensor<1x512xDTYPE>, tensor<512x256xDTYPE>) -> tensor<1x256xDTYPE>
    %y = kb.add %h, %d : tensor<1x256xDTYPE>, tensor<1x256xDTYPE>
    return %y, %kr, %v : tensor<1x256xDTYPE>, tensor<1x64xDTYPE>, tensor<1x64xDTYPE>
  }
}
