// RUN: kb-opt %s -gemm-tile-check-yield-safety -split-input-file -verify-diagnostics | FileCheck %s

// A straight-line program with a wait yields.
// CHECK-LABEL: func.func @waits
func.func @waits(%a: memref<4x4xf32, #gemm_tile.cube<0>>) -> memref<4x4xf32, #gemm_tile.cube<0>> {
  %b = gemm_tile.alloc : memref<4x4xf32, #gemm_tile.cube<0>>
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %b [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t
  return %b : memref<4x4xf32, #gemm_tile.cube<0>>
}

// -----

// A ring step is a yield point too.
// CHECK-LABEL: func.func @collective
func.func @collective(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// An asynchronous ring step is a yield point as well: every rank reaches it
// before it starts, though the rank goes on while it runs.
// CHECK-LABEL: func.func @async_collective
func.func @async_collective(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  %t = gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  gemm_tile.wait %t
  return
}

// -----

// Functions without device work are not rank programs.
// CHECK-LABEL: func.func @host
func.func @host(%a: i32) -> i32 {
  return %a : i32
}

// -----

// expected-note@+1 {{the function starts here}}
func.func @never_waits(%a: memref<4x4xf32, #gemm_tile.cube<0>>) -> memref<4x4xf32, #gemm_tile.cube<0>> {
  %b = gemm_tile.alloc : memref<4x4xf32, #gemm_tile.cube<0>>
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %b [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{function 'never_waits' reaches this 'func.return' on a path with no gemm_tile.wait and no ring step}}
  return %b : memref<4x4xf32, #gemm_tile.cube<0>>
}

// -----

// One branch waits, the other returns at once: unsafe.
// expected-note@+1 {{the function starts here}}
func.func @one_branch(%c: i1, %a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  cf.cond_br %c, ^work, ^done
^work:
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t
  cf.br ^done
^done:
  // expected-error@+1 {{function 'one_branch' reaches this 'func.return' on a path with no gemm_tile.wait and no ring step}}
  return
}

// -----

// Both branches wait: safe.
// CHECK-LABEL: func.func @both_branches
func.func @both_branches(%c: i1, %a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  cf.cond_br %c, ^left, ^right
^left:
  %t0 = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t0
  return
^right:
  %t1 = gemm_tile.map "gelu" pe 1 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t1
  return
}

// -----

// An scf.if whose two regions both wait counts as a yield.
// CHECK-LABEL: func.func @if_both
func.func @if_both(%c: i1, %a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  scf.if %c {
    %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
  } else {
    %t = gemm_tile.map "gelu" pe 1 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
  }
  return
}

// -----

// An scf.if that waits on one side only does not.
// expected-note@+1 {{the function starts here}}
func.func @if_one_side(%c: i1, %a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  scf.if %c {
    %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
  }
  // expected-error@+1 {{function 'if_one_side' reaches this 'func.return' on a path with no gemm_tile.wait and no ring step}}
  return
}

// -----

// A loop body may run zero times: waiting only inside it is unsafe.
// expected-note@+1 {{the function starts here}}
func.func @loop_only(%n: index, %a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
  }
  // expected-error@+1 {{function 'loop_only' reaches this 'func.return' on a path with no gemm_tile.wait and no ring step}}
  return
}

// -----

// A call yields when its callee does on every path: a program of outlined
// kernels is safe through them. The private kernel itself is not an entry.
// CHECK-LABEL: func.func @calls_a_waiting_kernel
func.func private @gelu_kernel(%a: memref<4x4xf32, #gemm_tile.cube<0>>) -> memref<4x4xf32, #gemm_tile.cube<0>> {
  %b = gemm_tile.alloc : memref<4x4xf32, #gemm_tile.cube<0>>
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %b [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t
  return %b : memref<4x4xf32, #gemm_tile.cube<0>>
}
func.func @calls_a_waiting_kernel(%a: memref<4x4xf32, #gemm_tile.cube<0>>) -> memref<4x4xf32, #gemm_tile.cube<0>> {
  %b = call @gelu_kernel(%a) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> memref<4x4xf32, #gemm_tile.cube<0>>
  return %b : memref<4x4xf32, #gemm_tile.cube<0>>
}

// -----

// A kernel that never waits makes its caller unsafe; a private function alone
// is not reported, its public caller is.
func.func private @no_wait_kernel(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}
// expected-note@+1 {{the function starts here}}
func.func @calls_a_kernel_that_never_waits(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  call @no_wait_kernel(%a) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> ()
  // expected-error@+1 {{function 'calls_a_kernel_that_never_waits' reaches this 'func.return' on a path with no gemm_tile.wait and no ring step}}
  return
}

// -----

// The same kernel, followed by a wait in the caller: every path yields.
// CHECK-LABEL: func.func @waits_after_the_kernel
func.func private @no_wait_kernel(%a: memref<4x4xf32, #gemm_tile.cube<0>>) -> !gemm_tile.token {
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return %t : !gemm_tile.token
}
func.func @waits_after_the_kernel(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  %t = call @no_wait_kernel(%a) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> !gemm_tile.token
  gemm_tile.wait %t
  return
}

// -----

// Recursion is not counted as yielding: the check rejects rather than loop.
func.func private @recurse(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  call @recurse(%a) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> ()
  return
}
// expected-note@+1 {{the function starts here}}
func.func @calls_recursion(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  call @recurse(%a) : (memref<4x4xf32, #gemm_tile.cube<0>>) -> ()
  // expected-error@+1 {{function 'calls_recursion' reaches this 'func.return' on a path with no gemm_tile.wait and no ring step}}
  return
}
