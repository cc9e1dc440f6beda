// RUN: kb-opt %s -gemm-tile-verify-rings -split-input-file -verify-diagnostics | FileCheck %s

// Asynchronous ring steps: a step with a token result runs on the ring link
// while the rank goes on. Later steps of the ring follow it without a wait
// (the link runs its steps in order); other work may run meanwhile on other
// buffers; the buffers are the ring's again after a wait on every token.
// CHECK-LABEL: func.func @async_all_reduce
// CHECK: %[[T0:.*]] = gemm_tile.reduce_scatter_step <sum> %{{.*}} step 0 of 2 : !cube0_8x4xf32 -> !gemm_tile.token
// CHECK: %[[T1:.*]] = gemm_tile.all_gather_step %{{.*}} step 0 of 2 : !cube0_8x4xf32 -> !gemm_tile.token
// CHECK: gemm_tile.map "gelu"
// CHECK: gemm_tile.wait %{{.*}}, %[[T0]]
// CHECK: gemm_tile.wait %[[T1]]
func.func @async_all_reduce(%a: memref<8x4xf32, #gemm_tile.cube<0>>, %c: memref<8x4xf32, #gemm_tile.cube<1>>) -> memref<8x4xf32, #gemm_tile.cube<0>> {
  %t0 = gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  %t1 = gemm_tile.all_gather_step %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  %t = gemm_tile.map "gelu" pe 0 %c [0, 0] to %c [0, 0] sizes [8, 4] : memref<8x4xf32, #gemm_tile.cube<1>>, memref<8x4xf32, #gemm_tile.cube<1>>
  gemm_tile.wait %t, %t0
  gemm_tile.wait %t1
  return %a : memref<8x4xf32, #gemm_tile.cube<0>>
}

// -----

// A buffer touched while a ring step on it is in flight.
func.func @touched_in_flight(%a: memref<8x4xf32, #gemm_tile.cube<0>>, %c: memref<8x4xf32, #gemm_tile.cube<0>>) {
  %t0 = gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  // expected-note @below {{the ring step is here}}
  %t1 = gemm_tile.all_gather_step %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  gemm_tile.wait %t0
  // expected-error @below {{'gemm_tile.map' uses a buffer that an asynchronous ring step still moves: no gemm_tile.wait on its token before this use}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %c [0, 0] sizes [8, 4] : memref<8x4xf32, #gemm_tile.cube<0>>, memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t, %t1
  return
}

// -----

// Returned while the ring still moves it.
func.func @returned_in_flight(%a: memref<8x4xf32, #gemm_tile.cube<0>>) -> memref<8x4xf32, #gemm_tile.cube<0>> {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-note @below {{the ring step is here}}
  %t1 = gemm_tile.all_gather_step %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  // expected-error @below {{'func.return' uses a buffer that an asynchronous ring step still moves}}
  return %a : memref<8x4xf32, #gemm_tile.cube<0>>
}

// -----

// A token never waited for.
func.func @never_waited(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  // expected-error @below {{the token of this asynchronous ring step is never waited for (a gemm_tile.wait on it must come before the block ends)}}
  %t0 = gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  %t1 = gemm_tile.all_gather_step %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
  gemm_tile.wait %t1
  return
}
