// Every message of the verifiers of gemm_tile.attention_partial and
// gemm_tile.attention_combine (attention split over keys), and the shared
// PE-op checks as they name partial and out.
// RUN: kb-opt %s -split-input-file -verify-diagnostics

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_sizes(%q: !q, %k: !kv, %p: !p) {
  // expected-error@+1 {{'gemm_tile.attention_partial' op expects sizes [rows, keys, head_dim], got 2 sizes}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64] heads 2 position 255 key_begin 0 key_chunk 16 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_heads(%q: !q, %k: !kv, %p: !p) {
  // expected-error@+1 {{'gemm_tile.attention_partial' op expects a positive number of heads, got 0}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 0 position 255 key_begin 0 key_chunk 16 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_rows_outside(%q: !q, %k: !kv, %p: !p) {
  // Two heads of one row are two partial rows of head_dim + 2 = 10 floats:
  // from row 7 they leave the buffer.
  // expected-error@+1 {{'gemm_tile.attention_partial' op reads or writes partial[7 : 7 + 2] in dimension 0, outside its size 8}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [7, 0] sizes [1, 64, 8] heads 2 position 255 key_begin 0 key_chunk 16 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf16, #gemm_tile.cube<0>>

func.func @partial_not_f32(%q: !q, %k: !kv, %p: !p) {
  // expected-error@+1 {{'gemm_tile.attention_partial' op writes f32 partials (o, m, l), but partial holds 'f16'}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 255 key_begin 0 key_chunk 16 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!kb = memref<256x8xbf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_types(%q: !q, %k: !kv, %v: !kb, %p: !p) {
  // expected-error@+1 {{'gemm_tile.attention_partial' op expects one element type for q, k and v, got 'f16', 'f16' and 'bf16'}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %v [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 255 key_begin 0 key_chunk 16 : !q, !kv, !kb, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_keys_after_query(%q: !q, %k: !kv, %p: !p) {
  // The query at position 100 sees keys 0 to 100; keys 64 to 127 pass it.
  // expected-error@+1 {{'gemm_tile.attention_partial' op reads keys 64 to 127, but its query rows at positions 100 to 100 see keys 0 to 100}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [64, 0], %k [64, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 100 key_begin 64 key_chunk 16 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_negative_position(%q: !q, %k: !kv, %p: !p) {
  // expected-error@+1 {{'gemm_tile.attention_partial' op has its first query row at position -1; positions are >= 0}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position -1 key_begin 0 key_chunk 16 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_chunk(%q: !q, %k: !kv, %p: !p) {
  // expected-error@+1 {{'gemm_tile.attention_partial' op key_chunk must be in [1, 64], got 65}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 255 key_begin 0 key_chunk 65 : !q, !kv, !kv, !p
  return
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 2, pe_buffer_kib = 1>} {
  func.func @partial_buffer(%q: !q, %k: !kv, %p: !p) {
    // 2·(8·6 + 8) + 4·64·8·2 + 4·2·64 = 4720 bytes.
    // expected-error@+1 {{'gemm_tile.attention_partial' op needs 4720 bytes of PE buffer for 2 x 1 query rows of head_dim 8 with key_chunk 64, but a PE has 1024}}
    %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 255 key_begin 0 key_chunk 64 : !q, !kv, !kv, !p
    return
  }
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<1>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @partial_cubes(%q: !q, %k: !kv, %p: !p) {
    // expected-error@+1 {{'gemm_tile.attention_partial' op runs on a PE of cube 0 (where q is), but k is in cube 1}}
    %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 255 key_begin 0 key_chunk 16 : !q, !kv, !kv, !p
    return
  }
}

// -----

!p = memref<8x10xf32, #gemm_tile.cube<0>>
!o = memref<1x16xf16, #gemm_tile.cube<0>>

func.func @combine_sizes(%p: !p, %o: !o) {
  // expected-error@+1 {{'gemm_tile.attention_combine' op expects sizes [splits, rows, head_dim], got 4 sizes}}
  %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [4, 1, 8, 1] heads 2 : !p, !o
  return
}

// -----

!p = memref<8x10xf32, #gemm_tile.cube<0>>
!o = memref<1x16xf16, #gemm_tile.cube<0>>

func.func @combine_one_split(%p: !p, %o: !o) {
  // expected-error@+1 {{'gemm_tile.attention_combine' op combines 1 partials; a split needs at least 2}}
  %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [1, 1, 8] heads 2 : !p, !o
  return
}

// -----

!p = memref<8x10xf32, #gemm_tile.cube<0>>
!o = memref<1x16xf16, #gemm_tile.cube<0>>

func.func @combine_heads(%p: !p, %o: !o) {
  // expected-error@+1 {{'gemm_tile.attention_combine' op expects a positive number of heads, got -2}}
  %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [4, 1, 8] heads -2 : !p, !o
  return
}

// -----

!p = memref<8x10xf32, #gemm_tile.cube<0>>
!o = memref<1x16xf16, #gemm_tile.cube<0>>

func.func @combine_partials_outside(%p: !p, %o: !o) {
  // Five splits of two heads' rows are 10 partial rows; the buffer has 8.
  // expected-error@+1 {{'gemm_tile.attention_combine' op reads or writes partial[0 : 0 + 10] in dimension 0, outside its size 8}}
  %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [5, 1, 8] heads 2 : !p, !o
  return
}

// -----

!p = memref<8x12xf32, #gemm_tile.cube<0>>
!o = memref<1x16xf16, #gemm_tile.cube<0>>

func.func @combine_width(%p: !p, %o: !o) {
  // head_dim 8 needs 10 columns of each partial row from column 4: 14 > 12.
  // expected-error@+1 {{'gemm_tile.attention_combine' op reads or writes partial[4 : 4 + 10] in dimension 1, outside its size 12}}
  %t = gemm_tile.attention_combine pe 0 %p [0, 4] to %o [0, 0] sizes [4, 1, 8] heads 2 : !p, !o
  return
}

// -----

!p = memref<8x10xbf16, #gemm_tile.cube<0>>
!o = memref<1x16xbf16, #gemm_tile.cube<0>>

func.func @combine_not_f32(%p: !p, %o: !o) {
  // expected-error@+1 {{'gemm_tile.attention_combine' op reads f32 partials (o, m, l), but partial holds 'bf16'}}
  %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [4, 1, 8] heads 2 : !p, !o
  return
}

// -----

!p = memref<64x66xf32, #gemm_tile.cube<0>>
!o = memref<32x128xf16, #gemm_tile.cube<0>>

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 2, pe_buffer_kib = 1>} {
  func.func @combine_buffer(%p: !p, %o: !o) {
    // 2 heads x 16 rows, head_dim 64: 32 · 66 · 12 = 25344 bytes.
    // expected-error@+1 {{'gemm_tile.attention_combine' op needs 25344 bytes of PE buffer to combine 2 x 16 rows of head_dim 64, but a PE has 1024}}
    %t = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [2, 16, 64] heads 2 : !p, !o
    return
  }
}

// -----

!q = memref<1x16xf16, #gemm_tile.cube<0>>
!kv = memref<256x8xf16, #gemm_tile.cube<0>>
!p = memref<8x10xf32, #gemm_tile.cube<0>>

func.func @partial_key_begin_near_int64_max(%q: !q, %k: !kv, %p: !p) {
  // key_begin + keys would wrap around int64; the end saturates instead.
  // expected-error@+1 {{'gemm_tile.attention_partial' op reads keys 9223372036854775800 to 9223372036854775806, but its query rows at positions 0 to 0 see keys 0 to 0}}
  %t = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %k [0, 0] to %p [0, 0] sizes [1, 64, 8] heads 2 position 0 key_begin 9223372036854775800 key_chunk 16 : !q, !kv, !kv, !p
  return
}
