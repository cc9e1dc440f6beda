// RUN: kb-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// kb.matmul_all_reduce round-trips.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @fused
  // CHECK: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 4 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
  func.func @fused(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 4 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

// Uneven bands: one row count per chunk, summing to the rows; they need not
// divide them.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @uneven
  // CHECK: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 3 bands [4, 54, 2] : (tensor<60x32xf16>, tensor<32x16xf16>) -> tensor<60x16xf16>
  func.func @uneven(%a: tensor<60x32xf16>, %b: tensor<32x16xf16>) -> tensor<60x16xf16> {
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 3 bands [4, 54, 2] : (tensor<60x32xf16>, tensor<32x16xf16>) -> tensor<60x16xf16>
    return %y : tensor<60x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @band_count(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op has 3 band sizes for 4 chunks; give one size per chunk}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 4 bands [8, 48, 8] : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @empty_band(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op has band #1 of 0 rows; every band needs at least one row}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 3 bands [32, 0, 32] : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @negative_band(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    // expected-error @below {{has band #0 of -8 rows}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 2 bands [-8, 72] : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @bands_short(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op has bands of 56 rows in all for 64 rows; the band sizes must sum to the rows}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 3 bands [8, 40, 8] : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

// Sizes past the rows are refused before they are added up, so none
// overflows the sum.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @bands_over(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op has bands of more than its 64 rows; the band sizes must sum to the rows}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 2 bands [9223372036854775807, 9223372036854775807] : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @chunks_not_dividing(%a: tensor<6x32xf16>, %b: tensor<32x16xf16>) -> tensor<6x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op cuts 6 rows into 4 chunks; the chunk count must be positive and divide the rows}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 4 : (tensor<6x32xf16>, tensor<32x16xf16>) -> tensor<6x16xf16>
    return %y : tensor<6x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @zero_chunks(%a: tensor<8x32xf16>, %b: tensor<32x16xf16>) -> tensor<8x16xf16> {
    // expected-error @below {{cuts 8 rows into 0 chunks}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 0 : (tensor<8x32xf16>, tensor<32x16xf16>) -> tensor<8x16xf16>
    return %y : tensor<8x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @shapes(%a: tensor<8x32xf16>, %b: tensor<16x16xf16>) -> tensor<8x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 2 : (tensor<8x32xf16>, tensor<16x16xf16>) -> tensor<8x16xf16>
    return %y : tensor<8x16xf16>
  }
}

// -----

// A global-view module has no rank-local values to reduce.
module attributes {kb.world_size = 4 : i64} {
  func.func @global_view(%a: tensor<8x32xf16>, %b: tensor<32x16xf16>) -> tensor<8x16xf16> {
    // expected-error @below {{'kb.matmul_all_reduce' op}}
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 2 : (tensor<8x32xf16>, tensor<32x16xf16>) -> tensor<8x16xf16>
    return %y : tensor<8x16xf16>
  }
}
