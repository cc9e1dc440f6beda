// RUN: kb-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// A rank's shard of 16 ids (64 over 4 ranks) gathered into rows of a result
// piece in another cube; i64 ids.

// CHECK-LABEL: func.func @gather
// CHECK: gemm_tile.gather_rows %{{.*}} [0], %{{.*}} [0, 8] to %{{.*}} [0, 0] sizes [9, 8] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64 : !cube0_9xi32, !cube0_16x32xf16, !cube1_9x8xf16
// CHECK: gemm_tile.gather_rows %{{.*}} [2], %{{.*}} [4, 0] to %{{.*}} [0, 0] sizes [3, 32] table_rows 12 first_id 4 rank_stride 0 shard 16 vocab 61 : !cube0_5xi64
func.func @gather(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>,
                  %out: memref<9x8xf16, #gemm_tile.cube<1>>, %ids64: memref<5xi64, #gemm_tile.cube<0>>,
                  %whole: memref<61x32xf32, #gemm_tile.cube<2>>, %o: memref<3x32xf32, #gemm_tile.cube<2>>) {
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 8] to %out [0, 0] sizes [9, 8] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x8xf16, #gemm_tile.cube<1>>
  %1 = gemm_tile.gather_rows %ids64 [2], %whole [4, 0] to %o [0, 0] sizes [3, 32] table_rows 12 first_id 4 rank_stride 0 shard 16 vocab 61
      : memref<5xi64, #gemm_tile.cube<0>>, memref<61x32xf32, #gemm_tile.cube<2>>, memref<3x32xf32, #gemm_tile.cube<2>>
  gemm_tile.wait %0, %1
  return
}

// -----

func.func @float_ids(%ids: memref<9xf32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{operand #0 must be memref of 32-bit signless integer or 64-bit signless integer values}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xf32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @ids_region(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads or writes ids[2 : 2 + 9] in dimension 0, outside its size 9}}
  %0 = gemm_tile.gather_rows %ids [2], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @table_region(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads or writes table[4 : 4 + 16] in dimension 0, outside its size 16}}
  %0 = gemm_tile.gather_rows %ids [0], %t [4, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @out_region(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x16xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads or writes out[0 : 0 + 32] in dimension 1, outside its size 16}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x16xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @sizes(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects sizes [rows, cols], got 1 sizes}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @convert(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{copies 'f16' rows into 'f32'; a gather does not convert}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @first_id(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{has a table region starting at id 64, past the vocabulary of 64 ids}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 64 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @cube(%ids: memref<9xi32, #gemm_tile.cube<19>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects ids in one of the 16 cubes' memory, got 'memref<9xi32, #gemm_tile.cube<19>>'}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
      : memref<9xi32, #gemm_tile.cube<19>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @zero_shard(%ids: memref<9xi32, #gemm_tile.cube<0>>, %t: memref<16x32xf16, #gemm_tile.cube<0>>, %out: memref<9x32xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{attribute 'shard' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = gemm_tile.gather_rows %ids [0], %t [0, 0] to %out [0, 0] sizes [9, 32] table_rows 16 first_id 0 rank_stride 16 shard 0 vocab 64
      : memref<9xi32, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>, memref<9x32xf16, #gemm_tile.cube<0>>
  return
}
