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

// A split(1) value times a replicated weight contracts a split dimension:
// the weight is sliced on its rows and each rank's product is a partial sum,
// reduced once where the result must be whole (here: the return).

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @column_then_matmul
  // CHECK-SAME: %[[V:[^:]*]]: tensor<8x4xf32>)
  // CHECK: %[[H:.*]] = kb.matmul
  // CHECK: %[[VS:.*]] = kb.tp_slice %[[V]][%{{.*}}] along 0 : tensor<8x4xf32> -> tensor<4x4xf32>
  // CHECK-NEXT: %[[P:.*]] = kb.matmul %[[H]], %[[VS]] : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  // CHECK-NEXT: %[[R:.*]] = kb.all_reduce <sum> %[[P]]
  // CHECK-NEXT: return %[[R]]
  func.func @column_then_matmul(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %v: tensor<8x4xf32>) -> tensor<4x4xf32> {
    %h = kb.column_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %y = kb.matmul %h, %v : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}

// -----

// A partial sum reaching a non-linear op is reduced before it, never
// computed on: row-parallel (no bias) -> gelu.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @partial_into_gelu
  // CHECK: %[[P:.*]] = kb.matmul
  // CHECK-NEXT: %[[R:.*]] = kb.all_reduce <sum> %[[P]] : tensor<4x4xf32>
  // CHECK-NEXT: %[[G:.*]] = kb.gelu %[[R]] : tensor<4x4xf32>
  // CHECK-NEXT: %[[S:.*]] = kb.silu %[[R]] : tensor<4x4xf32>
  // CHECK-NOT: kb.all_reduce
  // CHECK: return %[[G]], %[[S]]
  func.func @partial_into_gelu(%x: tensor<4x8xf32>, %w: tensor<8x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
    %y = kb.row_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    %g = kb.gelu %y : tensor<4x4xf32>
    %s = kb.silu %y : tensor<4x4xf32>
    return %g, %s : tensor<4x4xf32>, tensor<4x4xf32>
  }
}

// -----

// Linear ops keep partial sums partial: the sum of two row-parallel outputs,
// and a scale of it, cost one all_reduce, not two.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @partials_stay_partial
  // CHECK: %[[A:.*]] = kb.matmul
  // CHECK: %[[B:.*]] = kb.matmul
  // CHECK-NEXT: %[[S:.*]] = kb.add %[[A]], %[[B]]
  // CHECK-NEXT: %[[T:.*]] = kb.scale %[[S]] by 5.000000e-01
  // CHECK-NEXT: %[[R:.*]] = kb.all_reduce <sum> %[[T]]
  // CHECK-NEXT: return %[[R]]
  func.func @partials_stay_partial(%x: tensor<4x8xf32>, %w1: tensor<8x4xf32>, %w2: tensor<8x4xf32>) -> tensor<4x4xf32> {
    %a = kb.row_parallel_linear %x, %w1 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    %b = kb.row_parallel_linear %x, %w2 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    %s = kb.add %a, %b : tensor<4x4xf32>, tensor<4x4xf32>
    %t = kb.scale %s by 0.5 : tensor<4x4xf32>
    return %t : tensor<4x4xf32>
  }
}

// -----

// A partial sum plus a replicated residual: the partial is reduced first
// (adding the residual on every rank would count it W times); a partial
// times a replicated tensor stays partial.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @partial_and_replicated
  // CHECK-SAME: (%[[X:[^:]*]]: tensor<4x8xf32>
  // CHECK: %[[P:.*]] = kb.matmul
  // CHECK-NEXT: %[[M:.*]] = kb.mul %[[P]], %[[X]]
  // CHECK-NEXT: %[[RM:.*]] = kb.all_reduce <sum> %[[M]]
  // CHECK-NEXT: %[[A:.*]] = kb.add %[[RM]], %[[X]]
  // CHECK-NEXT: return %[[A]]
  func.func @partial_and_replicated(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %m = kb.mul %y, %x : tensor<4x8xf32>, tensor<4x8xf32>
    %a = kb.add %m, %x : tensor<4x8xf32>, tensor<4x8xf32>
    return %a : tensor<4x8xf32>
  }
}

// -----

// Llama's SwiGLU: gate and up column-parallel, silu and the product on each
// rank's columns, down row-parallel; one all_reduce, no slice.

module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @swiglu
  // CHECK-NOT: kb.tp_slice
  // CHECK: %[[G:.*]] = kb.matmul %{{.*}} -> tensor<8x16xf16>
  // CHECK: %[[U:.*]] = kb.matmul %{{.*}} -> tensor<8x16xf16>
  // CHECK: %[[S:.*]] = kb.silu %[[G]] : tensor<8x16xf16>
  // CHECK: %[[H:.*]] = kb.mul %[[S]], %[[U]] : tensor<8x16xf16>, tensor<8x16xf16>
  // CHECK: %[[D:.*]] = kb.matmul %[[H]]
  // CHECK: kb.all_reduce <sum> %[[D]]
  // CHECK-NOT: kb.all_reduce
  func.func @swiglu(%x: tensor<8x32xf16>, %wg: tensor<32x64xf16>, %wu: tensor<32x64xf16>, %wd: tensor<64x32xf16>) -> tensor<8x32xf16> {
    %g = kb.column_parallel_linear %x, %wg : (tensor<8x32xf16>, tensor<32x64xf16>) -> tensor<8x64xf16>
    %u = kb.column_parallel_linear %x, %wu : (tensor<8x32xf16>, tensor<32x64xf16>) -> tensor<8x64xf16>
    %s = kb.silu %g : tensor<8x64xf16>
    %h = kb.mul %s, %u : tensor<8x64xf16>, tensor<8x64xf16>
    %y = kb.row_parallel_linear %h, %wd : (tensor<8x64xf16>, tensor<64x32xf16>) -> tensor<8x32xf16>
    return %y : tensor<8x32xf16>
  }
}

// -----

// column -> gelu -> column: the second layer needs its input replicated, the
// first left it split(1); an all_gather along 1 brings it together.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @column_gelu_column
  // CHECK: %[[H:.*]] = kb.matmul %{{.*}} -> tensor<4x4xf32>
  // CHECK: %[[G:.*]] = kb.gelu %[[H]] : tensor<4x4xf32>
  // CHECK: %[[A:.*]] = kb.all_gather %[[G]] along 1 : tensor<4x4xf32> -> tensor<4x8xf32>
  // CHECK: kb.matmul %[[A]], %{{.*}} : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  func.func @column_gelu_column(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %v: tensor<8x4xf32>) -> tensor<4x4xf32> {
    %h = kb.column_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %g = kb.gelu %h : tensor<4x8xf32>
    %y = kb.column_parallel_linear %g, %v : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}

// -----

// Megatron's sequence-parallel pair in the global view: a row-parallel
// partial sum reduce-scattered along tokens (half an all-reduce's bytes),
// then gathered back. Both ops are identities on the logical tensor; the
// partitioner makes the collectives from the layouts they ask for.

module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @reduce_scatter_then_all_gather
  // CHECK-SAME: -> tensor<8x16xf32>
  // CHECK: %[[P:.*]] = kb.matmul
  // CHECK-NOT: kb.all_reduce
  // CHECK: %[[S:.*]] = kb.reduce_scatter <sum> %[[P]] along 0 : tensor<8x16xf32> -> tensor<2x16xf32>
  // CHECK: %[[N:.*]] = kb.gelu %[[S]] : tensor<2x16xf32>
  // CHECK: %[[G:.*]] = kb.all_gather %[[N]] along 0 : tensor<2x16xf32> -> tensor<8x16xf32>
  // CHECK: return %[[G]]
  func.func @reduce_scatter_then_all_gather(%x: tensor<8x32xf32>, %w: tensor<32x16xf32>) -> tensor<8x16xf32> {
    %p = kb.row_parallel_linear %x, %w : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
    %s = kb.reduce_scatter <sum> %p along 0 : tensor<8x16xf32> -> tensor<8x16xf32>
    %n = kb.gelu %s : tensor<8x16xf32>
    %g = kb.all_gather %n along 0 : tensor<8x16xf32> -> tensor<8x16xf32>
    return %g : tensor<8x16xf32>
  }
}

// -----

// A value split along one dimension wanted split along another: gathered,
// then sliced locally. A reduce_scatter of a replicated value is a slice.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @split_to_split
  // CHECK: %[[H:.*]] = kb.matmul %{{.*}} -> tensor<4x4xf32>
  // CHECK: %[[A:.*]] = kb.all_gather %[[H]] along 1 : tensor<4x4xf32> -> tensor<4x8xf32>
  // CHECK: kb.tp_slice %[[A]][%{{.*}}] along 0 : tensor<4x8xf32> -> tensor<2x8xf32>
  func.func @split_to_split(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
    %h = kb.column_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %s = kb.reduce_scatter <sum> %h along 0 : tensor<4x8xf32> -> tensor<4x8xf32>
    return %s : tensor<4x8xf32>
  }
}

// -----

// A reduce_scatter must apply the reduction its partial operand is pending.

module attributes {kb.world_size = 2 : i64} {
  func.func @reduce_scatter_wrong_kind(%x: tensor<4x8xf32>, %w: tensor<8x4xf32>) -> tensor<4x4xf32> {
    %p = kb.row_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    // expected-error@+1 {{'kb.reduce_scatter' op reduces with <max>, but its operand is partial(sum)}}
    %s = kb.reduce_scatter <max> %p along 0 : tensor<4x4xf32> -> tensor<4x4xf32>
    return %s : tensor<4x4xf32>
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
