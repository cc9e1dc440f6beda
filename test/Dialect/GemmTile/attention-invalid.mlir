// Every message of gemm_tile.attention's verifier, and the shared PE-op
// checks as they name its q, k, v and out.
// RUN: kb-opt %s -split-input-file -verify-diagnostics

func.func @sizes(%a: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op expects sizes [rows, keys, head_dim], got 2 sizes}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 0] to %a [0, 0] sizes [4, 4] heads 1 position 0 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @heads(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op expects a positive number of heads, got 0}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 0 position 0 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @q_outside(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x16xf32, #gemm_tile.cube<0>>) {
  // Two heads of head_dim 8 need 16 columns of q.
  // expected-error@+1 {{'gemm_tile.attention' op reads or writes q[0 : 0 + 16] in dimension 1, outside its size 8}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 2 position 0 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x16xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @keys_outside(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op reads or writes k[0 : 0 + 5] in dimension 0, outside its size 4}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 5, 8] heads 1 position 1 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rank(%a: memref<32xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op expects 1 offsets and sizes for v, got 2 offsets and 2 sizes}}
  %t = gemm_tile.attention pe 0 %o [0, 0], %o [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 1 position 0 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<32xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @pe_range(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op runs on PE 8, but a cube has 8 PEs}}
  %t = gemm_tile.attention pe 8 %a [0, 0], %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 1 position 0 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @cross_cube(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %k: memref<4x8xf32, #gemm_tile.cube<2>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op runs on a PE of cube 0 (where q is), but k is in cube 2; a PE only reaches its own cube's memory (use gemm_tile.dma)}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %k [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 1 position 0 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<2>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @element_types(%a: memref<4x8xf16, #gemm_tile.cube<0>>, %v: memref<4x8xbf16, #gemm_tile.cube<0>>, %o: memref<4x8xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op expects one element type, got 'f16', 'f16', 'bf16' and 'f16' for q, k, v and out}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %v [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 1 position 0 key_chunk 4
      : memref<4x8xf16, #gemm_tile.cube<0>>, memref<4x8xf16, #gemm_tile.cube<0>>, memref<4x8xbf16, #gemm_tile.cube<0>>, memref<4x8xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @position_past_keys(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // Rows 2 and 3 at positions 3 and 4 would need 5 keys.
  // expected-error@+1 {{'gemm_tile.attention' op has query rows at positions 3 to 3 + 2 - 1, but reads keys 0 to 3}}
  %t = gemm_tile.attention pe 0 %a [2, 0], %a [0, 0], %a [0, 0] to %o [2, 0] sizes [2, 4, 8] heads 1 position 3 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @negative_position(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op has query rows at positions -1 to -1 + 2 - 1, but reads keys 0 to 3}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 0] to %o [0, 0] sizes [2, 4, 8] heads 1 position -1 key_chunk 4
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @key_chunk(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %o: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.attention' op key_chunk must be in [1, 4], got 5}}
  %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 8] heads 1 position 0 key_chunk 5
      : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

// A 1 KiB PE buffer holds 8 f32 query rows of head_dim 8 (8 x (8 x 8 + 8) =
// 576 bytes) with a chunk of 4 keys (4 x 8 x 16 + 8 x 4 x 4 = 640 more) no more.
module attributes {gemm_tile.device = #gemm_tile.device<pe_buffer_kib = 1>} {
  func.func @working_set(%a: memref<8x16xf32, #gemm_tile.cube<0>>, %o: memref<8x16xf32, #gemm_tile.cube<0>>) {
    // expected-error@+1 {{'gemm_tile.attention' op needs 1216 bytes of PE buffer for 2 x 4 query rows of head_dim 8 with key_chunk 4, but a PE has 1024}}
    %t = gemm_tile.attention pe 0 %a [0, 0], %a [0, 0], %a [0, 8] to %o [0, 0] sizes [4, 8, 8] heads 2 position 4 key_chunk 4
        : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    return
  }
}
