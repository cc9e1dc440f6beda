// A Llama decoder layer of moderate size for cost checks: 32 tokens, hidden
// 512, 8 query heads and 4 KV heads of head_dim 64, ffn 1408, f16, TP = 2.
module attributes {kb.world_size = 2 : i64} {
  func.func @llama_layer(%x: tensor<32x512xf16>, %wn: tensor<512xf16>, %wq: tensor<512x512xf16>,
                         %wk: tensor<512x256xf16>, %wv: tensor<512x256xf16>, %wo: tensor<512x512xf16>,
                         %wm: tensor<512xf16>, %wg: tensor<512x1408xf16>, %wu: tensor<512x1408xf16>,
                         %wd: tensor<1408x512xf16>) -> tensor<32x512xf16> {
    %n = kb.rms_norm %x, %wn : tensor<32x512xf16>, tensor<512xf16>
    %q = kb.column_parallel_linear %n, %wq : (tensor<32x512xf16>, tensor<512x512xf16>) -> tensor<32x512xf16>
    %k = kb.column_parallel_linear %n, %wk : (tensor<32x512xf16>, tensor<512x256xf16>) -> tensor<32x256xf16>
    %v = kb.column_parallel_linear %n, %wv : (tensor<32x512xf16>, tensor<512x256xf16>) -> tensor<32x256xf16>
    %qr = kb.rope %q head_dim 64 : tensor<32x512xf16>
    %kr = kb.rope %k head_dim 64 : tensor<32x256xf16>
    %a = kb.attention %qr, %kr, %v heads 8 kv_heads 4 : (tensor<32x512xf16>, tensor<32x256xf16>, tensor<32x256xf16>) -> tensor<32x512xf16>
    %o = kb.row_parallel_linear %a, %wo : (tensor<32x512xf16>, tensor<512x512xf16>) -> tensor<32x512xf16>
    %h = kb.add %x, %o : tensor<32x512xf16>, tensor<32x512xf16>
    %m = kb.rms_norm %h, %wm : tensor<32x512xf16>, tensor<512xf16>
    %g = kb.column_parallel_linear %m, %wg : (tensor<32x512xf16>, tensor<512x1408xf16>) -> tensor<32x1408xf16>
    %u = kb.column_parallel_linear %m, %wu : (tensor<32x512xf16>, tensor<512x1408xf16>) -> tensor<32x1408xf16>
    %s = kb.silu %g : tensor<32x1408xf16>
    %p = kb.mul %s, %u : tensor<32x1408xf16>, tensor<32x1408xf16>
    %d = kb.row_parallel_linear %p, %wd : (tensor<32x1408xf16>, tensor<1408x512xf16>) -> tensor<32x512xf16>
    %y = kb.add %h, %d : tensor<32x512xf16>, tensor<32x512xf16>
    return %y : tensor<32x512xf16>
  }
}
