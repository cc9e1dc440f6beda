// RUN: kb-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The latency, efficiency and mesh fields print in the attribute when they
// differ from the default's (ahbm's), each left out keeping its default.

// CHECK: module attributes {gemm_tile.device = #gemm_tile.device<cubes = 4, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 10, compute_efficiency_permille = 900>}
module attributes {gemm_tile.device = #gemm_tile.device<cubes = 4, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 10, compute_efficiency_permille = 900, memory_efficiency_permille = 830>} {}

// -----

// A built-in description by name: the AHBM one has 16 cubes, so a copy into
// cube 15 verifies.

// CHECK: module attributes {gemm_tile.device = "ahbm"}
module attributes {gemm_tile.device = "ahbm"} {
  func.func @sixteen_cubes(%a: memref<8x16xf16, #gemm_tile.cube<0>>) {
    %b = gemm_tile.alloc : memref<8x16xf16, #gemm_tile.cube<15>>
    %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [8, 16] : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<15>>
    gemm_tile.wait %t
    return
  }
}

// -----

// The small one has 4.

module attributes {gemm_tile.device = "small"} {
  func.func @four_cubes() {
    // expected-error@+1 {{the buffer is in cube 15, but the device has 4 cubes}}
    %b = gemm_tile.alloc : memref<8x16xf16, #gemm_tile.cube<15>>
    return
  }
}

// -----

// A far cube reached sooner than a cube's own memory is refused.

// expected-error@+1 {{a DMA to the farthest cube ('dma_latency_far_cube_ns' = 50) cannot take less than one within a cube ('dma_latency_local_ns' = 77)}}
module attributes {gemm_tile.device = #gemm_tile.device<dma_latency_local_ns = 77, dma_latency_far_cube_ns = 50>} {}
