// RUN: kb-opt %s -kb-tp-partition -split-input-file -verify-diagnostics | FileCheck %s

// Megatron's sequence parallelism: the biased row-parallel layer
// reduce-scatters its partial sum along the tokens and adds the bias to its
// rows; the residual add runs on the rank's rows (the replicated input is
// sliced, no traffic); the next column-parallel layer all-gathers the rows;
// the unbiased row-parallel sum reaching the second residual is
// reduce-scattered too, and the result stays split along the tokens.

// CHECK: module attributes {kb.sequence_parallel, kb.spmd, kb.world_size = 4 : i64}
module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  // CHECK-LABEL: func.func @two_mlps
  // CHECK-SAME: -> (tensor<4x32xf16> {kb.split_dim = 0 : i64})
  // CHECK-NOT: kb.all_reduce
  // CHECK: %[[P1:.*]] = kb.matmul %{{.*}} -> tensor<16x32xf16>
  // CHECK: %[[S1:.*]] = kb.reduce_scatter <sum> %[[P1]] along 0 : tensor<16x32xf16> -> tensor<4x32xf16>
  // CHECK: %[[Y1:.*]] = kb.add %[[S1]], %{{.*}} : tensor<4x32xf16>, tensor<32xf16>
  // CHECK: %[[X:.*]] = kb.tp_slice %{{.*}} along 0 : tensor<16x32xf16> -> tensor<4x32xf16>
  // CHECK: %[[R1:.*]] = kb.add %[[Y1]], %[[X]] : tensor<4x32xf16>, tensor<4x32xf16>
  // CHECK: %[[G:.*]] = kb.all_gather %[[R1]] along 0 : tensor<4x32xf16> -> tensor<16x32xf16>
  // CHECK: kb.matmul %[[G]]
  // CHECK: %[[P2:.*]] = kb.matmul %{{.*}} -> tensor<16x32xf16>
  // CHECK: %[[S2:.*]] = kb.reduce_scatter <sum> %[[P2]] along 0 : tensor<16x32xf16> -> tensor<4x32xf16>
  // CHECK: %[[R2:.*]] = kb.add %[[S2]], %[[R1]] : tensor<4x32xf16>, tensor<4x32xf16>
  // CHECK-NOT: kb.all_reduce
  // CHECK: return %[[R2]]
  func.func @two_mlps(%x: tensor<16x32xf16>, %w1: tensor<32x64xf16>, %b1: tensor<64xf16>, %w2: tensor<64x32xf16>, %b2: tensor<32xf16>, %w3: tensor<32x64xf16>, %b3: tensor<64xf16>, %w4: tensor<64x32xf16>) -> tensor<16x32xf16> {
    %h1 = kb.column_parallel_linear %x, %w1 bias %b1 : (tensor<16x32xf16>, tensor<32x64xf16>, tensor<64xf16>) -> tensor<16x64xf16>
    %g1 = kb.gelu %h1 : tensor<16x64xf16>
    %y1 = kb.row_parallel_linear %g1, %w2 bias %b2 : (tensor<16x64xf16>, tensor<64x32xf16>, tensor<32xf16>) -> tensor<16x32xf16>
    %r1 = kb.add %y1, %x : tensor<16x32xf16>, tensor<16x32xf16>
    %h2 = kb.column_parallel_linear %r1, %w3 bias %b3 : (tensor<16x32xf16>, tensor<32x64xf16>, tensor<64xf16>) -> tensor<16x64xf16>
    %g2 = kb.gelu %h2 : tensor<16x64xf16>
    %y2 = kb.row_parallel_linear %g2, %w4 : (tensor<16x64xf16>, tensor<64x32xf16>) -> tensor<16x32xf16>
    %r2 = kb.add %y2, %r1 : tensor<16x32xf16>, tensor<16x32xf16>
    return %r2 : tensor<16x32xf16>
  }
}

// -----

// A layer's input that only a norm and the residual add read arrives split
// along the tokens, as the layer before leaves it: the norm runs on the
// rank's rows and the column-parallel layer all-gathers them, so a layer
// makes two all-gathers and two reduce-scatters. The norm's weight (rank 1)
// and an input a gemm reads whole stay replicated.

module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  // CHECK-LABEL: func.func @pre_norm_block
  // CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32> {kb.split_dim = 0 : i64}, %[[G:.*]]: tensor<32xf32>,
  // CHECK-SAME: -> (tensor<4x32xf32> {kb.split_dim = 0 : i64})
  // CHECK: %[[N:.*]] = kb.rms_norm %[[X]], %[[G]] : tensor<4x32xf32>, tensor<32xf32>
  // CHECK: %[[A:.*]] = kb.all_gather %[[N]] along 0 : tensor<4x32xf32> -> tensor<16x32xf32>
  // CHECK: kb.matmul %[[A]]
  // CHECK: %[[P:.*]] = kb.matmul
  // CHECK: %[[S:.*]] = kb.reduce_scatter <sum> %[[P]] along 0 : tensor<16x32xf32> -> tensor<4x32xf32>
  // CHECK: kb.add %[[S]], %[[X]] : tensor<4x32xf32>, tensor<4x32xf32>
  // CHECK-NOT: kb.tp_slice
  // CHECK-NOT: kb.all_reduce
  func.func @pre_norm_block(%x: tensor<16x32xf32>, %g: tensor<32xf32>, %w1: tensor<32x64xf32>, %w2: tensor<64x32xf32>) -> tensor<16x32xf32> {
    %n = kb.rms_norm %x, %g : tensor<16x32xf32>, tensor<32xf32>
    %h = kb.column_parallel_linear %n, %w1 : (tensor<16x32xf32>, tensor<32x64xf32>) -> tensor<16x64xf32>
    %y = kb.row_parallel_linear %h, %w2 : (tensor<16x64xf32>, tensor<64x32xf32>) -> tensor<16x32xf32>
    %r = kb.add %y, %x : tensor<16x32xf32>, tensor<16x32xf32>
    return %r : tensor<16x32xf32>
  }
}

// -----

// A norm reads the reduce-scattered rows: it works on whole rows, which
// each rank holds.

module attributes {kb.world_size = 2 : i64, kb.sequence_parallel} {
  // CHECK-LABEL: func.func @norm_on_tokens
  // CHECK: %[[S:.*]] = kb.reduce_scatter <sum> %{{.*}} along 0 : tensor<4x8xf32> -> tensor<2x8xf32>
  // CHECK: kb.rms_norm %[[S]]
  // CHECK-NOT: kb.all_reduce
  func.func @norm_on_tokens(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %n = kb.rms_norm %y, %g : tensor<4x8xf32>, tensor<8xf32>
    return %n : tensor<4x8xf32>
  }
}

// -----

// Token counts that W does not divide are refused, naming both numbers.

module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  func.func @biased_tokens(%x: tensor<9x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<9x8xf32> {
    // expected-error@+1 {{'kb.row_parallel_linear' op has 9 tokens, which sequence parallelism ('kb.sequence_parallel') splits over TP world size 4; it does not divide them}}
    %y = kb.row_parallel_linear %x, %w bias %b : (tensor<9x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<9x8xf32>
    return %y : tensor<9x8xf32>
  }
}

// -----

module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  func.func @partial_tokens(%x: tensor<9x8xf32>, %w: tensor<8x8xf32>) -> tensor<9x8xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<9x8xf32>, tensor<8x8xf32>) -> tensor<9x8xf32>
    // expected-error@+1 {{'kb.gelu' op reads a partial sum of 9 tokens (dimension 0 of 'tensor<9x8xf32>'), which sequence parallelism ('kb.sequence_parallel') splits over TP world size 4; it does not divide them}}
    %g = kb.gelu %y : tensor<9x8xf32>
    return %g : tensor<9x8xf32>
  }
}

// -----

// expected-error@+1 {{'kb.sequence_parallel' must be a unit attribute on a builtin.module}}
module attributes {kb.world_size = 2 : i64, kb.sequence_parallel = 1 : i64} {
}
