// RUN: kb-opt %s -split-input-file | kb-opt -split-input-file | FileCheck %s
// RUN: kb-opt %s -split-input-file -mlir-print-op-generic | kb-opt -split-input-file | FileCheck %s

// The decoder-layer ops round-trip in each dtype, with their default
// attributes elided and the others printed.

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<5x96xf16>, %w: tensor<96xf16>, %b: tensor<96xf16>)
    -> (tensor<5x96xf16>, tensor<5x96xf16>, tensor<5x96xf16>, tensor<5x96xf16>) {
  // CHECK: kb.rms_norm %{{.*}}, %{{.*}} : tensor<5x96xf16>, tensor<96xf16>
  %0 = kb.rms_norm %x, %w : tensor<5x96xf16>, tensor<96xf16>
  // CHECK: kb.rms_norm %{{.*}}, %{{.*}} {eps = 9.99999997E-7 : f32} : tensor<5x96xf16>, tensor<96xf16>
  %1 = kb.rms_norm %x, %w {eps = 1.0e-6 : f32} : tensor<5x96xf16>, tensor<96xf16>
  // CHECK: kb.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<5x96xf16>, tensor<96xf16>, tensor<96xf16>
  %2 = kb.layer_norm %x, %w, %b : tensor<5x96xf16>, tensor<96xf16>, tensor<96xf16>
  // CHECK: kb.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f32} : tensor<5x96xf16>, tensor<96xf16>, tensor<96xf16>
  %3 = kb.layer_norm %x, %w, %b {eps = 1.0e-3 : f32} : tensor<5x96xf16>, tensor<96xf16>, tensor<96xf16>
  return %0, %1, %2, %3 : tensor<5x96xf16>, tensor<5x96xf16>, tensor<5x96xf16>, tensor<5x96xf16>
}

// -----

// CHECK-LABEL: func.func @norms_of_any_rank
func.func @norms_of_any_rank(%x: tensor<2x3x8xbf16>, %v: tensor<8xf32>, %w: tensor<8xbf16>, %wf: tensor<8xf32>)
    -> (tensor<2x3x8xbf16>, tensor<8xf32>) {
  // CHECK: kb.rms_norm %{{.*}}, %{{.*}} : tensor<2x3x8xbf16>, tensor<8xbf16>
  %0 = kb.rms_norm %x, %w : tensor<2x3x8xbf16>, tensor<8xbf16>
  // CHECK: kb.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %1 = kb.layer_norm %v, %wf, %wf : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return %0, %1 : tensor<2x3x8xbf16>, tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @rope
func.func @rope(%q: tensor<7x256xf16>, %k: tensor<1x64xbf16>)
    -> (tensor<7x256xf16>, tensor<1x64xbf16>, tensor<7x256xf16>) {
  // CHECK: kb.rope %{{.*}} head_dim 64 : tensor<7x256xf16>
  %0 = kb.rope %q head_dim 64 : tensor<7x256xf16>
  // CHECK: kb.rope %{{.*}} head_dim 64 offset 63 : tensor<1x64xbf16>
  %1 = kb.rope %k head_dim 64 offset 63 : tensor<1x64xbf16>
  // CHECK: kb.rope %{{.*}} head_dim 128 {theta = 5.000000e+05 : f64} : tensor<7x256xf16>
  %2 = kb.rope %q head_dim 128 offset 0 {theta = 5.0e+05 : f64} : tensor<7x256xf16>
  return %0, %1, %2 : tensor<7x256xf16>, tensor<1x64xbf16>, tensor<7x256xf16>
}

// -----

// CHECK-LABEL: func.func @attention_prefill_gqa
func.func @attention_prefill_gqa(%q: tensor<5x256xf32>, %k: tensor<5x64xf32>, %v: tensor<5x64xf32>)
    -> tensor<5x256xf32> {
  // CHECK: kb.attention %{{.*}}, %{{.*}}, %{{.*}} heads 8 kv_heads 2 : (tensor<5x256xf32>, tensor<5x64xf32>, tensor<5x64xf32>) -> tensor<5x256xf32>
  %0 = kb.attention %q, %k, %v heads 8 kv_heads 2
      : (tensor<5x256xf32>, tensor<5x64xf32>, tensor<5x64xf32>) -> tensor<5x256xf32>
  return %0 : tensor<5x256xf32>
}

// -----

// Decode: the cache of 64 tokens, then the new token's k and v rows.
// CHECK-LABEL: func.func @decode
func.func @decode(%q: tensor<1x128xf16>, %k_cache: tensor<64x128xf16>, %v_cache: tensor<64x128xf16>,
                  %k_new: tensor<1x128xf16>, %v_new: tensor<1x128xf16>) -> tensor<1x128xf16> {
  // CHECK: %[[K:.*]] = kb.kv_append %{{.*}}, %{{.*}} : tensor<64x128xf16>, tensor<1x128xf16> -> tensor<65x128xf16>
  %k = kb.kv_append %k_cache, %k_new : tensor<64x128xf16>, tensor<1x128xf16> -> tensor<65x128xf16>
  // CHECK: %[[V:.*]] = kb.kv_append
  %v = kb.kv_append %v_cache, %v_new : tensor<64x128xf16>, tensor<1x128xf16> -> tensor<65x128xf16>
  // CHECK: kb.attention %{{.*}}, %[[K]], %[[V]] heads 4 kv_heads 4 : (tensor<1x128xf16>, tensor<65x128xf16>, tensor<65x128xf16>) -> tensor<1x128xf16>
  %o = kb.attention %q, %k, %v heads 4 kv_heads 4
      : (tensor<1x128xf16>, tensor<65x128xf16>, tensor<65x128xf16>) -> tensor<1x128xf16>
  return %o : tensor<1x128xf16>
}

// -----

// An empty cache (the first token) appends to zero rows.
// CHECK-LABEL: func.func @first_token
func.func @first_token(%cache: tensor<0x32xbf16>, %new: tensor<3x32xbf16>) -> tensor<3x32xbf16> {
  // CHECK: kb.kv_append %{{.*}}, %{{.*}} : tensor<0x32xbf16>, tensor<3x32xbf16> -> tensor<3x32xbf16>
  %0 = kb.kv_append %cache, %new : tensor<0x32xbf16>, tensor<3x32xbf16> -> tensor<3x32xbf16>
  return %0 : tensor<3x32xbf16>
}

// -----

// A norm's result may be placed apart from its input (each cube stages the
// whole rows its piece needs): printed after an arrow.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>
// CHECK-LABEL: func.func @norms_placed_apart
func.func @norms_placed_apart(%x: tensor<8x16xf16, #cols>, %w: tensor<16xf16>, %b: tensor<16xf16>)
    -> (tensor<8x16xf16, #rep>, tensor<8x16xf16, #rep>) {
  // CHECK: kb.rms_norm %{{.*}}, %{{.*}} : tensor<8x16xf16, #kb.dp<cube = shard(1), {{.*}}>>, tensor<16xf16> -> tensor<8x16xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>>
  %0 = kb.rms_norm %x, %w : tensor<8x16xf16, #cols>, tensor<16xf16> -> tensor<8x16xf16, #rep>
  // CHECK: kb.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x16xf16, #kb.dp<cube = shard(1), {{.*}}>>, tensor<16xf16>, tensor<16xf16> -> tensor<8x16xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>>
  %1 = kb.layer_norm %x, %w, %b : tensor<8x16xf16, #cols>, tensor<16xf16>, tensor<16xf16> -> tensor<8x16xf16, #rep>
  return %0, %1 : tensor<8x16xf16, #rep>, tensor<8x16xf16, #rep>
}
