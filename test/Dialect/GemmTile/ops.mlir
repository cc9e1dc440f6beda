// RUN: kb-opt %s | kb-opt | FileCheck %s
// RUN: kb-opt %s -mlir-print-op-generic | kb-opt | FileCheck %s

// CHECK: module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 4, link_gbps = 50>}
module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 4, link_gbps = 50>} {
  // CHECK-LABEL: func.func @every_op
  // CHECK-SAME: {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 8]>}
  // CHECK-SAME: -> (!cube1_8x16xf16 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
  func.func @every_op(%a: memref<8x16xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 8]>},
                      %b: memref<16x16xf16, #gemm_tile.cube<0>>, %bias: memref<16xf16, #gemm_tile.cube<0>>)
      -> (memref<8x16xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>}) {
    // CHECK: %[[C:.*]] = gemm_tile.alloc : !cube0_8x16xf16
    %c = gemm_tile.alloc : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: %[[T0:.*]] = gemm_tile.matmul pe 3 %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[C]] [0, 0] sizes [8, 16, 16] k_chunk 8 : !cube0_8x16xf16, !cube0_16x16xf16, !cube0_8x16xf16
    %t0 = gemm_tile.matmul pe 3 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [8, 16, 16] k_chunk 8
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<16x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.wait %[[T0]]
    gemm_tile.wait %t0
    // CHECK: gemm_tile.matmul pe 0 {{.*}} sizes [4, 8, 16] k_chunk 16 accumulate
    %t1 = gemm_tile.matmul pe 0 %a [4, 0], %b [0, 8] to %c [4, 8] sizes [4, 8, 16] k_chunk 16 accumulate
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<16x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.map "gelu" pe 1 %[[C]] [0, 0] to %[[C]] [0, 0] sizes [8, 16] :
    %t2 = gemm_tile.map "gelu" pe 1 %c [0, 0] to %c [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.zip "add" pe 2 %[[C]] [0, 0], %{{.*}} [0] to %[[C]] [0, 0] sizes [8, 16]
    %t3 = gemm_tile.zip "add" pe 2 %c [0, 0], %bias [0] to %c [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.zip "add" pe 2 %[[C]] [0, 0], %[[C]] [0, 0] to %[[C]] [0, 0] sizes [8, 16]
    %t4 = gemm_tile.zip "add" pe 2 %c [0, 0], %c [0, 0] to %c [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.map "silu" pe 1 %[[C]] [0, 0] to %[[C]] [0, 0] sizes [8, 16] :
    %s1 = gemm_tile.map "silu" pe 1 %c [0, 0] to %c [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.map "scale" pe 1 %[[C]] [0, 0] to %[[C]] [0, 0] sizes [8, 16] times 1.250000e-01
    %s2 = gemm_tile.map "scale" pe 1 %c [0, 0] to %c [0, 0] sizes [8, 16] times 0.125
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.zip "mul" pe 2 %[[C]] [0, 0], %{{.*}} [0] to %[[C]] [0, 0] sizes [8, 16]
    %s3 = gemm_tile.zip "mul" pe 2 %c [0, 0], %bias [0] to %c [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t1, %t2, %t3, %t4, %s1, %s2, %s3
    // CHECK: gemm_tile.reduce_scatter_step <sum> %[[C]] step 0 of 2
    gemm_tile.reduce_scatter_step <sum> %c step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.reduce_scatter_step <max> %[[C]] step 0 of 2
    gemm_tile.reduce_scatter_step <max> %c step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.reduce_scatter_step <min> %[[C]] step 0 of 2
    gemm_tile.reduce_scatter_step <min> %c step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.reduce_scatter_step <avg> %[[C]] step 0 of 2
    gemm_tile.reduce_scatter_step <avg> %c step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.all_gather_step %[[C]] step 0 of 2
    gemm_tile.all_gather_step %c step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.reduce_scatter_step <sum> %[[C]] step 0 of 2 along 1 :
    gemm_tile.reduce_scatter_step <sum> %c step 0 of 2 along 1 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.all_gather_step %[[C]] step 0 of 2 along 0 :
    gemm_tile.all_gather_step %c step 0 of 2 along 0 : memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.reduce_scatter_step <sum> %[[C]], %{{.*}} step 0 of 2 : !cube0_8x16xf16, !cube0_8x16xf16
    gemm_tile.reduce_scatter_step <sum> %c, %a step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.all_gather_step %[[C]], %{{.*}} step 0 of 2 : !cube0_8x16xf16, !cube0_8x16xf16
    gemm_tile.all_gather_step %c, %a step 0 of 2 : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: %[[D:.*]] = gemm_tile.alloc : !cube1_8x16xf16
    %d = gemm_tile.alloc : memref<8x16xf16, #gemm_tile.cube<1>>
    // CHECK: gemm_tile.dma %[[C]] [0, 0] to %[[D]] [0, 0] sizes [8, 16] : !cube0_8x16xf16, !cube1_8x16xf16
    %t5 = gemm_tile.dma %c [0, 0] to %d [0, 0] sizes [8, 16] : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    // A hop on: ordered after the copy into %d, not after a wait for it.
    // CHECK: %[[E:.*]] = gemm_tile.alloc : !cube0_8x16xf16
    // CHECK: gemm_tile.dma %[[D]] [0, 0] to %[[E]] [0, 0] sizes [8, 16] after %{{.*}} : !cube1_8x16xf16, !cube0_8x16xf16
    %e = gemm_tile.alloc : memref<8x16xf16, #gemm_tile.cube<0>>
    %t5h = gemm_tile.dma %d [0, 0] to %e [0, 0] sizes [8, 16] after %t5 : memref<8x16xf16, #gemm_tile.cube<1>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[D]] [0, 0] sizes [8, 8] rank_stride [0, 8]
    %t6 = gemm_tile.dma %a [0, 0] to %d [0, 0] sizes [8, 8] rank_stride [0, 8] : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[D]] [0, 0] sizes [8, 8] target_rank_stride [0, 8]
    %t7 = gemm_tile.dma %a [0, 0] to %d [0, 0] sizes [8, 8] target_rank_stride [0, 8] : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    // Ranks 0, 1 read columns [0, 8), ranks 2, 3 columns [8, 16); then part
    // r mod 2 of a group's slice.
    // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[D]] [0, 0] sizes [8, 8] rank_stride [0, 8] rank_replicas 2 rank_shards 2
    %t8 = gemm_tile.dma %a [0, 0] to %d [0, 0] sizes [8, 8] rank_stride [0, 8] rank_replicas 2 rank_shards 2 : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    // The last rank's rows of a padded vocabulary: rank r reads rows
    // [6r, 6r + 8) of 16, clipped at the end.
    // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[D]] [0, 0] sizes [8, 8] rank_stride [6, 0] clip
    %t9c = gemm_tile.dma %b [0, 0] to %d [0, 0] sizes [8, 8] rank_stride [6, 0] clip : memref<16x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    // The tied head's product: rhs read as 8 rows of 16 (n × k), transposed.
    // CHECK: gemm_tile.matmul pe 1 {{.*}} sizes [8, 8, 16] k_chunk 16 transpose_rhs
    %t10t = gemm_tile.matmul pe 1 %a [0, 0], %b [8, 0] to %c [0, 0] sizes [8, 8, 16] k_chunk 16 transpose_rhs
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<16x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<0>>
    // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[D]] [0, 0] sizes [8, 8] rank_stride [0, 8] rank_shards 2 :
    %t9 = gemm_tile.dma %a [0, 0] to %d [0, 0] sizes [8, 8] rank_stride [0, 8] rank_shards 2 : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    gemm_tile.wait %t5, %t6, %t7, %t8, %t9
    return %d : memref<8x16xf16, #gemm_tile.cube<1>>
  }

  // Every element type; f32 output of a bf16 gemm.
  // CHECK-LABEL: func.func @types
  func.func @types(%a: memref<4x4xbf16, #gemm_tile.cube<1>>, %o: memref<4x4xf32, #gemm_tile.cube<1>>) {
    // CHECK: gemm_tile.matmul pe 0 {{.*}} : !cube1_4x4xbf16, !cube1_4x4xbf16, !cube1_4x4xf32
    %t = gemm_tile.matmul pe 0 %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 4] k_chunk 4
        : memref<4x4xbf16, #gemm_tile.cube<1>>, memref<4x4xbf16, #gemm_tile.cube<1>>, memref<4x4xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t
    return
  }
}
