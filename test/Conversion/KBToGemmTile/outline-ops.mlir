// RUN: kb-opt %s -kb-outline-kernels -convert-kb-to-gemm-tile -gemm-tile-check-cube-memory -split-input-file -verify-diagnostics | FileCheck %s

// With outline-ops (the default) each distinct op's device work is one private
// kernel, emitted once; every occurrence is a call of it. Two identical
// layers: one gelu kernel, called twice, with the second call on the first's
// results.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 2>} {
  // CHECK: func.func private @gelu_0(%[[A:.*]]: !cube0_4x8xf32) -> !cube0_4x8xf32
  // CHECK: %[[B:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[T0:.*]] = gemm_tile.map "gelu" pe 0 %[[A]] [0, 0] to %[[B]] [0, 0] sizes [4, 4]
  // CHECK: %[[T1:.*]] = gemm_tile.map "gelu" pe 1 %[[A]] [0, 4] to %[[B]] [0, 4] sizes [4, 4]
  // CHECK: gemm_tile.wait %[[T0]], %[[T1]]
  // CHECK: return %[[B]]
  // CHECK-NOT: func.func private
  // CHECK-LABEL: func.func @two_layers
  // CHECK-SAME: (%[[X:[^:]*]]: !cube0_4x8xf32
  // CHECK-NOT: = gemm_tile.
  // CHECK: %[[G0:.*]] = call @gelu_0(%[[X]])
  // CHECK: %[[G1:.*]] = call @gelu_0(%[[G0]])
  // CHECK: return %[[G1]]
  func.func @two_layers(%x: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    %g = kb.gelu %x : tensor<4x8xf32, #rep>
    %h = kb.gelu %g : tensor<4x8xf32, #rep>
    return %h : tensor<4x8xf32, #rep>
  }
}

// -----

// Ops of the same types are different kernels when their operands alias
// differently (x + x reads one argument, x + y two) or when an all_reduce
// must copy its input (still read afterwards) rather than reduce it in place.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  // CHECK-DAG: func.func private @add_0(%{{.*}}: !cube0_4x8xf32) ->
  // CHECK-DAG: func.func private @add_1(%{{.*}}: !cube0_4x8xf32, %{{.*}}: !cube0_4x8xf32) ->
  // CHECK-DAG: func.func private @all_reduce_0
  // CHECK-DAG: func.func private @all_reduce_1
  // CHECK-LABEL: func.func @aliasing
  // CHECK-SAME: (%[[X:[^:]*]]: !cube0_4x8xf32 {{.*}}, %[[Y:[^:]*]]: !cube0_4x8xf32
  // CHECK: %[[D:.*]] = call @add_0(%[[X]])
  // CHECK: %[[S:.*]] = call @add_1(%[[X]], %[[Y]])
  // CHECK: %[[R0:.*]] = call @all_reduce_0(%[[D]])
  // CHECK: %[[R1:.*]] = call @all_reduce_1(%[[S]])
  // CHECK: call @add_1(%[[R0]], %[[S]])
  func.func @aliasing(%x: tensor<4x8xf32, #rep>, %y: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    %d = kb.add %x, %x : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    %s = kb.add %x, %y : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    %rd = kb.all_reduce <sum> %d : tensor<4x8xf32, #rep>
    %rs = kb.all_reduce <sum> %s : tensor<4x8xf32, #rep>
    %z = kb.add %rd, %s : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    %w = kb.add %z, %rs : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    return %w : tensor<4x8xf32, #rep>
  }
}

// -----

// An in-place all_reduce kernel returns the buffers it was given; one over a
// single rank is no work and no kernel. A kernel name a user function already
// has is not taken.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @all_reduce_0()
  // CHECK-LABEL: func.func private @all_reduce_1
  // CHECK-SAME: (%[[P:[^:]*]]: !cube0_4x8xf32) -> !cube0_4x8xf32
  // CHECK-NEXT: gemm_tile.reduce_scatter_step <sum> %[[P]] step 0 of 2
  // CHECK-NEXT: gemm_tile.all_gather_step %[[P]] step 0 of 2
  // CHECK-NEXT: return %[[P]]
  func.func @all_reduce_0() {
    return
  }
  // CHECK-LABEL: func.func @in_place
  // CHECK: call @all_reduce_1
  func.func @in_place(%x: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    %r = kb.all_reduce <sum> %x : tensor<4x8xf32, #rep>
    return %r : tensor<4x8xf32, #rep>
  }
}

// -----

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  // CHECK-NOT: func.func private
  // CHECK-LABEL: func.func @one_rank
  // CHECK-NOT: call
  // CHECK: return
  func.func @one_rank(%x: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    %r = kb.all_reduce <sum> %x : tensor<4x8xf32, #rep>
    return %r : tensor<4x8xf32, #rep>
  }
}

// -----

// A kernel's buffers are allocated at every call: with the argument, the
// fourth call of a 256 KiB gelu kernel overflows a 1 MiB cube, and the error
// names that op.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, cube_memory_mib = 1>} {
  func.func @too_big(%a: tensor<256x256xf32, #rep>) -> tensor<256x256xf32, #rep> {
    %g = kb.gelu %a : tensor<256x256xf32, #rep>
    %h = kb.gelu %g : tensor<256x256xf32, #rep>
    %i = kb.gelu %h : tensor<256x256xf32, #rep>
    // expected-error@+1 {{needs 1310720 bytes in cube 0, but a cube holds 1048576 bytes}}
    %j = kb.gelu %i : tensor<256x256xf32, #rep>
    return %j : tensor<256x256xf32, #rep>
  }
}
