// RUN: kb-opt %s -gemm-tile-verify-rings -split-input-file -verify-diagnostics | FileCheck %s

// An all-reduce: the reduce-scatter's W - 1 steps, then the all-gather's.
// CHECK-LABEL: func.func @all_reduce
func.func @all_reduce(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// Rings on different buffers interleave freely; each is followed on its own.
// Other work between the steps is fine as long as it does not touch a buffer
// in the middle of its ring. A second ring may follow a complete one.
// CHECK-LABEL: func.func @interleaved
func.func @interleaved(%a: memref<8x4xf32, #gemm_tile.cube<0>>, %b: memref<8x4xf32, #gemm_tile.cube<1>>, %c: memref<8x4xf32, #gemm_tile.cube<1>>) {
  gemm_tile.reduce_scatter_step <max> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %b step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<1>>
  %t = gemm_tile.map "gelu" pe 0 %c [0, 0] to %c [0, 0] sizes [8, 4] : memref<8x4xf32, #gemm_tile.cube<1>>, memref<8x4xf32, #gemm_tile.cube<1>>
  gemm_tile.wait %t
  gemm_tile.all_gather_step %b step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<1>>
  gemm_tile.all_gather_step %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// An all-gather may stand alone.
// CHECK-LABEL: func.func @all_gather
func.func @all_gather(%a: memref<9xf32, #gemm_tile.cube<0>>) {
  gemm_tile.all_gather_step %a step 0 of 3 : memref<9xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 1 of 3 : memref<9xf32, #gemm_tile.cube<0>>
  return
}

// -----

// The ring size is the module's world size.
// CHECK-LABEL: func.func @world_size
module attributes {kb.world_size = 2 : i64} {
  func.func @world_size(%a: memref<4xf32, #gemm_tile.cube<0>>) {
    gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<4xf32, #gemm_tile.cube<0>>
    gemm_tile.all_gather_step %a step 0 of 2 : memref<4xf32, #gemm_tile.cube<0>>
    return
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @wrong_world_size(%a: memref<4xf32, #gemm_tile.cube<0>>) {
    // expected-error@+1 {{reduce-scatter step 0 is a step of a ring of 2 SIPs, but the module's kb.world_size is 4}}
    gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<4xf32, #gemm_tile.cube<0>>
    gemm_tile.all_gather_step %a step 0 of 2 : memref<4xf32, #gemm_tile.cube<0>>
    return
  }
}

// -----

// A step deleted: chunk (r - 1) mod W would never be reduced.
func.func @step_missing(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 2 skips ahead: step 1 is due (steps 0 to 2 run in order, each once)}}
  gemm_tile.reduce_scatter_step <sum> %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// A step duplicated: a chunk reduced twice.
func.func @step_duplicated(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 1 repeats a step taken: step 2 is due}}
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// Two steps swapped.
func.func @steps_swapped(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{all-gather step 2 skips ahead: step 1 is due}}
  gemm_tile.all_gather_step %a step 2 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// A ring that does not start at step 0.
func.func @no_step_zero(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{all-gather step 1 of 4 has no step 0 before it on this buffer: a ring runs steps 0 to 2 in order, each once}}
  gemm_tile.all_gather_step %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// The all-gather half missing: the result is used half reduced.
func.func @all_gather_missing(%a: memref<8x4xf32, #gemm_tile.cube<0>>, %b: memref<8x4xf32, #gemm_tile.cube<0>>) {
  // expected-note@+1 {{the ring starts here}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{'gemm_tile.map' uses a buffer whose ring is not complete: its all-gather half (steps 0 to 0) is missing}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %b [0, 0] sizes [8, 4] : memref<8x4xf32, #gemm_tile.cube<0>>, memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t
  return
}

// -----

// ... or the function ends with it open.
func.func @all_gather_missing_at_end(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{the ring that starts here is not complete: its all-gather half (steps 0 to 1) is missing}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @reduce_scatter_cut_short(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{all-gather step 0 comes before the reduce-scatter on this buffer is complete: its reduce-scatter stops before step 1 (steps 0 to 1 are needed)}}
  gemm_tile.all_gather_step %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %a step 1 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @all_gather_cut_short(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.all_gather_step %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 0 comes before the all-gather on this buffer is complete: its all-gather stops before step 1 (steps 0 to 1 are needed)}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @second_reduce_scatter(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 0 on a buffer whose reduce-scatter is complete: its all-gather half (steps 0 to 0) is missing before another ring may start}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 2 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @ring_size_changes(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 1 is a step of a ring of 3 SIPs, but the ring on this buffer has 4}}
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @kind_changes(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 1 reduces with <max> but step 0 with <sum>}}
  gemm_tile.reduce_scatter_step <max> %a step 1 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// A call (or return) that takes the buffer mid-ring sees it half reduced.
func.func private @kernel(memref<8x4xf32, #gemm_tile.cube<0>>)
func.func @call_mid_ring(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  // expected-note@+1 {{the ring starts here}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 3 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{'func.call' uses a buffer whose ring is not complete: its reduce-scatter stops before step 1}}
  call @kernel(%a) : (memref<8x4xf32, #gemm_tile.cube<0>>) -> ()
  return
}

// -----

// Along a dimension, a reduce-scatter and an all-gather each stand alone.
// CHECK-LABEL: func.func @along_dim
func.func @along_dim(%a: memref<8x4xf32, #gemm_tile.cube<0>>, %b: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 along 0 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 along 0 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 2 of 4 along 0 : memref<8x4xf32, #gemm_tile.cube<0>>
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [2, 4] rank_stride [2, 0] : memref<8x4xf32, #gemm_tile.cube<0>>, memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t
  gemm_tile.all_gather_step %b step 0 of 4 along 1 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %b step 1 of 4 along 1 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.all_gather_step %b step 2 of 4 along 1 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// One ring cuts its chunks one way throughout.
func.func @along_mixed(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 along 0 : memref<8x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{reduce-scatter step 1 cuts flat chunks, but the ring on this buffer cuts chunks along dimension 0}}
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// A reduce-scatter along a dimension that stops early is still refused.
func.func @along_incomplete(%a: memref<8x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{the ring that starts here is not complete: its reduce-scatter stops before step 2 (steps 0 to 2 are needed)}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 along 1 : memref<8x4xf32, #gemm_tile.cube<0>>
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 along 1 : memref<8x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

// One ring over a tensor's pieces in two cubes: every step moves both.
// CHECK-LABEL: func.func @pieces
func.func @pieces(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  gemm_tile.reduce_scatter_step <sum> %a, %b step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  gemm_tile.all_gather_step %a, %b step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

// A step that moves only some of a ring's pieces breaks it.
func.func @pieces_dropped(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  gemm_tile.reduce_scatter_step <sum> %a, %b step 0 of 3 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  // expected-error@+1 {{reduce-scatter step 1 moves 1 buffers that are not the ring's own (it has 2); every step of a ring moves the same buffers, in order}}
  gemm_tile.reduce_scatter_step <sum> %b step 1 of 3 : memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

// No other op may touch any piece of a ring in the middle of it.
func.func @piece_used_mid_ring(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-note@+1 {{the ring starts here}}
  gemm_tile.reduce_scatter_step <sum> %a, %b step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  // expected-error@+1 {{'gemm_tile.map' uses a buffer whose ring is not complete: its all-gather half (steps 0 to 0) is missing}}
  %t = gemm_tile.map "gelu" pe 0 %b [0, 0] to %b [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<1>>, memref<4x4xf32, #gemm_tile.cube<1>>
  gemm_tile.wait %t
  gemm_tile.all_gather_step %a, %b step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

