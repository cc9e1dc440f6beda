// RUN: kb-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// kb.all_gather_matmul round-trips, with one weight and with several.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @fused
  // CHECK: kb.all_gather_matmul %{{.*}}, %{{.*}} along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
  // CHECK: kb.all_gather_matmul %{{.*}}, %{{.*}}, %{{.*}} along 0 chunks 4 : (tensor<16x32xf16>, tensor<32x8xf16>, tensor<32x16xf16>) -> (tensor<64x8xf16>, tensor<64x16xf16>)
  func.func @fused(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>, %b: tensor<32x16xf16>) -> (tensor<64x8xf16>, tensor<64x8xf16>, tensor<64x16xf16>) {
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    %p, %q = kb.all_gather_matmul %x, %a, %b along 0 chunks 4 : (tensor<16x32xf16>, tensor<32x8xf16>, tensor<32x16xf16>) -> (tensor<64x8xf16>, tensor<64x16xf16>)
    return %y, %p, %q : tensor<64x8xf16>, tensor<64x8xf16>, tensor<64x16xf16>
  }
}

// -----

// Each rank's rows (16) must divide into the chunks.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @chunks_not_dividing(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>) -> tensor<64x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op cuts each rank's 16 rows into 3 chunks; the chunk count must be positive and divide them}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 3 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @zero_chunks(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>) -> tensor<64x8xf16> {
    // expected-error @below {{into 0 chunks}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 0 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}

// -----

// Only along the rows: a chunk is then W runs of whole rows.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @along_columns(%x: tensor<16x32xf16>, %a: tensor<128x8xf16>) -> tensor<16x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op gathers along dimension 1; only along 0 (the rows, as sequence parallelism splits the tokens) is supported}}
    %y = kb.all_gather_matmul %x, %a along 1 chunks 2 : (tensor<16x32xf16>, tensor<128x8xf16>) -> tensor<16x8xf16>
    return %y : tensor<16x8xf16>
  }
}

// -----

// One result per weight.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @results_per_weight(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>) -> tensor<64x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op multiplies the gathered rows by 2 weights into 1 results; it needs one result per weight, and at least one}}
    %y = kb.all_gather_matmul %x, %a, %a along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @no_weight(%x: tensor<16x32xf16>) {
    // expected-error @below {{'kb.all_gather_matmul' op multiplies the gathered rows by 0 weights into 0 results}}
    kb.all_gather_matmul %x, along 0 chunks 2 : (tensor<16x32xf16>) -> ()
    return
  }
}

// -----

// A result holds every rank's rows.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @rank_rows(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>) -> tensor<16x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op expects result #0 of 64x8 (the 4 ranks' 16 rows), got 16x8}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<16x8xf16>
    return %y : tensor<16x8xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @contraction(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>, %b: tensor<16x8xf16>) -> (tensor<64x8xf16>, tensor<64x8xf16>) {
    // expected-error @below {{'kb.all_gather_matmul' op contracts input dimension 1 (size 32) with rhs #1 dimension 0 (size 16); they must be equal}}
    %y, %z = kb.all_gather_matmul %x, %a, %b along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>, tensor<16x8xf16>) -> (tensor<64x8xf16>, tensor<64x8xf16>)
    return %y, %z : tensor<64x8xf16>, tensor<64x8xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @element_types(%x: tensor<16x32xf16>, %a: tensor<32x8xf32>) -> tensor<64x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op expects one element type, but input has 'f16' and rhs #0 has 'f32'}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf32>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @rank_three(%x: tensor<16x32x2xf16>, %a: tensor<32x8xf16>) -> tensor<64x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op expects input of rank 2, got 'tensor<16x32x2xf16>'}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<16x32x2xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}

// -----

// A global-view module has no rank-local rows to gather.
module attributes {kb.world_size = 4 : i64} {
  func.func @global_view(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>) -> tensor<64x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}

// -----

module attributes {kb.spmd} {
  func.func @no_world_size(%x: tensor<16x32xf16>, %a: tensor<32x8xf16>) -> tensor<64x8xf16> {
    // expected-error @below {{'kb.all_gather_matmul' op needs the TP world size}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<16x32xf16>, tensor<32x8xf16>) -> tensor<64x8xf16>
    return %y : tensor<64x8xf16>
  }
}
