// RUN: kb-opt %s -gemm-tile-check-cube-memory -split-input-file -verify-diagnostics | FileCheck %s

// A program that fits is left as it is: in a 1 MiB cube, a 512 KiB argument
// and a 512 KiB buffer fill cube 0 exactly, and cube 1 holds its own.

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, cube_memory_mib = 1>} {
  // CHECK-LABEL: func.func @fits
  // CHECK-NEXT: gemm_tile.alloc : !cube0_512x256xf32
  // CHECK-NEXT: gemm_tile.alloc : !cube1_512x512xf32
  func.func @fits(%a: memref<512x256xf32, #gemm_tile.cube<0>>) {
    %b = gemm_tile.alloc : memref<512x256xf32, #gemm_tile.cube<0>>
    %c = gemm_tile.alloc : memref<512x512xf32, #gemm_tile.cube<1>>
    return
  }
}

// -----

// Buffers are counted per cube, in program order: the alloc that takes a
// cube past its memory is named, with the cube and both byte counts.

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, cube_memory_mib = 1>} {
  func.func @alloc_overflows(%a: memref<512x256xf32, #gemm_tile.cube<0>>) {
    %b = gemm_tile.alloc : memref<256x256xf32, #gemm_tile.cube<1>>
    %c = gemm_tile.alloc : memref<256x256xf32, #gemm_tile.cube<1>>
    %d = gemm_tile.alloc : memref<256x256xf32, #gemm_tile.cube<1>>
    %e = gemm_tile.alloc : memref<256x256xf32, #gemm_tile.cube<1>>
    // expected-error@+1 {{'gemm_tile.alloc' op needs 1048580 bytes in cube 1, but a cube holds 1048576 bytes}}
    %f = gemm_tile.alloc : memref<1xf32, #gemm_tile.cube<1>>
    return
  }
}

// -----

// A call allocates what its callee allocates, through the callee's own
// calls, again at every call: with the 256 KiB argument, the fourth call of
// a kernel whose call tree allocates 256 KiB overflows a 1 MiB cube. The
// kernels themselves are not entry points.

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 1, cube_memory_mib = 1>} {
  func.func private @inner() -> memref<128x256xf32, #gemm_tile.cube<0>> {
    %b = gemm_tile.alloc : memref<128x256xf32, #gemm_tile.cube<0>>
    return %b : memref<128x256xf32, #gemm_tile.cube<0>>
  }
  func.func private @kernel() -> memref<128x256xf32, #gemm_tile.cube<0>> {
    %b = gemm_tile.alloc : memref<128x256xf32, #gemm_tile.cube<0>>
    %c = call @inner() : () -> memref<128x256xf32, #gemm_tile.cube<0>>
    return %c : memref<128x256xf32, #gemm_tile.cube<0>>
  }
  func.func @calls(%a: memref<256x256xf32, #gemm_tile.cube<0>>) {
    %0 = call @kernel() : () -> memref<128x256xf32, #gemm_tile.cube<0>>
    %1 = call @kernel() : () -> memref<128x256xf32, #gemm_tile.cube<0>>
    %2 = call @kernel() : () -> memref<128x256xf32, #gemm_tile.cube<0>>
    // expected-error@+1 {{'func.call' op needs 1310720 bytes in cube 0, but a cube holds 1048576 bytes}}
    %3 = call @kernel() : () -> memref<128x256xf32, #gemm_tile.cube<0>>
    return
  }
}

// -----

// Arguments that alone do not fit, in a function that allocates nothing.

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 1, cube_memory_mib = 1>} {
  // expected-error@+1 {{'func.func' op needs 2097152 bytes in cube 0, but a cube holds 1048576 bytes}}
  func.func @arguments(%a: memref<512x512xf32, #gemm_tile.cube<0>>, %b: memref<512x512xf32, #gemm_tile.cube<0>>) {
    return
  }
}

// -----

// A private function is counted only where it is called; one that no entry
// calls is not checked, and neither is a declaration.

module attributes {gemm_tile.device = #gemm_tile.device<cubes = 1, cube_memory_mib = 1>} {
  // CHECK-LABEL: func.func private @never_called
  func.func private @never_called() {
    %b = gemm_tile.alloc : memref<512x256xf32, #gemm_tile.cube<0>>
    %c = gemm_tile.alloc : memref<512x256xf32, #gemm_tile.cube<0>>
    %d = gemm_tile.alloc : memref<512x256xf32, #gemm_tile.cube<0>>
    return
  }
  func.func private @declared(memref<512x256xf32, #gemm_tile.cube<0>>, memref<512x256xf32, #gemm_tile.cube<0>>, memref<512x256xf32, #gemm_tile.cube<0>>)
}
