// RUN: kb-opt %s -canonicalize -split-input-file | FileCheck %s

// Over a single rank every reduction is the identity, the rank is 0 and a
// slice is the whole tensor.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @single_rank
  // CHECK-SAME: (%[[X:.*]]: tensor<4x4xf32>)
  // CHECK-NOT: kb.all_reduce
  // CHECK-NOT: kb.tp_slice
  // CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
  func.func @single_rank(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
    %a = kb.all_reduce <sum> %x : tensor<4x4xf32>
    %b = kb.all_reduce <max> %x : tensor<4x4xf32>
    %c = kb.all_reduce <min> %x : tensor<4x4xf32>
    %d = kb.all_reduce <avg> %x : tensor<4x4xf32>
    %r = kb.tp_rank : index
    %s = kb.tp_slice %x[%r] along 1 : tensor<4x4xf32> -> tensor<4x4xf32>
    return %a, %b, %c, %d, %s : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
  }
  // CHECK-LABEL: func.func @single_rank_along_dim
  // CHECK-SAME: (%[[X:.*]]: tensor<4x4xf32>)
  // CHECK-NEXT: return %[[X]], %[[X]]
  func.func @single_rank_along_dim(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
    %g = kb.all_gather %x along 1 : tensor<4x4xf32> -> tensor<4x4xf32>
    %s = kb.reduce_scatter <sum> %x along 0 : tensor<4x4xf32> -> tensor<4x4xf32>
    return %g, %s : tensor<4x4xf32>, tensor<4x4xf32>
  }
  // CHECK-LABEL: func.func @rank_zero
  // CHECK: %[[C0:.*]] = arith.constant 0 : index
  // CHECK: return %[[C0]]
  func.func @rank_zero() -> index {
    %r = kb.tp_rank : index
    return %r : index
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @four_ranks
  // CHECK: kb.all_reduce <sum>
  // CHECK: kb.tp_rank
  // CHECK: kb.tp_slice
  func.func @four_ranks(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x1xf32>) {
    %a = kb.all_reduce <sum> %x : tensor<4x4xf32>
    %r = kb.tp_rank : index
    %s = kb.tp_slice %x[%r] along 1 : tensor<4x4xf32> -> tensor<4x1xf32>
    return %a, %s : tensor<4x4xf32>, tensor<4x1xf32>
  }
}
