// RUN: kb-opt %s -split-input-file | kb-opt -split-input-file | FileCheck %s
// RUN: kb-opt %s -split-input-file -mlir-print-op-generic | kb-opt -split-input-file | FileCheck %s

// Global view: every parallel linear form, each dtype, DPPolicy encodings.

#seed = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#sharded = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>
// CHECK: module attributes {kb.world_size = 4 : i64}
module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @column
  func.func @column(%x: tensor<8x16xf16>, %w: tensor<16x64xf16, #seed>, %b: tensor<64xf16>)
      -> (tensor<8x64xf16>, tensor<8x64xf16>) {
    // CHECK: kb.column_parallel_linear %{{.*}}, %{{.*}} : (tensor<8x16xf16>, tensor<16x64xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>) -> tensor<8x64xf16>
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x64xf16, #seed>) -> tensor<8x64xf16>
    // CHECK: kb.column_parallel_linear %{{.*}}, %{{.*}} bias %{{.*}} : (tensor<8x16xf16>, tensor<16x64xf16, {{.*}}>, tensor<64xf16>) -> tensor<8x64xf16>
    %z = kb.column_parallel_linear %x, %w bias %b : (tensor<8x16xf16>, tensor<16x64xf16, #seed>, tensor<64xf16>) -> tensor<8x64xf16>
    return %y, %z : tensor<8x64xf16>, tensor<8x64xf16>
  }
  // CHECK-LABEL: func.func @row
  func.func @row(%x: tensor<8x64xbf16>, %w: tensor<64x32xbf16, #sharded>, %b: tensor<32xbf16>)
      -> (tensor<8x32xbf16>, tensor<8x32xbf16>) {
    // CHECK: kb.row_parallel_linear %{{.*}}, %{{.*}} : (tensor<8x64xbf16>, tensor<64x32xbf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>) -> tensor<8x32xbf16>
    %y = kb.row_parallel_linear %x, %w : (tensor<8x64xbf16>, tensor<64x32xbf16, #sharded>) -> tensor<8x32xbf16>
    // CHECK: kb.row_parallel_linear %{{.*}}, %{{.*}} bias %{{.*}} : (tensor<8x64xbf16>, tensor<64x32xbf16, {{.*}}>, tensor<32xbf16>) -> tensor<8x32xbf16>
    %z = kb.row_parallel_linear %x, %w bias %b : (tensor<8x64xbf16>, tensor<64x32xbf16, #sharded>, tensor<32xbf16>) -> tensor<8x32xbf16>
    return %y, %z : tensor<8x32xbf16>, tensor<8x32xbf16>
  }
  // CHECK-LABEL: func.func @local_compute
  func.func @local_compute(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>, %c: tensor<8x4xf32>, %bias: tensor<4xf32>) -> tensor<8x4xf32> {
    // CHECK: kb.matmul %{{.*}}, %{{.*}} : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
    %m = kb.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
    // CHECK: kb.gelu %{{.*}} : tensor<8x4xf32>
    %g = kb.gelu %m : tensor<8x4xf32>
    // CHECK: kb.add %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<8x4xf32>
    %s = kb.add %g, %c : tensor<8x4xf32>, tensor<8x4xf32>
    // CHECK: kb.add %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<4xf32>
    %t = kb.add %s, %bias : tensor<8x4xf32>, tensor<4xf32>
    return %t : tensor<8x4xf32>
  }
  // CHECK-LABEL: func.func @swiglu_pieces
  func.func @swiglu_pieces(%g: tensor<8x4xbf16>, %u: tensor<8x4xbf16>, %w: tensor<4xbf16>) -> tensor<8x4xbf16> {
    // CHECK: %[[S:.*]] = kb.silu %{{.*}} : tensor<8x4xbf16>
    %s = kb.silu %g : tensor<8x4xbf16>
    // CHECK: %[[M:.*]] = kb.mul %[[S]], %{{.*}} : tensor<8x4xbf16>, tensor<8x4xbf16>
    %m = kb.mul %s, %u : tensor<8x4xbf16>, tensor<8x4xbf16>
    // CHECK: %[[N:.*]] = kb.mul %[[M]], %{{.*}} : tensor<8x4xbf16>, tensor<4xbf16>
    %n = kb.mul %m, %w : tensor<8x4xbf16>, tensor<4xbf16>
    // CHECK: kb.scale %[[N]] by 1.250000e-01 : tensor<8x4xbf16>
    %t = kb.scale %n by 0.125 : tensor<8x4xbf16>
    return %t : tensor<8x4xbf16>
  }
}

// -----

// Local view: the rank, its slice, every all_reduce kind, split annotations
// and the lowered-function attributes.

// CHECK: module attributes {kb.spmd, kb.world_size = 2 : i64}
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @local
  // CHECK-SAME: {kb.split_dim = 1 : i64}
  // CHECK-SAME: -> (tensor<4x8xf32> {kb.split_dim = 0 : i64})
  func.func @local(%x: tensor<4x8xf32>, %y: tensor<4x4xf32> {kb.split_dim = 1 : i64})
      -> (tensor<4x8xf32> {kb.split_dim = 0 : i64}) {
    // CHECK: %[[R:.*]] = kb.tp_rank : index
    %r = kb.tp_rank : index
    // CHECK: kb.tp_slice %{{.*}}[%[[R]]] along 1 : tensor<4x8xf32> -> tensor<4x4xf32>
    %s = kb.tp_slice %x[%r] along 1 : tensor<4x8xf32> -> tensor<4x4xf32>
    // CHECK: kb.tp_slice %{{.*}}[%[[R]]] along 1 replicas 2 : tensor<4x8xf32> -> tensor<4x8xf32>
    %g = kb.tp_slice %x[%r] along 1 replicas 2 : tensor<4x8xf32> -> tensor<4x8xf32>
    // CHECK: kb.tp_slice %{{.*}}[%[[R]]] along 1 shards 2 : tensor<4x8xf32> -> tensor<4x4xf32>
    %h = kb.tp_slice %x[%r] along 1 shards 2 : tensor<4x8xf32> -> tensor<4x4xf32>
    // CHECK: kb.tp_slice %{{.*}}[%[[R]]] along 1 offset 4 replicas 2 : tensor<4x8xf32> -> tensor<4x2xf32>
    %o = kb.tp_slice %x[%r] along 1 offset 4 replicas 2 : tensor<4x8xf32> -> tensor<4x2xf32>
    // CHECK: kb.all_reduce <sum> %{{.*}} : tensor<4x8xf32>
    %a = kb.all_reduce <sum> %x : tensor<4x8xf32>
    // CHECK: kb.all_reduce <max> %{{.*}} : tensor<4x8xf32>
    %b = kb.all_reduce <max> %a : tensor<4x8xf32>
    // CHECK: kb.all_reduce <min> %{{.*}} : tensor<4x8xf32>
    %c = kb.all_reduce <min> %b : tensor<4x8xf32>
    // CHECK: kb.all_reduce <avg> %{{.*}} : tensor<4x8xf32>
    %d = kb.all_reduce <avg> %c : tensor<4x8xf32>
    return %d : tensor<4x8xf32>
  }
  // CHECK-LABEL: func.func @along_dim_local
  func.func @along_dim_local(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    // CHECK: %[[G:.*]] = kb.all_gather %{{.*}} along 0 : tensor<4x8xf32> -> tensor<8x8xf32>
    %g = kb.all_gather %x along 0 : tensor<4x8xf32> -> tensor<8x8xf32>
    // CHECK: kb.reduce_scatter <sum> %[[G]] along 0 : tensor<8x8xf32> -> tensor<4x8xf32>
    %s = kb.reduce_scatter <sum> %g along 0 : tensor<8x8xf32> -> tensor<4x8xf32>
    // CHECK: kb.reduce_scatter <avg> %{{.*}} along 1 : tensor<4x8xf32> -> tensor<4x4xf32>
    %t = kb.reduce_scatter <avg> %s along 1 : tensor<4x8xf32> -> tensor<4x4xf32>
    // CHECK: kb.all_gather %{{.*}} along 1 : tensor<4x4xf32> -> tensor<4x8xf32>
    %u = kb.all_gather %t along 1 : tensor<4x4xf32> -> tensor<4x8xf32>
    return %u : tensor<4x8xf32>
  }
  // CHECK-LABEL: func.func @lowered_interface
  // CHECK-SAME: kb.arg_split_dims = array<i64: 1>
  // CHECK-SAME: kb.local_function_type = (tensor<4x4xf32>) -> ()
  // CHECK-SAME: kb.result_split_dims = array<i64>
  func.func @lowered_interface(%p: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<4x4xf32>) -> (), kb.arg_split_dims = array<i64: 1>, kb.result_split_dims = array<i64>} {
    return
  }
}

// -----

// Global view: all_gather and reduce_scatter keep the logical tensor and
// name the layout it should have.

// CHECK: module attributes {kb.world_size = 4 : i64}
module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @along_dim_global
  func.func @along_dim_global(%x: tensor<8x16xf16>) -> tensor<8x16xf16> {
    // CHECK: kb.reduce_scatter <max> %{{.*}} along 0 : tensor<8x16xf16> -> tensor<8x16xf16>
    %s = kb.reduce_scatter <max> %x along 0 : tensor<8x16xf16> -> tensor<8x16xf16>
    // CHECK: kb.all_gather %{{.*}} along 1 : tensor<8x16xf16> -> tensor<8x16xf16>
    %g = kb.all_gather %s along 1 : tensor<8x16xf16> -> tensor<8x16xf16>
    return %g : tensor<8x16xf16>
  }
}

// -----

// kernbench's names of the 2-D splits: column_wise is shard(1), row_wise shard(0).

#kernbench = #kb.dp<cube = column_wise, pe = row_wise, num_cubes = 4, num_pes = 8>
module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @kernbench_names
  // CHECK-SAME: tensor<16x64xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>
  func.func @kernbench_names(%x: tensor<8x16xf16>, %w: tensor<16x64xf16, #kernbench>) -> tensor<8x64xf16> {
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x64xf16, #kernbench>) -> tensor<8x64xf16>
    return %y : tensor<8x64xf16>
  }
}

// -----

// A binary op's result may carry another placement than its lhs (kb-place
// gives it one when the lhs is a residual stream read elsewhere too): the
// result's type is then printed after an arrow, and omitted when it is the
// lhs's.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @placed_apart
  func.func @placed_apart(%x: tensor<8x16xf16, #rep>, %y: tensor<8x16xf16, #cols>) -> (tensor<8x16xf16, #cols>, tensor<8x16xf16, #rep>) {
    // CHECK: kb.add %{{.*}}, %{{.*}} : tensor<8x16xf16, #kb.dp<cube = replicate, {{.*}}>>, tensor<8x16xf16, #kb.dp<cube = shard(1), {{.*}}>> -> tensor<8x16xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>
    %h = kb.add %x, %y : tensor<8x16xf16, #rep>, tensor<8x16xf16, #cols> -> tensor<8x16xf16, #cols>
    // CHECK: kb.mul %{{.*}}, %{{.*}} : tensor<8x16xf16, #kb.dp<cube = replicate, {{.*}}>>, tensor<8x16xf16, #kb.dp<cube = shard(1), {{.*}}>>{{$}}
    %m = kb.mul %x, %y : tensor<8x16xf16, #rep>, tensor<8x16xf16, #cols> -> tensor<8x16xf16, #rep>
    return %h, %m : tensor<8x16xf16, #cols>, tensor<8x16xf16, #rep>
  }
}
