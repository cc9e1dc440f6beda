// A GPT-2 block (pre-LayerNorm, fused W_qkv split as [q | k | v], biases,
// GELU MLP, both residuals) at 5 tokens, H 16, 4 heads, W = 2, in f16.
module attributes {kb.world_size = 2 : i64} {
  func.func @gpt2_block(%x: tensor<5x16xf16>, %ln1_w: tensor<16xf16>, %ln1_b: tensor<16xf16>,
                        %w_qkv: tensor<16x48xf16>, %b_qkv: tensor<48xf16>,
                        %w_o: tensor<16x16xf16>, %b_o: tensor<16xf16>,
                        %ln2_w: tensor<16xf16>, %ln2_b: tensor<16xf16>,
                        %w_fc: tensor<16x64xf16>, %b_fc: tensor<64xf16>,
                        %w_proj: tensor<64x16xf16>, %b_proj: tensor<16xf16>) -> tensor<5x16xf16> {
    %n = kb.layer_norm %x, %ln1_w, %ln1_b : tensor<5x16xf16>, tensor<16xf16>, tensor<16xf16>
    %wq = tensor.extract_slice %w_qkv[0, 0] [16, 16] [1, 1] : tensor<16x48xf16> to tensor<16x16xf16>
    %wk = tensor.extract_slice %w_qkv[0, 16] [16, 16] [1, 1] : tensor<16x48xf16> to tensor<16x16xf16>
    %wv = tensor.extract_slice %w_qkv[0, 32] [16, 16] [1, 1] : tensor<16x48xf16> to tensor<16x16xf16>
    %bq = tensor.extract_slice %b_qkv[0] [16] [1] : tensor<48xf16> to tensor<16xf16>
    %bk = tensor.extract_slice %b_qkv[16] [16] [1] : tensor<48xf16> to tensor<16xf16>
    %bv = tensor.extract_slice %b_qkv[32] [16] [1] : tensor<48xf16> to tensor<16xf16>
    %q = kb.column_parallel_linear %n, %wq bias %bq : (tensor<5x16xf16>, tensor<16x16xf16>, tensor<16xf16>) -> tensor<5x16xf16>
    %k = kb.column_parallel_linear %n, %wk bias %bk : (tensor<5x16xf16>, tensor<16x16xf16>, tensor<16xf16>) -> tensor<5x16xf16>
    %v = kb.column_parallel_linear %n, %wv bias %bv : (tensor<5x16xf16>, tensor<16x16xf16>, tensor<16xf16>) -> tensor<5x16xf16>
    %a = kb.attention %q, %k, %v heads 4 kv_heads 4 : (tensor<5x16xf16>, tensor<5x16xf16>, tensor<5x16xf16>) -> tensor<5x16xf16>
    %o = kb.row_parallel_linear %a, %w_o bias %b_o : (tensor<5x16xf16>, tensor<16x16xf16>, tensor<16xf16>) -> tensor<5x16xf16>
    %h = kb.add %x, %o : tensor<5x16xf16>, tensor<5x16xf16>
    %m = kb.layer_norm %h, %ln2_w, %ln2_b : tensor<5x16xf16>, tensor<16xf16>, tensor<16xf16>
    %f = kb.column_parallel_linear %m, %w_fc bias %b_fc : (tensor<5x16xf16>, tensor<16x64xf16>, tensor<64xf16>) -> tensor<5x64xf16>
    %g = kb.gelu %f : tensor<5x64xf16>
    %p = kb.row_parallel_linear %g, %w_proj bias %b_proj : (tensor<5x64xf16>, tensor<64x16xf16>, tensor<16xf16>) -> tensor<5x16xf16>
    %y = kb.add %h, %p : tensor<5x16xf16>, tensor<5x16xf16>
    return %y : tensor<5x16xf16>
  }
}
