// RUN: kb-opt %s -kb-tp-partition -split-input-file -verify-diagnostics | FileCheck %s

// Column-parallel: the rank's column slice of weight and bias, a local gemm,
// no collective; the result stays split on its columns.

// CHECK: module attributes {kb.spmd, kb.world_size = 4 : i64}
module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @column
  // CHECK-SAME: (%[[X:.*]]: tensor<8x16xf16>, %[[W:.*]]: tensor<16x16xf16> {kb.split_dim = 1 : i64}, %[[B:.*]]: tensor<16xf16> {kb.split_dim = 0 : i64})
  // CHECK-SAME: -> (tensor<8x16xf16> {kb.split_dim = 1 : i64})
  // CHECK-NEXT: %[[Y:.*]] = kb.matmul %[[X]], %[[W]] : (tensor<8x16xf16>, tensor<16x16xf16>) -> tensor<8x16xf16>
  // CHECK-NEXT: %[[YB:.*]] = kb.add %[[Y]], %[[B]] : tensor<8x16xf16>, tensor<16xf16>
  // CHECK-NOT: kb.all_reduce
  // CHECK-NEXT: return %[[YB]]
  func.func @column(%x: tensor<8x16xf16>, %w: tensor<16x64xf16>, %b: tensor<64xf16>) -> tensor<8x64xf16> {
    %y = kb.column_parallel_linear %x, %w bias %b : (tensor<8x16xf16>, tensor<16x64xf16>, tensor<64xf16>) -> tensor<8x64xf16>
    return %y : tensor<8x64xf16>
  }
}

// -----

// Row-parallel: the rank's rows of the weight and columns of the input, a
// local gemm, all_reduce(sum), then the bias once.

module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @row
  // CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32> {kb.split_dim = 1 : i64}, %[[W:.*]]: tensor<16x8xf32> {kb.split_dim = 0 : i64}, %[[B:.*]]: tensor<8xf32>)
  // CHECK-SAME: -> tensor<8x8xf32>
  // CHECK-NEXT: %[[P:.*]] = kb.matmul %[[X]], %[[W]] : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  // CHECK-NEXT: %[[R:.*]] = kb.all_reduce <sum> %[[P]] : tensor<8x8xf32>
  // CHECK-NEXT: %[[Y:.*]] = kb.add %[[R]], %[[B]] : tensor<8x8xf32>, tensor<8xf32>
  // CHECK-NEXT: return %[[Y]]
  func.func @row(%x: tensor<8x64xf32>, %w: tensor<64x8xf32>, %b: tensor<8xf32>) -> tensor<8x8xf32> {
    %y = kb.row_parallel_linear %x, %w bias %b : (tensor<8x64xf32>, tensor<64x8xf32>, tensor<8xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
}

// -----

// The seed's block: the column output feeds the row input through gelu
// without any slice or gather; one all_reduce in total.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @mlp
  // CHECK-NOT: kb.tp_slice
  // CHECK: kb.matmul
  // CHECK: kb.gelu %{{.*}} : tensor<4x32xbf16>
  // CHECK: kb.matmul
  // CHECK: kb.all_reduce <sum>
  // CHECK-NOT: kb.all_reduce
  func.func @mlp(%x: tensor<4x16xbf16>, %w1: tensor<16x64xbf16>, %w2: tensor<64x16xbf16>) -> tensor<4x16xbf16> {
    %h = kb.column_parallel_linear %x, %w1 : (tensor<4x16xbf16>, tensor<16x64xbf16>) -> tensor<4x64xbf16>
    %g = kb.gelu %h : tensor<4x64xbf16>
    %y = kb.row_parallel_linear %g, %w2 : (tensor<4x64xbf16>, tensor<64x16xbf16>) -> tensor<4x16xbf16>
    return %y : tensor<4x16xbf16>
  }
}

// -----

// An argument used both replicated and split stays replicated; where it is
// needed split, the rank takes its slice: rank-generic, no W copies.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @shared_input
  // CHECK-SAME: (%[[X:[^:]*]]: tensor<4x8xf32>,
  // CHECK: %[[RANK:.*]] = kb.tp_rank : index
  // CHECK: %[[S:.*]] = kb.tp_slice %[[X]][%[[RANK]]] along 1 : tensor<4x8xf32> -> tensor<4x4xf32>
  // CHECK: kb.matmul %[[S]],
  func.func @shared_input(%x: tensor<4x8xf32>, %w1: tensor<8x4xf32>, %w2: tensor<8x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
    %a = kb.column_parallel_linear %x, %w1 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    %b = kb.row_parallel_linear %x, %w2 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    return %a, %b : tensor<4x4xf32>, tensor<4x4xf32>
  }
}

// -----

// W = 1: the program keeps its shapes; the all_reduce is left for the
// canonicalizer to fold.

module attributes {kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @single_rank
  // CHECK-SAME: (%{{.*}}: tensor<4x8xf32> {kb.split_dim = 1 : i64}, %{{.*}}: tensor<8x4xf32> {kb.split_dim = 0 : i64}) -> tensor<4x4xf32>
  // CHECK: kb.all_reduce <sum> %{{.*}} : tensor<4x4xf32>
  func.func @single_rank(%x: tensor<4x8xf32>, %w: tensor<8x4xf32>) -> tensor<4x4xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}

// -----

// DPPolicies survive partitioning, checked against the local shape.

#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @policy_kept
  // CHECK-SAME: tensor<16x32xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>> {kb.split_dim = 1 : i64}
  func.func @policy_kept(%x: tensor<8x16xf16>, %w: tensor<16x64xf16, #cols>) -> tensor<8x64xf16> {
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x64xf16, #cols>) -> tensor<8x64xf16>
    return %y : tensor<8x64xf16>
  }
}

// -----

// A partitioned module is left as it is.

// CHECK: module attributes {kb.spmd, kb.world_size = 2 : i64}
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @already
  // CHECK-NEXT: kb.all_reduce <sum>
  func.func @already(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
    %y = kb.all_reduce <sum> %x : tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}

// -----

// expected-error@+1 {{kb-tp-partition needs the TP world size: add 'kb.world_size' to the module}}
module {
  func.func @no_world(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
    return %x : tensor<4x4xf32>
  }
}

// -----

#narrow = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 32, num_pes = 1>
module attributes {kb.world_size = 4 : i64} {
  // The global 64 columns divide by 32 cubes, the rank's 16 do not.
  // expected-error@+1 {{argument 1 of 'policy_local_shape' rank-local tensor 'tensor<16x16xf16>': DPPolicy cube shard of dimension 1 (size 16) does not divide by num_cubes (32)}}
  func.func @policy_local_shape(%x: tensor<8x16xf16>, %w: tensor<16x64xf16, #narrow>) -> tensor<8x64xf16> {
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x64xf16, #narrow>) -> tensor<8x64xf16>
    return %y : tensor<8x64xf16>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @needs_gather(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %v: tensor<8x4xf32>) -> tensor<4x4xf32> {
    %h = kb.column_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    // expected-error@+1 {{needs its operand replicated, but it is split along dimension 1; that needs an all_gather, which kb does not support yet}}
    %y = kb.matmul %h, %v : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @unsupported(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    // expected-error@+1 {{'tensor.empty' op is not supported by kb-tp-partition}}
    %e = tensor.empty() : tensor<4x8xf32>
    return %e : tensor<4x8xf32>
  }
}
