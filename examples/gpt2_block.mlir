// A GPT-2 small block: hidden 768, 12 heads of head_dim 64, MLP 3072, 16
// tokens, f16, TP = 4. Pre-LayerNorm, learned biases, no RoPE, GELU (tanh):
//   n = layernorm(x, ln1_w, ln1_b)
//   q | k | v = n·w_qkv + b_qkv        (the fused projection, split by columns)
//   h = x + attention(q, k, v)·w_o + b_o                      (causal)
//   y = h + gelu_tanh(layernorm(h, ln2_w, ln2_b)·w_fc + b_fc)·w_proj + b_proj
// The fused w_qkv [H,3H] and b_qkv [3H] are sliced into q, k and v with
// tensor.extract_slice (static slices of replicated weights, the same on every
// rank); each slice is then column-parallel by heads (3 heads per rank), w_o
// and w_proj row-parallel with their biases added once after the all-reduce.
//
// Arguments, in order: x [S,H], ln1_w, ln1_b [H], w_qkv [H,3H], b_qkv [3H],
// w_o [H,H], b_o [H], ln2_w, ln2_b [H], w_fc [H,4H], b_fc [4H], w_proj [4H,H],
// b_proj [H]. Result: y [S,H].
//
//   kb-opt --kb-tp-partition examples/gpt2_block.mlir -o gpt2.local.mlir
//   kb-run gpt2.local.mlir --reference examples/gpt2_block.mlir --check
module attributes {kb.world_size = 4 : i64} {
  func.func @gpt2_block(%x: tensor<16x768xf16>, %ln1_w: tensor<768xf16>, %ln1_b: tensor<768xf16>,
                        %w_qkv: tensor<768x2304xf16>, %b_qkv: tensor<2304xf16>,
                        %w_o: tensor<768x768xf16>, %b_o: tensor<768xf16>,
                        %ln2_w: tensor<768xf16>, %ln2_b: tensor<768xf16>,
                        %w_fc: tensor<768x3072xf16>, %b_fc: tensor<3072xf16>,
                        %w_proj: tensor<3072x768xf16>, %b_proj: tensor<768xf16>)
      -> tensor<16x768xf16> {
    %n = kb.layer_norm %x, %ln1_w, %ln1_b : tensor<16x768xf16>, tensor<768xf16>, tensor<768xf16>
    %wq = tensor.extract_slice %w_qkv[0, 0] [768, 768] [1, 1]
        : tensor<768x2304xf16> to tensor<768x768xf16>
    %wk = tensor.extract_slice %w_qkv[0, 768] [768, 768] [1, 1]
        : tensor<768x2304xf16> to tensor<768x768xf16>
    %wv = tensor.extract_slice %w_qkv[0, 1536] [768, 768] [1, 1]
        : tensor<768x2304xf16> to tensor<768x768xf16>
    %bq = tensor.extract_slice %b_qkv[0] [768] [1] : tensor<2304xf16> to tensor<768xf16>
    %bk = tensor.extract_slice %b_qkv[768] [768] [1] : tensor<2304xf16> to tensor<768xf16>
    %bv = tensor.extract_slice %b_qkv[1536] [768] [1] : tensor<2304xf16> to tensor<768xf16>
    %q = kb.column_parallel_linear %n, %wq bias %bq
        : (tensor<16x768xf16>, tensor<768x768xf16>, tensor<768xf16>) -> tensor<16x768xf16>
    %k = kb.column_parallel_linear %n, %wk bias %bk
        : (tensor<16x768xf16>, tensor<768x768xf16>, tensor<768xf16>) -> tensor<16x768xf16>
    %v = kb.column_parallel_linear %n, %wv bias %bv
        : (tensor<16x768xf16>, tensor<768x768xf16>, tensor<768xf16>) -> tensor<16x768xf16>
    %attn = kb.attention %q, %k, %v heads 12 kv_heads 12
        : (tensor<16x768xf16>, tensor<16x768xf16>, tensor<16x768xf16>) -> tensor<16x768xf16>
    %o = kb.row_parallel_linear %attn, %w_o bias %b_o
        : (tensor<16x768xf16>, tensor<768x768xf16>, tensor<768xf16>) -> tensor<16x768xf16>
    %h = kb.add %x, %o : tensor<16x768xf16>, tensor<16x768xf16>
    %m = kb.layer_norm %h, %ln2_w, %ln2_b : tensor<16x768xf16>, tensor<768xf16>, tensor<768xf16>
    %fc = kb.column_parallel_linear %m, %w_fc bias %b_fc
        : (tensor<16x768xf16>, tensor<768x3072xf16>, tensor<3072xf16>) -> tensor<16x3072xf16>
    %act = kb.gelu %fc : tensor<16x3072xf16>
    %proj = kb.row_parallel_linear %act, %w_proj bias %b_proj
        : (tensor<16x3072xf16>, tensor<3072x768xf16>, tensor<768xf16>) -> tensor<16x768xf16>
    %y = kb.add %h, %proj : tensor<16x768xf16>, tensor<16x768xf16>
    return %y : tensor<16x768xf16>
  }
}
