// A Llama-2-7B decoder layer in decode: one new token at position P = 64
// against a KV cache of the 64 tokens before it; hidden 4096, 32 query and 32
// KV heads of head_dim 128, ffn 11008, f16, TP = 8. The layer is
// llama2_7b_layer.mlir's with the token's q and k rotated at position 64
// (`offset 64`) and its k and v rows appended to the cache before attention;
// the cache holds keys already rotated. Decode of token P computes row P of a
// prefill over P + 1 tokens.
// Megatron's partition: each rank holds its 4 KV heads' columns of both caches
// (k_cache and v_cache arrive split by heads, like wk and wv) and appends its
// own heads' rows; k_new and v_new come back whole (gathered from the ranks'
// columns).
//
// Arguments, in order: x [1,H], attn_norm_w [H], wq [H,nH·hd], wk [H,nKV·hd],
// wv [H,nKV·hd], wo [nH·hd,H], mlp_norm_w [H], w_gate [H,F], w_up [H,F],
// w_down [F,H], then k_cache, v_cache [P, nKV·hd] (the caches follow the
// weights). Results: y [1,H], k_new and v_new [1, nKV·hd], the new token's
// rotated k row and its v row, to append to the caches for token P + 1.
//
//   kb-opt --kb-tp-partition examples/llama2_7b_decode.mlir -o decode.local.mlir
//   kb-run decode.local.mlir --reference examples/llama2_7b_decode.mlir --check
module attributes {kb.world_size = 8 : i64} {
  func.func @llama2_7b_decode(%x: tensor<1x4096xf16>, %attn_norm_w: tensor<4096xf16>,
                              %wq: tensor<4096x4096xf16>, %wk: tensor<4096x4096xf16>,
                              %wv: tensor<4096x4096xf16>, %wo: tensor<4096x4096xf16>,
                              %mlp_norm_w: tensor<4096xf16>,
                              %w_gate: tensor<4096x11008xf16>, %w_up: tensor<4096x11008xf16>,
                              %w_down: tensor<11008x4096xf16>,
                              %k_cache: tensor<64x4096xf16>, %v_cache: tensor<64x4096xf16>)
      -> (tensor<1x4096xf16>, tensor<1x4096xf16>, tensor<1x4096xf16>) {
    %n = kb.rms_norm %x, %attn_norm_w : tensor<1x4096xf16>, tensor<4096xf16>
    %q = kb.column_parallel_linear %n, %wq
        : (tensor<1x4096xf16>, tensor<4096x4096xf16>) -> tensor<1x4096xf16>
    %k = kb.column_parallel_linear %n, %wk
        : (tensor<1x4096xf16>, tensor<4096x4096xf16>) -> tensor<1x4096xf16>
    %v_new = kb.column_parallel_linear %n, %wv
        : (tensor<1x4096xf16>, tensor<4096x4096xf16>) -> tensor<1x4096xf16>
    %q_rot = kb.rope %q head_dim 128 offset 64 : tensor<1x4096xf16>
    %k_new = kb.rope %k head_dim 128 offset 64 : tensor<1x4096xf16>
    %keys = kb.kv_append %k_cache, %k_new
        : tensor<64x4096xf16>, tensor<1x4096xf16> -> tensor<65x4096xf16>
    %values = kb.kv_append %v_cache, %v_new
        : tensor<64x4096xf16>, tensor<1x4096xf16> -> tensor<65x4096xf16>
    %attn = kb.attention %q_rot, %keys, %values heads 32 kv_heads 32
        : (tensor<1x4096xf16>, tensor<65x4096xf16>, tensor<65x4096xf16>) -> tensor<1x4096xf16>
    %o = kb.row_parallel_linear %attn, %wo
        : (tensor<1x4096xf16>, tensor<4096x4096xf16>) -> tensor<1x4096xf16>
    %h = kb.add %x, %o : tensor<1x4096xf16>, tensor<1x4096xf16>
    %m = kb.rms_norm %h, %mlp_norm_w : tensor<1x4096xf16>, tensor<4096xf16>
    %gate = kb.column_parallel_linear %m, %w_gate
        : (tensor<1x4096xf16>, tensor<4096x11008xf16>) -> tensor<1x11008xf16>
    %up = kb.column_parallel_linear %m, %w_up
        : (tensor<1x4096xf16>, tensor<4096x11008xf16>) -> tensor<1x11008xf16>
    %act = kb.silu %gate : tensor<1x11008xf16>
    %prod = kb.mul %act, %up : tensor<1x11008xf16>, tensor<1x11008xf16>
    %down = kb.row_parallel_linear %prod, %w_down
        : (tensor<1x11008xf16>, tensor<11008x4096xf16>) -> tensor<1x4096xf16>
    %y = kb.add %h, %down : tensor<1x4096xf16>, tensor<1x4096xf16>
    return %y, %k_new, %v_new : tensor<1x4096xf16>, tensor<1x4096xf16>, tensor<1x4096xf16>
  }
}
