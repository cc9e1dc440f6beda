// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-verify-rings -gemm-tile-check-yield-safety -split-input-file -verify-diagnostics | FileCheck %s

// A row-parallel gemm and its reduce-scatter along the rows in two chunks,
// W = 2, 8 rows: rank r keeps rows [4r, 4r + 4), so chunk 0 is rows 0-1 and
// 4-5 of the product (part 0 of each rank's slice), chunk 1 rows 2-3 and 6-7.
// Each chunk's tiles write a buffer per cube piece of the product's
// placement (`compute`), the pieces are copied into one ring buffer, whose
// ring along 0 runs asynchronously while the next chunk's tiles are issued;
// once it is waited for, a DMA whose source moves with the rank (rank_stride)
// copies the rank's 2 rows into the result piece that holds them: chunk 0
// into rows 0-1 of the rank's slice (cube 0's piece), chunk 1 into rows 2-3
// (cube 1's). Each chunk's copy into its ring buffer runs beside the next
// chunk's tiles, and its ring starts after them.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#prod = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
#out = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @row_parallel
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_8x16xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_2x8xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_2x8xf32
  // Chunk 0: rows 0-1 and 4-5 of the lhs, a row per PE.
  // CHECK: %[[C00:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: %[[C01:.*]] = gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [0, 0], %{{.*}} [0, 0] to %[[C00]] [0, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.matmul pe 1 %[[X0]] [1, 0], %{{.*}} [0, 0] to %[[C00]] [1, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [4, 0], %{{.*}} [0, 0] to %[[C00]] [2, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.matmul pe 1 %[[X0]] [5, 0], %{{.*}} [0, 0] to %[[C00]] [3, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.wait
  // CHECK: %[[R0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[G0:.*]] = gemm_tile.dma %[[C00]] [0, 0] to %[[R0]] [0, 0] sizes [4, 4]
  // CHECK: %[[G1:.*]] = gemm_tile.dma %[[C01]] [0, 0] to %[[R0]] [0, 4] sizes [4, 4]
  // Chunk 1's tiles are issued while chunk 0 is copied into its ring buffer;
  // chunk 0's ring starts after them.
  // CHECK: %[[C10:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [2, 0], %{{.*}} [0, 0] to %[[C10]] [0, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [6, 0], %{{.*}} [0, 0] to %[[C10]] [2, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.wait %[[G0]], %[[G1]]
  // CHECK-NEXT: %[[T0:.*]] = gemm_tile.reduce_scatter_step <sum> %[[R0]] step 0 of 2 along 0 : !cube0_4x8xf32 -> !gemm_tile.token
  // CHECK-NEXT: gemm_tile.wait
  // CHECK: %[[R1:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: gemm_tile.wait %[[T0]]
  // CHECK-NEXT: gemm_tile.dma %[[R0]] [0, 0] to %[[Y0]] [0, 0] sizes [2, 8] rank_stride [2, 0]
  // CHECK: %[[T1:.*]] = gemm_tile.reduce_scatter_step <sum> %[[R1]] step 0 of 2 along 0 {gemm_tile.continues_collective} : !cube0_4x8xf32 -> !gemm_tile.token
  // CHECK-NEXT: gemm_tile.wait %[[T1]]
  // CHECK-NEXT: gemm_tile.dma %[[R1]] [0, 0] to %[[Y1]] [0, 0] sizes [2, 8] rank_stride [2, 0]
  // CHECK: return %[[Y0]], %[[Y1]]
  func.func @row_parallel(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #w>) -> tensor<4x8xf32, #out> {
    %y = kb.matmul_reduce_scatter <sum> %x, %w along 0 chunks 2 {compute = #prod} : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #w>) -> tensor<4x8xf32, #out>
    return %y : tensor<4x8xf32, #out>
  }
}

// -----

// The product on one cube, the ring's: the chunk buffer is the ring buffer,
// no copy; the result replicated on both cubes takes each chunk's rows in
// both.

#one = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 2>
#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @one_cube
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
  // CHECK: %[[C0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK-NOT: gemm_tile.dma
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[C0]] step 0 of 2 along 0 : !cube0_4x8xf32 -> !gemm_tile.token
  // CHECK-NOT: gemm_tile.dma
  // CHECK: gemm_tile.dma %[[C0]] [0, 0] to %[[Y0]] [0, 0] sizes [2, 8] rank_stride [2, 0]
  // CHECK-NEXT: gemm_tile.dma %[[C0]] [0, 0] to %[[Y1]] [0, 0] sizes [2, 8] rank_stride [2, 0]
  func.func @one_cube(%x: tensor<8x16xf32, #one>, %w: tensor<16x8xf32, #one>) -> tensor<4x8xf32, #rep2> {
    %y = kb.matmul_reduce_scatter <sum> %x, %w along 0 chunks 2 {compute = #one} : (tensor<8x16xf32, #one>, tensor<16x8xf32, #one>) -> tensor<4x8xf32, #rep2>
    return %y : tensor<4x8xf32, #rep2>
  }
}

// -----

// A product placement that cuts the rows over the cubes: no cube computes
// whole columns of its own piece, so the chunks cannot be cut from it.

#rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @rows_over_cubes(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #rep2>) -> tensor<4x8xf32, #rep2> {
    // expected-error @below {{'kb.matmul_reduce_scatter' op computes its 8x8 product in chunks of rows, but the placement #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1> does not have every cube compute whole columns of its own piece; place it split by columns or on one cube}}
    %y = kb.matmul_reduce_scatter <sum> %x, %w along 0 chunks 2 {compute = #rows} : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #rep2>) -> tensor<4x8xf32, #rep2>
    return %y : tensor<4x8xf32, #rep2>
  }
}

// -----

// Without `compute` the chunks are computed in the result's placement, here
// split by columns over the two cubes: each chunk's rank rows leave the ring
// buffer in two column pieces, into rows 0-1 (chunk 0) and 2-3 (chunk 1) of
// each.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @result_placement
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: %[[R0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[R1:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: gemm_tile.dma %[[R0]] [0, 0] to %[[Y0]] [0, 0] sizes [2, 4] rank_stride [2, 0]
  // CHECK-NEXT: gemm_tile.dma %[[R0]] [0, 4] to %[[Y1]] [0, 0] sizes [2, 4] rank_stride [2, 0]
  // CHECK: gemm_tile.dma %[[R1]] [0, 0] to %[[Y0]] [2, 0] sizes [2, 4] rank_stride [2, 0]
  // CHECK-NEXT: gemm_tile.dma %[[R1]] [0, 4] to %[[Y1]] [2, 0] sizes [2, 4] rank_stride [2, 0]
  func.func @result_placement(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #cols>) -> tensor<4x8xf32, #cols> {
    %y = kb.matmul_reduce_scatter <sum> %x, %w along 0 chunks 2 : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #cols>) -> tensor<4x8xf32, #cols>
    return %y : tensor<4x8xf32, #cols>
  }
}
