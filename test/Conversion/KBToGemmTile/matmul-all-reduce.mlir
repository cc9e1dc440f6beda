// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-verify-rings -gemm-tile-check-yield-safety -split-input-file -verify-diagnostics | FileCheck %s

// A row-parallel gemm and its all-reduce in two row chunks: each chunk's
// tiles write a band buffer per cube piece; the band's ring runs
// asynchronously (its steps return tokens) while the next band's tiles are
// issued; once a band's ring is waited for, DMAs copy its rows into the
// result pieces.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @row_parallel
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_8x16xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_8x4xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_8x4xf32
  // Band 0: rows 0-3, two PEs of two rows in each cube.
  // CHECK: %[[B00:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: %[[B01:.*]] = gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: %[[M0:.*]] = gemm_tile.matmul pe 0 %[[X0]] [0, 0], %{{.*}} [0, 0] to %[[B00]] [0, 0] sizes [2, 4, 16]
  // CHECK: %[[M1:.*]] = gemm_tile.matmul pe 1 %[[X0]] [2, 0], %{{.*}} [0, 0] to %[[B00]] [2, 0] sizes [2, 4, 16]
  // CHECK: gemm_tile.matmul pe 0
  // CHECK: gemm_tile.matmul pe 1
  // CHECK: gemm_tile.wait %[[M0]], %[[M1]]
  // CHECK: %[[R0:.*]] = gemm_tile.reduce_scatter_step <sum> %[[B00]], %[[B01]] step 0 of 2 {{.*}} -> !gemm_tile.token
  // CHECK: %[[R1:.*]] = gemm_tile.all_gather_step %[[B00]], %[[B01]] step 0 of 2 {{.*}} -> !gemm_tile.token
  // Band 1: rows 4-7 of the lhs, issued before band 0's ring is waited for.
  // CHECK: %[[B10:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [4, 0], %{{.*}} [0, 0] to %[[B10]] [0, 0] sizes [2, 4, 16]
  // CHECK: gemm_tile.matmul pe 1 %[[X0]] [6, 0]
  // CHECK: gemm_tile.matmul pe 0
  // CHECK: gemm_tile.matmul pe 1
  // CHECK: gemm_tile.wait %[[R0]], %[[R1]]
  // CHECK: gemm_tile.dma %[[B00]] [0, 0] to %[[Y0]] [0, 0] sizes [4, 4]
  // CHECK: gemm_tile.dma %[[B01]] [0, 0] to %[[Y1]] [0, 0] sizes [4, 4]
  // CHECK: gemm_tile.wait
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[B10]], %{{.*}} step 0 of 2 {{.*}} -> !gemm_tile.token
  // CHECK: gemm_tile.all_gather_step %[[B10]], %{{.*}} step 0 of 2 {{.*}} -> !gemm_tile.token
  // CHECK: gemm_tile.wait
  // CHECK: gemm_tile.dma %[[B10]] [0, 0] to %[[Y0]] [4, 0] sizes [4, 4]
  // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[Y1]] [4, 0] sizes [4, 4]
  // CHECK: gemm_tile.wait
  // CHECK: return %[[Y0]], %[[Y1]]
  func.func @row_parallel(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 2 : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}

// -----

// A lhs split by columns over the cubes (a column-parallel result) is needed
// whole by every cube: each band's rows are staged into each cube by DMA,
// band 0's before the first tiles, band 1's issued right after band 0's
// tiles, so they move while those tiles compute; band 1's tiles wait for
// them.

#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @staged_bands
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_8x8xf32 {{[^%]*}}%[[X1:[^:]*]]: !cube1_8x8xf32
  // Band 0's rows of the lhs, whole, in each cube.
  // CHECK: %[[S00:.*]] = gemm_tile.alloc : !cube0_4x16xf32
  // CHECK: %[[D0:.*]] = gemm_tile.dma %[[X0]] [0, 0] to %[[S00]] [0, 0] sizes [4, 8]
  // CHECK: %[[D1:.*]] = gemm_tile.dma %[[X1]] [0, 0] to %[[S00]] [0, 8] sizes [4, 8]
  // CHECK: %[[S01:.*]] = gemm_tile.alloc : !cube1_4x16xf32
  // CHECK: %[[D2:.*]] = gemm_tile.dma %[[X0]] [0, 0] to %[[S01]] [0, 0] sizes [4, 8]
  // CHECK: %[[D3:.*]] = gemm_tile.dma %[[X1]] [0, 0] to %[[S01]] [0, 8] sizes [4, 8]
  // CHECK: gemm_tile.wait %[[D0]], %[[D1]], %[[D2]], %[[D3]]
  // CHECK: %[[M0:.*]] = gemm_tile.matmul pe 0 %[[S00]] [0, 0], %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [2, 4, 16]
  // CHECK: %[[M1:.*]] = gemm_tile.matmul pe 1 %[[S00]] [2, 0]
  // CHECK: %[[M2:.*]] = gemm_tile.matmul pe 0 %[[S01]] [0, 0]
  // CHECK: %[[M3:.*]] = gemm_tile.matmul pe 1 %[[S01]] [2, 0]
  // Band 1's rows: issued before band 0's tiles are waited for.
  // CHECK: %[[S10:.*]] = gemm_tile.alloc : !cube0_4x16xf32
  // CHECK: %[[E0:.*]] = gemm_tile.dma %[[X0]] [4, 0] to %[[S10]] [0, 0] sizes [4, 8]
  // CHECK: %[[E1:.*]] = gemm_tile.dma %[[X1]] [4, 0] to %[[S10]] [0, 8] sizes [4, 8]
  // CHECK: %[[S11:.*]] = gemm_tile.alloc : !cube1_4x16xf32
  // CHECK: %[[E2:.*]] = gemm_tile.dma %[[X0]] [4, 0] to %[[S11]] [0, 0] sizes [4, 8]
  // CHECK: %[[E3:.*]] = gemm_tile.dma %[[X1]] [4, 0] to %[[S11]] [0, 8] sizes [4, 8]
  // CHECK: gemm_tile.wait %[[M0]], %[[M1]], %[[M2]], %[[M3]]
  // CHECK: gemm_tile.reduce_scatter_step
  // CHECK: gemm_tile.all_gather_step
  // CHECK: gemm_tile.wait %[[E0]], %[[E1]], %[[E2]], %[[E3]]
  // CHECK: gemm_tile.matmul pe 0 %[[S10]] [0, 0], %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [2, 4, 16]
  // CHECK: gemm_tile.matmul pe 1 %[[S10]] [2, 0]
  // CHECK: gemm_tile.matmul pe 0 %[[S11]] [0, 0]
  // CHECK: gemm_tile.matmul pe 1 %[[S11]] [2, 0]
  // CHECK-NOT: gemm_tile.dma %[[X0]]
  // CHECK: return
  func.func @staged_bands(%x: tensor<8x16xf32, #cols>, %w: tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 2 : (tensor<8x16xf32, #cols>, tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}

// -----

// A result replicated over the cubes is computed in shares of whole columns,
// one per cube, each band into band buffers of its own as for a split
// result; once a band's ring is waited for, every replica receives the
// band's rows of every share (here straight: a 2-cube device has no mesh to
// relay over), while the next band's tiles compute.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @replicated
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_8x16xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_8x8xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_8x8xf32
  // CHECK: %[[B00:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: %[[B01:.*]] = gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [0, 0], %{{.*}} [0, 0] to %[[B00]] [0, 0] sizes [2, 4, 16]
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[B00]], %[[B01]] step 0 of 2
  // CHECK: gemm_tile.all_gather_step %[[B00]], %[[B01]] step 0 of 2
  // CHECK: %[[B10:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: %[[B11:.*]] = gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[X0]] [4, 0]
  // CHECK: gemm_tile.wait
  // CHECK-NEXT: gemm_tile.dma %[[B00]] [0, 0] to %[[Y0]] [0, 0] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.dma %[[B01]] [0, 0] to %[[Y0]] [0, 4] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.dma %[[B00]] [0, 0] to %[[Y1]] [0, 0] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.dma %[[B01]] [0, 0] to %[[Y1]] [0, 4] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: gemm_tile.reduce_scatter_step <sum> %[[B10]], %[[B11]] step 0 of 2
  // CHECK: gemm_tile.wait
  // CHECK-NEXT: gemm_tile.dma %[[B10]] [0, 0] to %[[Y0]] [4, 0] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.dma %[[B11]] [0, 0] to %[[Y0]] [4, 4] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.dma %[[B10]] [0, 0] to %[[Y1]] [4, 0] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.dma %[[B11]] [0, 0] to %[[Y1]] [4, 4] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return %[[Y0]]
  func.func @replicated(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 2 : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}

// -----

// A replicated result taller than wide is shared out by rows, which a row
// band cannot cut: refused.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @replicated_tall(%x: tensor<16x16xf32, #rep2>, %w: tensor<16x8xf32, #rep2>) -> tensor<16x8xf32, #rep2> {
    // expected-error @below {{cuts its rows into 2 chunks, but its result's placement #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1> does not have every cube compute whole columns of its own piece or share}}
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 2 : (tensor<16x16xf32, #rep2>, tensor<16x8xf32, #rep2>) -> tensor<16x8xf32, #rep2>
    return %y : tensor<16x8xf32, #rep2>
  }
}

// -----

// A result whose cube pieces cut the rows cannot have a ring per row band
// over whole buffers: refused, naming the placement.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @row_split(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #rep2>) -> tensor<8x8xf32, #rows> {
    // expected-error @below {{cuts its rows into 2 chunks, but its result's placement #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1> does not have every cube compute whole columns of its own piece}}
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 2 : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #rep2>) -> tensor<8x8xf32, #rows>
    return %y : tensor<8x8xf32, #rows>
  }
}

// -----

// A band is cut over the PEs along its longer dimension, whatever the
// result's PE split: the result splits rows over the PEs, but a band of 2
// rows and 8 columns gives each PE 2 rows of 4 columns (the squarer slab),
// not 1 row of 8 that would read the whole rhs block for one row.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @wide_bands
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_8x16xf32
  // CHECK: %[[B00:.*]] = gemm_tile.alloc : !cube0_2x8xf32
  // CHECK: gemm_tile.alloc : !cube1_2x8xf32
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[X0]] [0, 0], %{{.*}} [0, 0] to %[[B00]] [0, 0] sizes [2, 4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 1 %[[X0]] [0, 0], %{{.*}} [0, 4] to %[[B00]] [0, 4] sizes [2, 4, 16]
  // CHECK-NOT: sizes [1, 8, 16]
  // CHECK: return
  func.func @wide_bands(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x16xf32, #w>) -> tensor<8x16xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 4 : (tensor<8x16xf32, #rep2>, tensor<16x16xf32, #w>) -> tensor<8x16xf32, #out>
    return %y : tensor<8x16xf32, #out>
  }
}

// -----

// Uneven bands, 2 then 5 then 1 rows of 8 (not a divisor): each band has
// band buffers of its own rows, its lhs rows staged from where the band
// starts, its own ring, and its rows copied to where the band starts in the
// result. The ring and yield checks pass as for even bands.

#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @uneven_bands
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_8x8xf32 {{[^%]*}}%[[X1:[^:]*]]: !cube1_8x8xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_8x4xf32
  // CHECK: gemm_tile.alloc : !cube1_8x4xf32
  // CHECK: %[[S0:.*]] = gemm_tile.alloc : !cube0_2x16xf32
  // CHECK: gemm_tile.dma %[[X0]] [0, 0] to %[[S0]] [0, 0] sizes [2, 8]
  // CHECK: %[[B0:.*]] = gemm_tile.alloc : !cube0_2x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[S0]] [0, 0], %{{.*}} [0, 0] to %[[B0]] [0, 0] sizes [2, 2, 16]
  // Band 1's rows 2-6, staged beside band 0's tiles.
  // CHECK: %[[S1:.*]] = gemm_tile.alloc : !cube0_5x16xf32
  // CHECK: gemm_tile.dma %[[X0]] [2, 0] to %[[S1]] [0, 0] sizes [5, 8]
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[B0]], %{{.*}} step 0 of 2
  // CHECK: %[[B1:.*]] = gemm_tile.alloc : !cube0_5x4xf32
  // CHECK: gemm_tile.matmul pe 0 %[[S1]] [0, 0], %{{.*}} [0, 0] to %[[B1]] [0, 0] sizes [3, 4, 16]
  // CHECK: gemm_tile.matmul pe 1 %[[S1]] [3, 0], %{{.*}} [0, 0] to %[[B1]] [3, 0] sizes [2, 4, 16]
  // Band 2's row 7.
  // CHECK: %[[S2:.*]] = gemm_tile.alloc : !cube0_1x16xf32
  // CHECK: gemm_tile.dma %[[X0]] [7, 0] to %[[S2]] [0, 0] sizes [1, 8]
  // CHECK: gemm_tile.dma %[[B0]] [0, 0] to %[[Y0]] [0, 0] sizes [2, 4]
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[B1]], %{{.*}} step 0 of 2
  // CHECK: %[[B2:.*]] = gemm_tile.alloc : !cube0_1x4xf32
  // CHECK: gemm_tile.dma %[[B1]] [0, 0] to %[[Y0]] [2, 0] sizes [5, 4]
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[B2]], %{{.*}} step 0 of 2
  // CHECK: gemm_tile.dma %[[B2]] [0, 0] to %[[Y0]] [7, 0] sizes [1, 4]
  // CHECK: return
  func.func @uneven_bands(%x: tensor<8x16xf32, #cols>, %w: tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 3 bands [2, 5, 1] : (tensor<8x16xf32, #cols>, tensor<16x8xf32, #w>) -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}
