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

// -----

// A rank's slice of a static extract_slice along the sliced dimension is a
// slice of a window of the source: GPT-2's fused W_qkv gives each rank its
// q, k and v columns straight from the fused weight, and the extract_slices
// go. Offsets compose.

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @slice_of_extract_slice
  // CHECK-SAME: (%[[W:[a-z0-9]+]]: tensor<8x48xf32>, %[[B:[a-z0-9]+]]: tensor<48xf32>)
  // CHECK-NOT: tensor.extract_slice
  // CHECK: %[[R:.*]] = kb.tp_rank
  // CHECK: kb.tp_slice %[[W]][%[[R]]] along 1 offset 16 : tensor<8x48xf32> -> tensor<8x4xf32>
  // CHECK: kb.tp_slice %[[B]][%[[R]]] along 0 offset 32 : tensor<48xf32> -> tensor<4xf32>
  // CHECK: kb.tp_slice %[[W]][%[[R]]] along 1 offset 40 : tensor<8x48xf32> -> tensor<8x2xf32>
  func.func @slice_of_extract_slice(%w: tensor<8x48xf32>, %b: tensor<48xf32>)
      -> (tensor<8x4xf32>, tensor<4xf32>, tensor<8x2xf32>) {
    %r = kb.tp_rank : index
    %wk = tensor.extract_slice %w[0, 16] [8, 16] [1, 1] : tensor<8x48xf32> to tensor<8x16xf32>
    %k = kb.tp_slice %wk[%r] along 1 : tensor<8x16xf32> -> tensor<8x4xf32>
    %bv = tensor.extract_slice %b[32] [16] [1] : tensor<48xf32> to tensor<16xf32>
    %v = kb.tp_slice %bv[%r] along 0 : tensor<16xf32> -> tensor<4xf32>
    %wv = tensor.extract_slice %w[0, 32] [8, 16] [1, 1] : tensor<8x48xf32> to tensor<8x16xf32>
    %h = kb.tp_slice %wv[%r] along 1 offset 8 : tensor<8x16xf32> -> tensor<8x2xf32>
    return %k, %v, %h : tensor<8x4xf32>, tensor<4xf32>, tensor<8x2xf32>
  }

  // An extract_slice that also cuts another dimension, or with a stride,
  // stays.
  // CHECK-LABEL: func.func @slice_of_other_extract_slices
  // CHECK: tensor.extract_slice
  // CHECK: kb.tp_slice %{{.*}} along 1 : tensor<4x16xf32> -> tensor<4x4xf32>
  // CHECK: tensor.extract_slice
  // CHECK: kb.tp_slice %{{.*}} along 1 : tensor<8x16xf32> -> tensor<8x4xf32>
  func.func @slice_of_other_extract_slices(%w: tensor<8x48xf32>)
      -> (tensor<4x4xf32>, tensor<8x4xf32>) {
    %r = kb.tp_rank : index
    %rows = tensor.extract_slice %w[4, 16] [4, 16] [1, 1] : tensor<8x48xf32> to tensor<4x16xf32>
    %a = kb.tp_slice %rows[%r] along 1 : tensor<4x16xf32> -> tensor<4x4xf32>
    %strided = tensor.extract_slice %w[0, 0] [8, 16] [1, 3] : tensor<8x48xf32> to tensor<8x16xf32>
    %b = kb.tp_slice %strided[%r] along 1 : tensor<8x16xf32> -> tensor<8x4xf32>
    return %a, %b : tensor<4x4xf32>, tensor<8x4xf32>
  }

  // Placed, a window of a source placed otherwise than the extract_slice
  // (here split over the cubes along the sliced dimension, which a rank's
  // slice cannot read) stays an extract_slice.
  // CHECK-LABEL: func.func @slice_of_placed_extract_slice
  // CHECK: tensor.extract_slice
  // CHECK: kb.tp_slice %{{.*}} along 1 :
  func.func @slice_of_placed_extract_slice(
      %w: tensor<8x48xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>>)
      -> tensor<8x4xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>> {
    %r = kb.tp_rank : index
    %wk = tensor.extract_slice %w[0, 16] [8, 16] [1, 1] : tensor<8x48xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>> to tensor<8x16xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>>
    %k = kb.tp_slice %wk[%r] along 1 : tensor<8x16xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>> -> tensor<8x4xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>>
    return %k : tensor<8x4xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>>
  }
}
