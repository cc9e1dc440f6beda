// RUN: kb-opt %s -split-input-file -verify-diagnostics

// Every message of the row ops' verifiers.

func.func @norm_sizes(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects sizes [rows, cols], got 1 sizes}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [4] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_not_whole_rows(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{normalizes columns [4, 8) of input rows of 8 columns; a PE normalizes whole rows}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 4], %w to %x [0, 0] sizes [4, 4] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_out_not_whole_rows(%x: memref<4x4xf32, #gemm_tile.cube<0>>, %w: memref<4xf32, #gemm_tile.cube<0>>, %y: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{normalizes columns [0, 4) of out rows of 8 columns; a PE normalizes whole rows}}
  %t = gemm_tile.layer_norm pe 0 %x [0, 0], %w, %w to %y [0, 0] sizes [4, 4] eps 1.0e-5 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4xf32, #gemm_tile.cube<0>>, memref<4xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_weight_length(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<16xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects weight of 8 elements (one per column of a row), got 16}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [4, 8] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<16xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_short_weight(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<6xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads or writes weight[0 : 0 + 8] in dimension 0, outside its size 6}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [4, 8] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<6xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_bias_length(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<8xf32, #gemm_tile.cube<0>>, %b: memref<9xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects bias of 8 elements (one per column of a row), got 9}}
  %t = gemm_tile.layer_norm pe 0 %x [0, 0], %w, %b to %x [0, 0] sizes [4, 8] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8xf32, #gemm_tile.cube<0>>, memref<9xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_eps(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects a positive eps, got 0}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [4, 8] eps 0.0 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_element_types(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<8xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects one element type, got 'f32', 'f16' and 'f32'}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [4, 8] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8xf16, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @norm_cross_cube(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %w: memref<8xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{runs on a PE of cube 0 (where input is), but weight is in cube 1; a PE only reaches its own cube's memory (use gemm_tile.dma)}}
  %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [4, 8] eps 1.0e-5 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8xf32, #gemm_tile.cube<1>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rope_sizes(%x: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects sizes [rows, cols], got 3 sizes}}
  %t = gemm_tile.rope pe 0 %x [0, 0] to %x [0, 0] sizes [4, 8, 1] head_dim 8 position 0 theta 1.0e4 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rope_not_whole_heads(%x: memref<4x16xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{rotates 12 columns, which are not whole heads of head_dim 8}}
  %t = gemm_tile.rope pe 0 %x [0, 0] to %x [0, 0] sizes [4, 12] head_dim 8 position 0 theta 1.0e4 : memref<4x16xf32, #gemm_tile.cube<0>>, memref<4x16xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rope_odd_head_dim(%x: memref<4x9xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects a positive, even head_dim, got 3}}
  %t = gemm_tile.rope pe 0 %x [0, 0] to %x [0, 0] sizes [4, 9] head_dim 3 position 0 theta 1.0e4 : memref<4x9xf32, #gemm_tile.cube<0>>, memref<4x9xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rope_position(%x: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects a non-negative position, got -1}}
  %t = gemm_tile.rope pe 0 %x [0, 0] to %x [0, 0] sizes [4, 8] head_dim 8 position -1 theta 1.0e4 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rope_theta(%x: memref<4x8xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects a positive theta, got -1}}
  %t = gemm_tile.rope pe 0 %x [0, 0] to %x [0, 0] sizes [4, 8] head_dim 8 position 0 theta -1.0 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @rope_element_types(%x: memref<4x8xf32, #gemm_tile.cube<0>>, %y: memref<4x8xbf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads 'f32' and writes 'bf16'; they must match}}
  %t = gemm_tile.rope pe 0 %x [0, 0] to %y [0, 0] sizes [4, 8] head_dim 8 position 0 theta 1.0e4 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xbf16, #gemm_tile.cube<0>>
  return
}

// -----

// A PE holds a whole row, its result and the weight: 3 · 256 f32 = 3072 bytes.
module attributes {gemm_tile.device = #gemm_tile.device<pe_buffer_kib = 2>} {
  func.func @norm_row_too_long(%x: memref<2x256xf32, #gemm_tile.cube<0>>, %w: memref<256xf32, #gemm_tile.cube<0>>) {
    // expected-error@+1 {{needs 3072 bytes of PE buffer for a row of 256 columns (the row, its result and 1 vector), but a PE has 2048}}
    %t = gemm_tile.rms_norm pe 0 %x [0, 0], %w to %x [0, 0] sizes [2, 256] eps 1.0e-5 : memref<2x256xf32, #gemm_tile.cube<0>>, memref<256xf32, #gemm_tile.cube<0>>, memref<2x256xf32, #gemm_tile.cube<0>>
    return
  }
}
