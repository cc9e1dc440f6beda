// RUN: kb-opt %s -convert-kb-to-gemm-tile -split-input-file -verify-diagnostics | FileCheck %s

// Signatures, calls and returns convert 1:N: a tensor placed on two cubes is
// two buffers. A kernel (kb.kernel) takes and returns every piece; its call
// passes and receives them all. An entry point takes every piece, returns
// one buffer per distinct region (the first replica of a replicated
// result), and records its interface: gemm_tile.piece on each buffer, the
// local view it came from and the TP split of each argument and result.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func private @gelu_0
  // CHECK-SAME: (%[[A0:[^:]*]]: !cube0_4x8xf32, %[[A1:[^:]*]]: !cube1_4x8xf32)
  // CHECK-SAME: -> (!cube0_4x8xf32, !cube1_4x8xf32)
  // CHECK-SAME: attributes {kb.kernel}
  // CHECK: %[[B0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[B1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
  // CHECK: gemm_tile.map "gelu" pe 0 %[[A0]] [0, 0] to %[[B0]] [0, 0] sizes [4, 8]
  // CHECK: gemm_tile.map "gelu" pe 0 %[[A1]] [0, 0] to %[[B1]] [0, 0] sizes [4, 8]
  // CHECK: return %[[B0]], %[[B1]] :
  func.func private @gelu_0(%a: tensor<4x8xf32, #rep2>) -> tensor<4x8xf32, #rep2> attributes {kb.kernel} {
    %0 = kb.gelu %a : tensor<4x8xf32, #rep2>
    return %0 : tensor<4x8xf32, #rep2>
  }
  // CHECK-LABEL: func.func @entry
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_4x8xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: %[[X1:[^:]*]]: !cube1_4x8xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: %[[Y0:[^:]*]]: !cube0_4x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
  // CHECK-SAME: %[[Y1:[^:]*]]: !cube1_4x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 4]>})
  // CHECK-SAME: -> (!cube0_4x8xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: !cube0_4x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
  // CHECK-SAME: !cube1_4x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 4]>})
  // CHECK-SAME: kb.arg_split_dims = array<i64: -1, 1>
  // CHECK-SAME: kb.local_function_type = (tensor<4x8xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>>, tensor<4x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>>) -> (tensor<4x8xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>>, tensor<4x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>>)
  // CHECK-SAME: kb.result_split_dims = array<i64: -1, 1>
  // CHECK-NEXT: %[[G:.*]]:2 = call @gelu_0(%[[X0]], %[[X1]]) : (!cube0_4x8xf32, !cube1_4x8xf32) -> (!cube0_4x8xf32, !cube1_4x8xf32)
  // CHECK-NEXT: %[[H:.*]]:2 = call @gelu_0(%[[G]]#0, %[[G]]#1)
  // CHECK-NEXT: return %[[H]]#0, %[[Y0]], %[[Y1]] :
  func.func @entry(%x: tensor<4x8xf32, #rep2>, %y: tensor<4x8xf32, #cols> {kb.split_dim = 1 : i64})
      -> (tensor<4x8xf32, #rep2>, tensor<4x8xf32, #cols> {kb.split_dim = 1 : i64}) {
    %g = call @gelu_0(%x) : (tensor<4x8xf32, #rep2>) -> tensor<4x8xf32, #rep2>
    %h = call @gelu_0(%g) : (tensor<4x8xf32, #rep2>) -> tensor<4x8xf32, #rep2>
    return %h, %y : tensor<4x8xf32, #rep2>, tensor<4x8xf32, #cols>
  }
}

// -----

// Only kernels are called: another function's lowered results are its
// distinct regions, not the pieces a caller would hold.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @helper(%a: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    return %a : tensor<4x8xf32, #rep>
  }
  func.func @caller(%a: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    // expected-error@+1 {{'func.call' op calls 'helper', which is not a kernel: convert-kb-to-gemm-tile lowers calls of the kernels kb-outline-kernels makes}}
    %b = call @helper(%a) : (tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep>
    return %b : tensor<4x8xf32, #rep>
  }
}

// -----

// A kernel's signature is checked like any function's.

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{'func.func' op has a value of type 'tensor<4x8xf32>' without a DPPolicy; run kb-place before convert-kb-to-gemm-tile}}
  func.func private @gelu_0(%a: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {kb.kernel} {
    %0 = kb.gelu %a : tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
}

// -----

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{'func.func' op must have one block to be lowered}}
  func.func @two_blocks(%a: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    cf.br ^next
  ^next:
    return %a : tensor<4x8xf32, #rep>
  }
}
