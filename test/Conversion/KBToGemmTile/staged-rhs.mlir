// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-verify-rings -gemm-tile-check-yield-safety -split-input-file | FileCheck %s

// A weight on one cube (the seed's policy): the other cube receives its
// columns in four groups. Only the first group's copy is waited for before
// the PEs start; each later group's copy is issued after the tiles of the
// group before it, so it moves while they compute. Cube 0 holds the weight
// and reads it in place. The device has no latencies: a group's copy costs
// its bytes alone, so the most groups are the fastest.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#one = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 0>} {
  // CHECK-LABEL: func.func @column_groups
  // CHECK-SAME: %[[W:[^:]*]]: !cube0_8x16xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
  // CHECK: %[[G0:.*]] = gemm_tile.alloc : !cube1_8x2xf32
  // CHECK: %[[D0:.*]] = gemm_tile.dma %[[W]] [0, 8] to %[[G0]] [0, 0] sizes [8, 2]
  // CHECK: gemm_tile.wait %[[D0]]
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[W]] [0, 0] to %[[Y0]] [0, 0] sizes [2, 2, 8]
  // CHECK: gemm_tile.matmul pe 1 %{{.*}} [2, 0], %[[W]] [0, 0] to %[[Y0]] [2, 0] sizes [2, 2, 8]
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[G0]] [0, 0] to %[[Y1]] [0, 0] sizes [2, 2, 8]
  // CHECK: gemm_tile.matmul pe 1 %{{.*}} [2, 0], %[[G0]] [0, 0] to %[[Y1]] [2, 0] sizes [2, 2, 8]
  // CHECK-NOT: gemm_tile.wait
  // CHECK: %[[G1:.*]] = gemm_tile.alloc : !cube1_8x2xf32
  // CHECK: %[[D1:.*]] = gemm_tile.dma %[[W]] [0, 10] to %[[G1]] [0, 0] sizes [8, 2]
  // CHECK: gemm_tile.wait %[[D1]]
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[W]] [0, 2] to %[[Y0]] [0, 2] sizes [2, 2, 8]
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[G1]] [0, 0] to %[[Y1]] [0, 2] sizes [2, 2, 8]
  // CHECK: gemm_tile.dma %[[W]] [0, 12]
  // CHECK: gemm_tile.dma %[[W]] [0, 14]
  // CHECK: gemm_tile.matmul pe 1 %{{.*}} [2, 0], %{{.*}} [0, 0] to %[[Y1]] [2, 6] sizes [2, 2, 8]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return %[[Y0]], %[[Y1]]
  func.func @column_groups(%x: tensor<4x8xf32, #rep2>, %w: tensor<8x16xf32, #one>) -> tensor<4x16xf32, #out> {
    %y = kb.matmul %x, %w : (tensor<4x8xf32, #rep2>, tensor<8x16xf32, #one>) -> tensor<4x16xf32, #out>
    return %y : tensor<4x16xf32, #out>
  }
}

// -----

// The same gemm on a device with latencies (the default's, `ahbm`: 160 ns
// for a copy to the next cube): four copies of 64 bytes would each pay the
// latency, for tiles of a few nanoseconds. The columns come in one copy.
// Cube 0, which holds the weight, multiplies at once; only cube 1's tiles
// wait for the copy.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#one = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @one_group_with_latencies
  // CHECK-SAME: %[[W:[^:]*]]: !cube0_8x16xf32
  // CHECK: %[[G:.*]] = gemm_tile.alloc : !cube1_8x8xf32
  // CHECK: %[[D:.*]] = gemm_tile.dma %[[W]] [0, 8] to %[[G]] [0, 0] sizes [8, 8]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %{{.*}}, %[[W]] [0, 0] to %{{.*}} sizes [2, 8, 8]
  // CHECK-NEXT: gemm_tile.matmul pe 1 %{{.*}}, %[[W]] [0, 0] to %{{.*}} sizes [2, 8, 8]
  // CHECK-NEXT: gemm_tile.wait %[[D]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %{{.*}}, %[[G]] [0, 0] to %{{.*}} sizes [2, 8, 8]
  // CHECK-NEXT: gemm_tile.matmul pe 1 %{{.*}}, %[[G]] [0, 0] to %{{.*}} sizes [2, 8, 8]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return
  func.func @one_group_with_latencies(%x: tensor<4x8xf32, #rep2>, %w: tensor<8x16xf32, #one>) -> tensor<4x16xf32, #out> {
    %y = kb.matmul %x, %w : (tensor<4x8xf32, #rep2>, tensor<8x16xf32, #one>) -> tensor<4x16xf32, #out>
    return %y : tensor<4x16xf32, #out>
  }
}

// -----

// A weight every cube holds its columns of: one step, no copies.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @held
  // CHECK-NOT: gemm_tile.dma
  // CHECK-COUNT-4: gemm_tile.matmul {{.*}} sizes [2, 8, 8]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return
  func.func @held(%x: tensor<4x8xf32, #rep2>, %w: tensor<8x16xf32, #cols>) -> tensor<4x16xf32, #out> {
    %y = kb.matmul %x, %w : (tensor<4x8xf32, #rep2>, tensor<8x16xf32, #cols>) -> tensor<4x16xf32, #out>
    return %y : tensor<4x16xf32, #out>
  }
}

// -----

// The collective matmul with a weight on one cube: the first band's tiles
// are issued in four column groups, each group's columns copied into one
// buffer of the cube's columns while the group before computes; the second
// band reads the whole buffer, copied by then, with no copy of its own.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#one = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @band_groups
  // CHECK: %[[D0:.*]] = gemm_tile.dma %[[W:[^ ]*]] [0, 4] to %[[C1:[^ ]*]] [0, 0] sizes [8, 1] : !cube0_8x8xf32, !cube1_8x4xf32
  // CHECK: gemm_tile.wait %[[D0]]
  // CHECK: %[[B0:.*]] = gemm_tile.alloc : !cube0_4x4xf32
  // CHECK: %[[B1:.*]] = gemm_tile.alloc : !cube1_4x4xf32
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[W]] [0, 0] to %[[B0]] [0, 0] sizes [2, 1, 8]
  // CHECK: gemm_tile.matmul pe 1 %{{.*}} [2, 0], %[[C1]] [0, 0] to %[[B1]] [2, 0] sizes [2, 1, 8]
  // CHECK-NEXT: %[[D1:.*]] = gemm_tile.dma %[[W]] [0, 5] to %[[C1]] [0, 1] sizes [8, 1]
  // CHECK-NEXT: gemm_tile.wait %[[D1]]
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[C1]] [0, 1] to %[[B1]] [0, 1] sizes [2, 1, 8]
  // CHECK: gemm_tile.dma %[[W]] [0, 6] to %[[C1]] [0, 2]
  // CHECK: gemm_tile.dma %[[W]] [0, 7] to %[[C1]] [0, 3]
  // CHECK: gemm_tile.matmul pe 1 %{{.*}} [2, 0], %[[C1]] [0, 3] to %[[B1]] [2, 3] sizes [2, 1, 8]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK: gemm_tile.reduce_scatter_step <sum> %[[B0]], %[[B1]] step 0 of 2
  // CHECK-NOT: gemm_tile.dma %[[W]]
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [4, 0], %[[C1]] [0, 0] to %{{.*}} [0, 0] sizes [2, 4, 8]
  // CHECK: return
  func.func @band_groups(%x: tensor<8x8xf32, #rep2>, %w: tensor<8x8xf32, #one>) -> tensor<8x8xf32, #out> {
    %y = kb.matmul_all_reduce <sum> %x, %w chunks 2 : (tensor<8x8xf32, #rep2>, tensor<8x8xf32, #one>) -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}

// -----

// Groups of 8 columns: the first is cut again into 2 and 6, so the PEs of
// cube 1 wait for a 256-byte copy before their first tiles, not a 1 KiB one,
// and the 6 columns after them move while those tiles compute (the replay
// finds it faster on a device without latencies).

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#one = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 0>} {
  // CHECK-LABEL: func.func @first_group_split
  // CHECK-SAME: %[[W:[^:]*]]: !cube0_64x64xf16
  // CHECK: %[[D0:.*]] = gemm_tile.dma %[[W]] [0, 32] to %{{.*}} [0, 0] sizes [64, 2]
  // CHECK-NEXT: gemm_tile.wait %[[D0]]
  // CHECK: gemm_tile.matmul pe 0 {{.*}} sizes [8, 2, 64]
  // CHECK: %[[D1:.*]] = gemm_tile.dma %[[W]] [0, 34] to %{{.*}} [0, 0] sizes [64, 6]
  // CHECK-NEXT: gemm_tile.wait %[[D1]]
  // CHECK: gemm_tile.dma %[[W]] [0, 40] to %{{.*}} [0, 0] sizes [64, 8]
  // CHECK: gemm_tile.dma %[[W]] [0, 48] to %{{.*}} [0, 0] sizes [64, 8]
  // CHECK: gemm_tile.dma %[[W]] [0, 56] to %{{.*}} [0, 0] sizes [64, 8]
  // CHECK-NOT: gemm_tile.dma
  func.func @first_group_split(%x: tensor<16x64xf16, #rep2>, %w: tensor<64x64xf16, #one>) -> tensor<16x64xf16, #out> {
    %y = kb.matmul %x, %w : (tensor<16x64xf16, #rep2>, tensor<64x64xf16, #one>) -> tensor<16x64xf16, #out>
    return %y : tensor<16x64xf16, #out>
  }
}
