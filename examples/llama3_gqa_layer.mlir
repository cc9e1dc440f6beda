// A Llama-3-8B decoder layer in prefill: grouped-query attention with 32 query
// heads and 8 KV heads of head_dim 128 (4 query heads share each KV head),
// hidden 4096, ffn 14336, RoPE theta 500000 (Llama-3's), 16 tokens, f16, TP = 8.
// The math is docs/Transformer.md's Llama layer; query head h reads KV head
// h / 4. Megatron's partition: each rank holds 4 query heads and the 1 KV head
// they share (wk and wv column-parallel by KV heads), attention local per rank,
// wo and w_down row-parallel and all-reduced.
//
// Arguments, in order: x [S,H], attn_norm_w [H], wq [H,nH·hd], wk [H,nKV·hd],
// wv [H,nKV·hd], wo [nH·hd,H], mlp_norm_w [H], w_gate [H,F], w_up [H,F],
// w_down [F,H]. Result: y [S,H].
//
//   kb-opt --kb-tp-partition examples/llama3_gqa_layer.mlir -o gqa.local.mlir
//   kb-run gqa.local.mlir --reference examples/llama3_gqa_layer.mlir --check
module attributes {kb.world_size = 8 : i64} {
  func.func @llama3_gqa_layer(%x: tensor<16x4096xf16>, %attn_norm_w: tensor<4096xf16>,
                              %wq: tensor<4096x4096xf16>, %wk: tensor<4096x1024xf16>,
                              %wv: tensor<4096x1024xf16>, %wo: tensor<4096x4096xf16>,
                              %mlp_norm_w: tensor<4096xf16>,
                              %w_gate: tensor<4096x14336xf16>, %w_up: tensor<4096x14336xf16>,
                              %w_down: tensor<14336x4096xf16>) -> tensor<16x4096xf16> {
    %n = kb.rms_norm %x, %attn_norm_w : tensor<16x4096xf16>, tensor<4096xf16>
    %q = kb.column_parallel_linear %n, %wq
        : (tensor<16x4096xf16>, tensor<4096x4096xf16>) -> tensor<16x4096xf16>
    %k = kb.column_parallel_linear %n, %wk
        : (tensor<16x4096xf16>, tensor<4096x1024xf16>) -> tensor<16x1024xf16>
    %v = kb.column_parallel_linear %n, %wv
        : (tensor<16x4096xf16>, tensor<4096x1024xf16>) -> tensor<16x1024xf16>
    %q_rot = kb.rope %q head_dim 128 {theta = 5.000000e+05 : f64} : tensor<16x4096xf16>
    %k_rot = kb.rope %k head_dim 128 {theta = 5.000000e+05 : f64} : tensor<16x1024xf16>
    %attn = kb.attention %q_rot, %k_rot, %v heads 32 kv_heads 8
        : (tensor<16x4096xf16>, tensor<16x1024xf16>, tensor<16x1024xf16>) -> tensor<16x4096xf16>
    %o = kb.row_parallel_linear %attn, %wo
        : (tensor<16x4096xf16>, tensor<4096x4096xf16>) -> tensor<16x4096xf16>
    %h = kb.add %x, %o : tensor<16x4096xf16>, tensor<16x4096xf16>
    %m = kb.rms_norm %h, %mlp_norm_w : tensor<16x4096xf16>, tensor<4096xf16>
    %gate = kb.column_parallel_linear %m, %w_gate
        : (tensor<16x4096xf16>, tensor<4096x14336xf16>) -> tensor<16x14336xf16>
    %up = kb.column_parallel_linear %m, %w_up
        : (tensor<16x4096xf16>, tensor<4096x14336xf16>) -> tensor<16x14336xf16>
    %act = kb.silu %gate : tensor<16x14336xf16>
    %prod = kb.mul %act, %up : tensor<16x14336xf16>, tensor<16x14336xf16>
    %down = kb.row_parallel_linear %prod, %w_down
        : (tensor<16x14336xf16>, tensor<14336x4096xf16>) -> tensor<16x4096xf16>
    %y = kb.add %h, %down : tensor<16x4096xf16>, tensor<16x4096xf16>
    return %y : tensor<16x4096xf16>
  }
}
