// RUN: kb-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// kb.matmul_reduce_scatter round-trips, with and without the placement its
// chunks are computed in.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @fused
  // CHECK: kb.matmul_reduce_scatter <sum> %{{.*}}, %{{.*}} along 0 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
  // CHECK: kb.matmul_reduce_scatter <max> %{{.*}}, %{{.*}} along 0 chunks 4 {compute = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>}
  func.func @fused(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> (tensor<16x16xf16>, tensor<16x16xf16>) {
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    %z = kb.matmul_reduce_scatter <max> %a, %b along 0 chunks 4 {compute = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>} : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    return %y, %z : tensor<16x16xf16>, tensor<16x16xf16>
  }
}

// -----

// Each rank's slice (64 / 4 = 16 rows) must divide into the chunks.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @chunks_not_dividing(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<16x16xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op cuts each of the 4 ranks' slices of 64 rows into 3 chunks; the chunk count must be positive and TP world size times it must divide the rows}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 3 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    return %y : tensor<16x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @zero_chunks(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<16x16xf16> {
    // expected-error @below {{into 0 chunks}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 0 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    return %y : tensor<16x16xf16>
  }
}

// -----

// Only along the rows: a chunk is then W runs of whole rows.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @along_columns(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x4xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op reduce-scatters along dimension 1; only along 0 (the rows, as sequence parallelism splits the tokens) is supported}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 1 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x4xf16>
    return %y : tensor<64x4xf16>
  }
}

// -----

// The result is the rank's 1/W of the rows.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @whole_result(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<64x16xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op expects a 16x16 result (1/4 of the 64 rows), got 64x16}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    return %y : tensor<64x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @contraction(%a: tensor<64x32xf16>, %b: tensor<16x16xf16>) -> tensor<16x16xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op contracts lhs dimension 1 (size 32) with rhs dimension 0 (size 16); they must be equal}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2 : (tensor<64x32xf16>, tensor<16x16xf16>) -> tensor<16x16xf16>
    return %y : tensor<16x16xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @element_types(%a: tensor<64x32xf16>, %b: tensor<32x16xf32>) -> tensor<16x16xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op expects one element type, but lhs has 'f16' and rhs has 'f32'}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf32>) -> tensor<16x16xf16>
    return %y : tensor<16x16xf16>
  }
}

// -----

// A global-view module has no rank-local values to reduce.
module attributes {kb.world_size = 4 : i64} {
  func.func @global_view(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<16x16xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    return %y : tensor<16x16xf16>
  }
}

// -----

module attributes {kb.spmd} {
  func.func @no_world_size(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>) -> tensor<16x16xf16> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op needs the TP world size}}
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2 : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    return %y : tensor<16x16xf16>
  }
}
