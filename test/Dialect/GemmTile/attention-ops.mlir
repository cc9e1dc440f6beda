// RUN: kb-opt %s | kb-opt | FileCheck %s
// RUN: kb-opt %s -mlir-print-op-generic | kb-opt | FileCheck %s

// CHECK-LABEL: func.func @attention_block
func.func @attention_block(%q: memref<8x256xf16, #gemm_tile.cube<1>>, %k: memref<8x64xf16, #gemm_tile.cube<1>>,
                           %v: memref<8x64xf16, #gemm_tile.cube<1>>) -> memref<8x256xf16, #gemm_tile.cube<1>> {
  %o = gemm_tile.alloc : memref<8x256xf16, #gemm_tile.cube<1>>
  // CHECK: %[[T:.*]] = gemm_tile.attention pe 1 %{{.*}} [2, 0], %{{.*}} [0, 0], %{{.*}} [0, 0] to %{{.*}} [2, 0] sizes [2, 4, 64] heads 4 position 2 key_chunk 4 : !cube1_8x256xf16, !cube1_8x64xf16, !cube1_8x64xf16, !cube1_8x256xf16
  %t = gemm_tile.attention pe 1 %q [2, 0], %k [0, 0], %v [0, 0] to %o [2, 0]
      sizes [2, 4, 64] heads 4 position 2 key_chunk 4
      : memref<8x256xf16, #gemm_tile.cube<1>>, memref<8x64xf16, #gemm_tile.cube<1>>,
        memref<8x64xf16, #gemm_tile.cube<1>>, memref<8x256xf16, #gemm_tile.cube<1>>
  // Decode: one query at position 6 against 7 keys, one head of columns 64..127.
  // CHECK: gemm_tile.attention pe 0 {{.*}} sizes [1, 7, 64] heads 1 position 6 key_chunk 7
  %u = gemm_tile.attention pe 0 %q [7, 64], %k [0, 0], %v [1, 0] to %o [7, 64]
      sizes [1, 7, 64] heads 1 position 6 key_chunk 7
      : memref<8x256xf16, #gemm_tile.cube<1>>, memref<8x64xf16, #gemm_tile.cube<1>>,
        memref<8x64xf16, #gemm_tile.cube<1>>, memref<8x256xf16, #gemm_tile.cube<1>>
  gemm_tile.wait %t, %u
  return %o : memref<8x256xf16, #gemm_tile.cube<1>>
}

// Attention split over keys: two key ranges' partials, then their combine.
// CHECK-LABEL: func.func @split_over_keys
// CHECK: gemm_tile.attention_partial pe 0 %{{.*}} [0, 0], %{{.*}} [0, 0], %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [1, 128, 8] heads 2 position 255 key_begin 0 key_chunk 64 : !cube0_1x16xf16, !cube0_256x8xf16, !cube0_256x8xf16, !cube0_4x10xf32
// CHECK: gemm_tile.attention_partial pe 1 %{{.*}} [0, 0], %{{.*}} [128, 0], %{{.*}} [128, 0] to %{{.*}} [2, 0] sizes [1, 128, 8] heads 2 position 255 key_begin 128 key_chunk 64
// CHECK: gemm_tile.attention_combine pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [2, 1, 8] heads 2 : !cube0_4x10xf32, !cube0_1x16xf16
func.func @split_over_keys(%q: memref<1x16xf16, #gemm_tile.cube<0>>, %k: memref<256x8xf16, #gemm_tile.cube<0>>,
                           %v: memref<256x8xf16, #gemm_tile.cube<0>>, %o: memref<1x16xf16, #gemm_tile.cube<0>>) {
  %p = gemm_tile.alloc : memref<4x10xf32, #gemm_tile.cube<0>>
  %t0 = gemm_tile.attention_partial pe 0 %q [0, 0], %k [0, 0], %v [0, 0] to %p [0, 0] sizes [1, 128, 8] heads 2 position 255 key_begin 0 key_chunk 64
      : memref<1x16xf16, #gemm_tile.cube<0>>, memref<256x8xf16, #gemm_tile.cube<0>>, memref<256x8xf16, #gemm_tile.cube<0>>, memref<4x10xf32, #gemm_tile.cube<0>>
  %t1 = gemm_tile.attention_partial pe 1 %q [0, 0], %k [128, 0], %v [128, 0] to %p [2, 0] sizes [1, 128, 8] heads 2 position 255 key_begin 128 key_chunk 64
      : memref<1x16xf16, #gemm_tile.cube<0>>, memref<256x8xf16, #gemm_tile.cube<0>>, memref<256x8xf16, #gemm_tile.cube<0>>, memref<4x10xf32, #gemm_tile.cube<0>>
  gemm_tile.wait %t0, %t1
  %t2 = gemm_tile.attention_combine pe 0 %p [0, 0] to %o [0, 0] sizes [2, 1, 8] heads 2
      : memref<4x10xf32, #gemm_tile.cube<0>>, memref<1x16xf16, #gemm_tile.cube<0>>
  gemm_tile.wait %t2
  return
}
