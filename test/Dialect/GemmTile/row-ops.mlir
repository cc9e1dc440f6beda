// RUN: kb-opt %s | kb-opt | FileCheck %s
// RUN: kb-opt %s -mlir-print-op-generic | kb-opt | FileCheck %s

// The row ops of a decoder layer round-trip: the norms on whole rows with
// their weight (and bias), rope on whole heads with the position of its
// region's first row.

!rows = memref<8x64xf16, #gemm_tile.cube<0>>
!vec = memref<64xf16, #gemm_tile.cube<0>>
// CHECK-LABEL: func.func @row_ops
func.func @row_ops(%x: !rows, %w: !vec, %b: !vec) {
  // CHECK: %[[N:.*]] = gemm_tile.alloc
  %n = gemm_tile.alloc : !rows
  // CHECK: %[[T0:.*]] = gemm_tile.rms_norm pe 1 %{{.*}} [4, 0], %{{.*}} to %[[N]] [4, 0] sizes [4, 64] eps 9.99999974E-6 : !cube0_8x64xf16, !cube0_64xf16, !cube0_8x64xf16
  %t0 = gemm_tile.rms_norm pe 1 %x [4, 0], %w to %n [4, 0] sizes [4, 64] eps 1.0e-5 : !rows, !vec, !rows
  // CHECK: %[[T1:.*]] = gemm_tile.layer_norm pe 0 %{{.*}} [0, 0], %{{.*}}, %{{.*}} to %[[N]] [0, 0] sizes [3, 64] eps 9.99999997E-7 : !cube0_8x64xf16, !cube0_64xf16, !cube0_64xf16, !cube0_8x64xf16
  %t1 = gemm_tile.layer_norm pe 0 %x [0, 0], %w, %b to %n [0, 0] sizes [3, 64] eps 1.0e-6 : !rows, !vec, !vec, !rows
  // CHECK: %[[T2:.*]] = gemm_tile.rope pe 7 %{{.*}} [2, 16] to %[[N]] [2, 16] sizes [4, 32] head_dim 16 position 10 theta 5.000000e+05 : !cube0_8x64xf16, !cube0_8x64xf16
  %t2 = gemm_tile.rope pe 7 %x [2, 16] to %n [2, 16] sizes [4, 32] head_dim 16 position 10 theta 500000.0 : !rows, !rows
  // CHECK: gemm_tile.wait %[[T0]], %[[T1]], %[[T2]]
  gemm_tile.wait %t0, %t1, %t2
  return
}
