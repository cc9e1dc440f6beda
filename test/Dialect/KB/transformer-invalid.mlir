// RUN: kb-opt %s -split-input-file -verify-diagnostics

// Every message of the decoder-layer op verifiers.

func.func @norm_rank_0(%x: tensor<f16>, %w: tensor<4xf16>) -> tensor<f16> {
  // expected-error@+1 {{'kb.rms_norm' op expects input of rank at least 1, got 'tensor<f16>'}}
  %0 = kb.rms_norm %x, %w : tensor<f16>, tensor<4xf16>
  return %0 : tensor<f16>
}

// -----

func.func @norm_dynamic(%x: tensor<?x8xf16>, %w: tensor<8xf16>) -> tensor<?x8xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects input to have a static shape, got 'tensor<?x8xf16>'}}
  %0 = kb.rms_norm %x, %w : tensor<?x8xf16>, tensor<8xf16>
  return %0 : tensor<?x8xf16>
}

// -----

func.func @norm_too_large(%x: tensor<4611686018427387904x2xf16>, %w: tensor<2xf16>) -> tensor<4611686018427387904x2xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects input of at most 2^63 - 1 bytes, got 'tensor<4611686018427387904x2xf16>'}}
  %0 = kb.rms_norm %x, %w : tensor<4611686018427387904x2xf16>, tensor<2xf16>
  return %0 : tensor<4611686018427387904x2xf16>
}

// -----

func.func @norm_weight_rank(%x: tensor<4x8xf16>, %w: tensor<1x8xf16>) -> tensor<4x8xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects weight of rank 1, got 'tensor<1x8xf16>'}}
  %0 = kb.rms_norm %x, %w : tensor<4x8xf16>, tensor<1x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

func.func @rms_norm_weight_size(%x: tensor<4x4096xf16>, %w: tensor<4000xf16>) -> tensor<4x4096xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects a weight of 4096 elements (the input's last dimension), got 4000}}
  %0 = kb.rms_norm %x, %w : tensor<4x4096xf16>, tensor<4000xf16>
  return %0 : tensor<4x4096xf16>
}

// -----

func.func @rms_norm_dtypes(%x: tensor<4x8xf16>, %w: tensor<8xf32>) -> tensor<4x8xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects one element type, but input has 'f16' and weight has 'f32'}}
  %0 = kb.rms_norm %x, %w : tensor<4x8xf16>, tensor<8xf32>
  return %0 : tensor<4x8xf16>
}

// -----

func.func @rms_norm_eps(%x: tensor<4x8xf16>, %w: tensor<8xf16>) -> tensor<4x8xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects a positive, finite eps, got 0}}
  %0 = kb.rms_norm %x, %w {eps = 0.0 : f32} : tensor<4x8xf16>, tensor<8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

func.func @layer_norm_bias_size(%x: tensor<4x768xbf16>, %w: tensor<768xbf16>, %b: tensor<3072xbf16>) -> tensor<4x768xbf16> {
  // expected-error@+1 {{'kb.layer_norm' op expects a bias of 768 elements (the input's last dimension), got 3072}}
  %0 = kb.layer_norm %x, %w, %b : tensor<4x768xbf16>, tensor<768xbf16>, tensor<3072xbf16>
  return %0 : tensor<4x768xbf16>
}

// -----

func.func @layer_norm_bias_dtype(%x: tensor<4x8xbf16>, %w: tensor<8xbf16>, %b: tensor<8xf16>) -> tensor<4x8xbf16> {
  // expected-error@+1 {{'kb.layer_norm' op expects one element type, but input has 'bf16' and bias has 'f16'}}
  %0 = kb.layer_norm %x, %w, %b : tensor<4x8xbf16>, tensor<8xbf16>, tensor<8xf16>
  return %0 : tensor<4x8xbf16>
}

// -----

func.func @layer_norm_eps(%x: tensor<4x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{'kb.layer_norm' op expects a positive, finite eps, got -1}}
  %0 = kb.layer_norm %x, %w, %b {eps = -1.0 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @norm_result_type(%x: tensor<4x8xf32>, %w: tensor<8xf32>) -> tensor<4x8xf16> {
  // expected-error@+1 {{'kb.rms_norm' op expects a result of its first operand's shape and element type ('tensor<4x8xf32>'), got 'tensor<4x8xf16>'}}
  %0 = "kb.rms_norm"(%x, %w) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

func.func @rope_rank(%x: tensor<2x4x64xf16>) -> tensor<2x4x64xf16> {
  // expected-error@+1 {{'kb.rope' op expects input of rank 2, got 'tensor<2x4x64xf16>'}}
  %0 = kb.rope %x head_dim 64 : tensor<2x4x64xf16>
  return %0 : tensor<2x4x64xf16>
}

// -----

func.func @rope_head_dim_zero(%x: tensor<4x64xf16>) -> tensor<4x64xf16> {
  // expected-error@+1 {{'kb.rope' op expects a positive head_dim, got 0}}
  %0 = kb.rope %x head_dim 0 : tensor<4x64xf16>
  return %0 : tensor<4x64xf16>
}

// -----

func.func @rope_head_dim_odd(%x: tensor<4x63xf16>) -> tensor<4x63xf16> {
  // expected-error@+1 {{'kb.rope' op expects an even head_dim (rotate_half splits each head into two halves), got 21}}
  %0 = kb.rope %x head_dim 21 : tensor<4x63xf16>
  return %0 : tensor<4x63xf16>
}

// -----

func.func @rope_partial_head(%x: tensor<4x100xf16>) -> tensor<4x100xf16> {
  // expected-error@+1 {{'kb.rope' op expects the input's 100 columns to be whole heads of head_dim (64)}}
  %0 = kb.rope %x head_dim 64 : tensor<4x100xf16>
  return %0 : tensor<4x100xf16>
}

// -----

func.func @rope_negative_offset(%x: tensor<1x64xf16>) -> tensor<1x64xf16> {
  // expected-error@+1 {{'kb.rope' op expects a non-negative position offset, got -3}}
  %0 = kb.rope %x head_dim 64 offset -3 : tensor<1x64xf16>
  return %0 : tensor<1x64xf16>
}

// -----

func.func @rope_offset_overflow(%x: tensor<2x64xf16>) -> tensor<2x64xf16> {
  // expected-error@+1 {{'kb.rope' op puts its 2 rows past position 9223372036854775807, beyond int64}}
  %0 = kb.rope %x head_dim 64 offset 9223372036854775807 : tensor<2x64xf16>
  return %0 : tensor<2x64xf16>
}

// -----

func.func @rope_theta(%x: tensor<1x64xf16>) -> tensor<1x64xf16> {
  // expected-error@+1 {{'kb.rope' op expects a positive, finite theta, got -1}}
  %0 = kb.rope %x head_dim 64 {theta = -1.0 : f64} : tensor<1x64xf16>
  return %0 : tensor<1x64xf16>
}

// -----

func.func @attention_q_rank(%q: tensor<64xf16>, %k: tensor<4x64xf16>) -> tensor<64xf16> {
  // expected-error@+1 {{'kb.attention' op expects q of rank 2, got 'tensor<64xf16>'}}
  %0 = kb.attention %q, %k, %k heads 1 kv_heads 1 : (tensor<64xf16>, tensor<4x64xf16>, tensor<4x64xf16>) -> tensor<64xf16>
  return %0 : tensor<64xf16>
}

// -----

func.func @attention_dtypes(%q: tensor<4x64xf16>, %k: tensor<4x64xf16>, %v: tensor<4x64xbf16>) -> tensor<4x64xf16> {
  // expected-error@+1 {{'kb.attention' op expects one element type, but q has 'f16' and v has 'bf16'}}
  %0 = kb.attention %q, %k, %v heads 1 kv_heads 1 : (tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xbf16>) -> tensor<4x64xf16>
  return %0 : tensor<4x64xf16>
}

// -----

func.func @attention_zero_heads(%q: tensor<4x64xf16>, %k: tensor<4x64xf16>) -> tensor<4x64xf16> {
  // expected-error@+1 {{'kb.attention' op expects positive head counts, got heads 2 and kv_heads 0}}
  %0 = kb.attention %q, %k, %k heads 2 kv_heads 0 : (tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>) -> tensor<4x64xf16>
  return %0 : tensor<4x64xf16>
}

// -----

func.func @attention_kv_heads_not_dividing(%q: tensor<4x384xf16>, %k: tensor<4x160xf16>) -> tensor<4x384xf16> {
  // expected-error@+1 {{'kb.attention' op expects num_kv_heads (5) to divide num_heads (12)}}
  %0 = kb.attention %q, %k, %k heads 12 kv_heads 5 : (tensor<4x384xf16>, tensor<4x160xf16>, tensor<4x160xf16>) -> tensor<4x384xf16>
  return %0 : tensor<4x384xf16>
}

// -----

func.func @attention_empty_heads(%q: tensor<4x0xf16>, %k: tensor<4x0xf16>) -> tensor<4x0xf16> {
  // expected-error@+1 {{'kb.attention' op expects q to have columns for its 8 heads, got none}}
  %0 = kb.attention %q, %k, %k heads 8 kv_heads 8 : (tensor<4x0xf16>, tensor<4x0xf16>, tensor<4x0xf16>) -> tensor<4x0xf16>
  return %0 : tensor<4x0xf16>
}

// -----

func.func @attention_heads_not_dividing_hidden(%q: tensor<4x100xf16>, %k: tensor<4x100xf16>) -> tensor<4x100xf16> {
  // expected-error@+1 {{'kb.attention' op expects q's 100 columns to divide into num_heads (32) heads}}
  %0 = kb.attention %q, %k, %k heads 32 kv_heads 32 : (tensor<4x100xf16>, tensor<4x100xf16>, tensor<4x100xf16>) -> tensor<4x100xf16>
  return %0 : tensor<4x100xf16>
}

// -----

func.func @attention_k_columns(%q: tensor<4x4096xf16>, %k: tensor<4x512xf16>) -> tensor<4x4096xf16> {
  // expected-error@+1 {{'kb.attention' op expects k to have num_kv_heads x head_dim = 8 x 128 = 1024 columns, got 512}}
  %0 = kb.attention %q, %k, %k heads 32 kv_heads 8 : (tensor<4x4096xf16>, tensor<4x512xf16>, tensor<4x512xf16>) -> tensor<4x4096xf16>
  return %0 : tensor<4x4096xf16>
}

// -----

func.func @attention_v_shape(%q: tensor<1x256xf16>, %k: tensor<65x256xf16>, %v: tensor<64x256xf16>) -> tensor<1x256xf16> {
  // expected-error@+1 {{'kb.attention' op expects v of k's shape 65x256, got 64x256}}
  %0 = kb.attention %q, %k, %v heads 2 kv_heads 2 : (tensor<1x256xf16>, tensor<65x256xf16>, tensor<64x256xf16>) -> tensor<1x256xf16>
  return %0 : tensor<1x256xf16>
}

// -----

func.func @attention_fewer_keys(%q: tensor<5x64xf32>, %k: tensor<4x64xf32>) -> tensor<5x64xf32> {
  // expected-error@+1 {{'kb.attention' op expects at least as many keys (4) as queries (5): query i sits at position keys - queries + i}}
  %0 = kb.attention %q, %k, %k heads 1 kv_heads 1 : (tensor<5x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<5x64xf32>
  return %0 : tensor<5x64xf32>
}

// -----

func.func @attention_result(%q: tensor<5x64xf32>, %k: tensor<5x64xf32>) -> tensor<5x32xf32> {
  // expected-error@+1 {{'kb.attention' op expects a 5x64 result (q's shape), got 5x32}}
  %0 = kb.attention %q, %k, %k heads 2 kv_heads 2 : (tensor<5x64xf32>, tensor<5x64xf32>, tensor<5x64xf32>) -> tensor<5x32xf32>
  return %0 : tensor<5x32xf32>
}

// -----

func.func @kv_append_rank(%c: tensor<4x2x64xf16>, %n: tensor<1x128xf16>) -> tensor<5x128xf16> {
  // expected-error@+1 {{'kb.kv_append' op expects cache of rank 2, got 'tensor<4x2x64xf16>'}}
  %0 = kb.kv_append %c, %n : tensor<4x2x64xf16>, tensor<1x128xf16> -> tensor<5x128xf16>
  return %0 : tensor<5x128xf16>
}

// -----

func.func @kv_append_dtypes(%c: tensor<4x128xf16>, %n: tensor<1x128xf32>) -> tensor<5x128xf16> {
  // expected-error@+1 {{'kb.kv_append' op expects one element type, but cache has 'f16' and new rows has 'f32'}}
  %0 = kb.kv_append %c, %n : tensor<4x128xf16>, tensor<1x128xf32> -> tensor<5x128xf16>
  return %0 : tensor<5x128xf16>
}

// -----

func.func @kv_append_columns(%c: tensor<64x1024xf16>, %n: tensor<1x512xf16>) -> tensor<65x1024xf16> {
  // expected-error@+1 {{'kb.kv_append' op expects new rows of the cache's 1024 columns, got 512}}
  %0 = kb.kv_append %c, %n : tensor<64x1024xf16>, tensor<1x512xf16> -> tensor<65x1024xf16>
  return %0 : tensor<65x1024xf16>
}

// -----

func.func @kv_append_result(%c: tensor<64x1024xf16>, %n: tensor<1x1024xf16>) -> tensor<64x1024xf16> {
  // expected-error@+1 {{'kb.kv_append' op expects a 65x1024 result (64 cached rows and 1 new), got 64x1024}}
  %0 = kb.kv_append %c, %n : tensor<64x1024xf16>, tensor<1x1024xf16> -> tensor<64x1024xf16>
  return %0 : tensor<64x1024xf16>
}
