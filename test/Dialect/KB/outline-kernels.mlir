// RUN: kb-opt %s -kb-outline-kernels -split-input-file -verify-diagnostics | FileCheck %s

// Each distinct op becomes one private kernel, placed before its first
// caller and called wherever the op occurs; two identical layers call the
// same kernels.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func private @matmul_0
  // CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32, #kb.dp<{{.*}}>>, %[[B:.*]]: tensor<8x8xf32, #kb.dp<{{.*}}>>) -> tensor<4x8xf32, #kb.dp<{{.*}}>>
  // CHECK-SAME: attributes {kb.kernel}
  // CHECK-NEXT: %[[C:.*]] = kb.matmul %[[A]], %[[B]]
  // CHECK-NEXT: return %[[C]]
  // CHECK-LABEL: func.func private @gelu_0
  // CHECK-SAME: attributes {kb.kernel}
  // CHECK-NEXT: kb.gelu
  // CHECK-NEXT: return
  // CHECK-NOT: func.func private
  // CHECK-LABEL: func.func @layers
  // CHECK-SAME: (%[[X:[^:]*]]: tensor<4x8xf32, {{.*}}>, %[[W0:[^:]*]]: tensor<8x8xf32, {{.*}}>, %[[W1:[^:]*]]: tensor<8x8xf32
  // CHECK-NEXT: %[[M0:.*]] = call @matmul_0(%[[X]], %[[W0]])
  // CHECK-NEXT: %[[G0:.*]] = call @gelu_0(%[[M0]])
  // CHECK-NEXT: %[[M1:.*]] = call @matmul_0(%[[G0]], %[[W1]])
  // CHECK-NEXT: %[[G1:.*]] = call @gelu_0(%[[M1]])
  // CHECK-NEXT: return %[[G1]]
  func.func @layers(%x: tensor<4x8xf32, #rep>, %w0: tensor<8x8xf32, #cols>,
                    %w1: tensor<8x8xf32, #cols>) -> tensor<4x8xf32, #rep> {
    %m0 = kb.matmul %x, %w0 : (tensor<4x8xf32, #rep>, tensor<8x8xf32, #cols>) -> tensor<4x8xf32, #rep>
    %g0 = kb.gelu %m0 : tensor<4x8xf32, #rep>
    %m1 = kb.matmul %g0, %w1 : (tensor<4x8xf32, #rep>, tensor<8x8xf32, #cols>) -> tensor<4x8xf32, #rep>
    %g1 = kb.gelu %m1 : tensor<4x8xf32, #rep>
    return %g1 : tensor<4x8xf32, #rep>
  }
  // A second function calls the kernels the first one made; an op that
  // differs in a policy gets a kernel of its own, before this function.
  // CHECK-LABEL: func.func private @gelu_1
  // CHECK-SAME: tensor<4x8xf32, #kb.dp<cube = shard(1)
  // CHECK-LABEL: func.func @other
  // CHECK-NEXT: call @gelu_0
  // CHECK-NEXT: call @gelu_1
  func.func @other(%x: tensor<4x8xf32, #rep>, %y: tensor<4x8xf32, #cols>) -> (tensor<4x8xf32, #rep>, tensor<4x8xf32, #cols>) {
    %g = kb.gelu %x : tensor<4x8xf32, #rep>
    %h = kb.gelu %y : tensor<4x8xf32, #cols>
    return %g, %h : tensor<4x8xf32, #rep>, tensor<4x8xf32, #cols>
  }
}

// -----

// Operand aliasing and the in-place choice of an all_reduce are part of what
// makes a kernel: x + x has one argument, x + y two; an all_reduce whose
// input is read afterwards gets a kernel whose op carries kb.keep_input.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func private @add_0
  // CHECK-SAME: (%[[A:[^:]*]]: tensor<4x8xf32, {{.*}}>) ->
  // CHECK-NEXT: kb.add %[[A]], %[[A]]
  // CHECK-LABEL: func.func private @add_1
  // CHECK-SAME: (%[[A:[^:]*]]: tensor<4x8xf32, {{.*}}>, %[[B:[^:]*]]: tensor<4x8xf32, {{.*}}>) ->
  // CHECK-NEXT: kb.add %[[A]], %[[B]]
  // CHECK-LABEL: func.func private @all_reduce_0
  // CHECK-NEXT: kb.all_reduce <sum> %{{[^ ]*}} :
  // CHECK-LABEL: func.func private @all_reduce_1
  // CHECK-NEXT: kb.all_reduce <sum> %{{[^ ]*}} {kb.keep_input} :
  // CHECK-LABEL: func.func @aliasing
  // CHECK-SAME: (%[[X:[^:]*]]: tensor<4x8xf32, {{.*}}>, %[[Y:[^:]*]]: tensor<4x8xf32
  // CHECK-NEXT: %[[D:.*]] = call @add_0(%[[X]])
  // CHECK-NEXT: %[[S:.*]] = call @add_1(%[[X]], %[[Y]])
  // CHECK-NEXT: %[[R0:.*]] = call @all_reduce_0(%[[D]])
  // CHECK-NEXT: %[[R1:.*]] = call @all_reduce_1(%[[S]])
  // CHECK-NEXT: call @add_1(%[[R1]], %[[S]])
  func.func @aliasing(%x: tensor<4x8xf32, #rep>, %y: tensor<4x8xf32, #rep>) -> (tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>) {
    %d = kb.add %x, %x : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    %s = kb.add %x, %y : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    %rd = kb.all_reduce <sum> %d : tensor<4x8xf32, #rep>
    %rs = kb.all_reduce <sum> %s : tensor<4x8xf32, #rep>
    %z = kb.add %rs, %s : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
    return %rd, %z : tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>
  }
}

// -----

// A slice of the rank reads the rank inside its kernel; the caller's rank,
// now unused, goes. A kernel name a user function already has is skipped.
// Over one rank an all_reduce is no work and stays.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @tp_slice_0() {
    return
  }
  // CHECK-LABEL: func.func private @tp_slice_1
  // CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16xf32
  // CHECK-NEXT: %[[R:.*]] = kb.tp_rank : index
  // CHECK-NEXT: %[[S:.*]] = kb.tp_slice %[[X]][%[[R]]] along 1
  // CHECK-NEXT: return %[[S]]
  // CHECK-LABEL: func.func @slice
  // CHECK-NOT: kb.tp_rank
  // CHECK: call @tp_slice_1
  func.func @slice(%x: tensor<2x16xf32, #rep>) -> tensor<2x4xf32, #rep> {
    %r = kb.tp_rank : index
    %s = kb.tp_slice %x[%r] along 1 : tensor<2x16xf32, #rep> -> tensor<2x4xf32, #rep>
    return %s : tensor<2x4xf32, #rep>
  }
}

// -----

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-NOT: func.func private
  // CHECK-LABEL: func.func @one_rank
  // CHECK-NEXT: kb.all_reduce
  func.func @one_rank(%x: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    %r = kb.all_reduce <sum> %x : tensor<4x8xf32, #rep>
    return %r : tensor<4x8xf32, #rep>
  }
}

// -----

// expected-error@+1 {{kb-outline-kernels outlines the placed local view: run kb-tp-partition and kb-place first}}
module attributes {kb.world_size = 2 : i64} {
  func.func @global(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
    %g = kb.gelu %x : tensor<4x4xf32>
    return %g : tensor<4x4xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @unplaced(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
    // expected-error@+1 {{'kb.gelu' op has a value of type 'tensor<4x4xf32>' without a DPPolicy; run kb-place before kb-outline-kernels}}
    %g = kb.gelu %x : tensor<4x4xf32>
    return %g : tensor<4x4xf32>
  }
}
