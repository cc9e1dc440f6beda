// A Llama-2-7B decoder layer in prefill: hidden 4096, 32 query and 32 KV heads
// of head_dim 128, ffn 11008, 16 tokens at positions 0..15, f16, TP = 8.
// The math is Hugging Face's (docs/Transformer.md):
//   n = rmsnorm(x, attn_norm_w)
//   h = x + attention(rope(n·wq), rope(n·wk), n·wv) · wo      (causal)
//   m = rmsnorm(h, mlp_norm_w)
//   y = h + (silu(m·w_gate) ⊙ (m·w_up)) · w_down
// Megatron's partition: wq, wk, wv column-parallel by heads (4 query and 4 KV
// heads per rank), RoPE and attention local to each rank's heads, wo
// row-parallel and all-reduced before the residual; the SwiGLU MLP
// column-parallel then row-parallel. Two all-reduces per layer.
//
// Arguments, in order: x [S,H], attn_norm_w [H], wq [H,nH·hd], wk [H,nKV·hd],
// wv [H,nKV·hd], wo [nH·hd,H], mlp_norm_w [H], w_gate [H,F], w_up [H,F],
// w_down [F,H]. Result: y [S,H].
//
//   kb-opt --kb-tp-partition examples/llama2_7b_layer.mlir -o layer.local.mlir
//   kb-run layer.local.mlir --reference examples/llama2_7b_layer.mlir --check
module attributes {kb.world_size = 8 : i64} {
  func.func @llama2_7b_layer(%x: tensor<16x4096xf16>, %attn_norm_w: tensor<4096xf16>,
                             %wq: tensor<4096x4096xf16>, %wk: tensor<4096x4096xf16>,
                             %wv: tensor<4096x4096xf16>, %wo: tensor<4096x4096xf16>,
                             %mlp_norm_w: tensor<4096xf16>,
                             %w_gate: tensor<4096x11008xf16>, %w_up: tensor<4096x11008xf16>,
                             %w_down: tensor<11008x4096xf16>) -> tensor<16x4096xf16> {
    %n = kb.rms_norm %x, %attn_norm_w : tensor<16x4096xf16>, tensor<4096xf16>
    %q = kb.column_parallel_linear %n, %wq
        : (tensor<16x4096xf16>, tensor<4096x4096xf16>) -> tensor<16x4096xf16>
    %k = kb.column_parallel_linear %n, %wk
        : (tensor<16x4096xf16>, tensor<4096x4096xf16>) -> tensor<16x4096xf16>
    %v = kb.column_parallel_linear %n, %wv
        : (tensor<16x4096xf16>, tensor<4096x4096xf16>) -> tensor<16x4096xf16>
    %q_rot = kb.rope %q head_dim 128 : tensor<16x4096xf16>
    %k_rot = kb.rope %k head_dim 128 : tensor<16x4096xf16>
    %attn = kb.attention %q_rot, %k_rot, %v heads 32 kv_heads 32
        : (tensor<16x4096xf16>, tensor<16x4096xf16>, tensor<16x4096xf16>) -> tensor<16x4096xf16>
    %o = kb.row_parallel_linear %attn, %wo
        : (tensor<16x4096xf16>, tensor<4096x4096xf16>) -> tensor<16x4096xf16>
    %h = kb.add %x, %o : tensor<16x4096xf16>, tensor<16x4096xf16>
    %m = kb.rms_norm %h, %mlp_norm_w : tensor<16x4096xf16>, tensor<4096xf16>
    %gate = kb.column_parallel_linear %m, %w_gate
        : (tensor<16x4096xf16>, tensor<4096x11008xf16>) -> tensor<16x11008xf16>
    %up = kb.column_parallel_linear %m, %w_up
        : (tensor<16x4096xf16>, tensor<4096x11008xf16>) -> tensor<16x11008xf16>
    %act = kb.silu %gate : tensor<16x11008xf16>
    %prod = kb.mul %act, %up : tensor<16x11008xf16>, tensor<16x11008xf16>
    %down = kb.row_parallel_linear %prod, %w_down
        : (tensor<16x11008xf16>, tensor<11008x4096xf16>) -> tensor<16x4096xf16>
    %y = kb.add %h, %down : tensor<16x4096xf16>, tensor<16x4096xf16>
    return %y : tensor<16x4096xf16>
  }
}
