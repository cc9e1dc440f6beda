// RUN: kb-opt %s | FileCheck %s
// RUN: kb-opt %s | kb-opt | FileCheck %s

// Each cube buffer type is printed once, as an alias named after its cube,
// shape and element type, and by that name where it is used. A memref outside
// the cubes or with a layout of its own is spelled out.

// CHECK-DAG: !cube0_8x16xf16 = memref<8x16xf16, #gemm_tile.cube<0>>
// CHECK-DAG: !cube1_4xi32 = memref<4xi32, #gemm_tile.cube<1>>
// CHECK-NOT: = memref<4x4xf32>
// CHECK-NOT: = memref<4x4xf16, strided
// CHECK-LABEL: func.func @aliases
// CHECK-SAME: (%{{.*}}: !cube0_8x16xf16, %{{.*}}: !cube1_4xi32, %{{.*}}: memref<4x4xf32>, %{{.*}}: memref<4x4xf16, strided<[8, 1]>, #gemm_tile.cube<0>>)
// CHECK-SAME: -> !cube0_8x16xf16
// CHECK: gemm_tile.alloc : !cube0_8x16xf16
func.func @aliases(%a: memref<8x16xf16, #gemm_tile.cube<0>>,
                   %ids: memref<4xi32, #gemm_tile.cube<1>>,
                   %host: memref<4x4xf32>,
                   %view: memref<4x4xf16, strided<[8, 1]>, #gemm_tile.cube<0>>)
    -> memref<8x16xf16, #gemm_tile.cube<0>> {
  %b = gemm_tile.alloc : memref<8x16xf16, #gemm_tile.cube<0>>
  return %b : memref<8x16xf16, #gemm_tile.cube<0>>
}
