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
