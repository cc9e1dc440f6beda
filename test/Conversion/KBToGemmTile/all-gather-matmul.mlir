// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-verify-rings -gemm-tile-check-yield-safety -split-input-file -verify-diagnostics | FileCheck %s

// Sequence parallelism's all-gather along the rows and two column-parallel
// gemms in two chunks, W = 2, 4 rows a rank: chunk 0 is rows 0-1 of each
// rank (rows 0-1 and 4-5 of the gathered 8), chunk 1 rows 2-3 (2-3, 6-7).
// Each chunk: the rank's 2 rows into a ring buffer on cube 0 at the rank's
// place (a DMA whose target moves with the rank, target_rank_stride), the
// ring along 0, then a copy to cube 1 (to more cubes along a tree, below); each gemm's tiles write rank r's rows
// of the chunk to rows 4r + 2i of the product. Chunk 1's ring runs while
// chunk 0's copy and tiles are issued; the second product, replicated on
// both cubes, is computed in column shares copied to the other cube at the
// end.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#prod = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @column_parallel
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_4x16xf32
  // CHECK-SAME: %[[A0:[^:]*]]: !cube0_16x4xf32
  // CHECK-SAME: %[[A1:[^:]*]]: !cube1_16x4xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_8x4xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_8x4xf32
  // CHECK: %[[Z0:.*]] = gemm_tile.alloc : !cube0_8x8xf32
  // CHECK: %[[Z1:.*]] = gemm_tile.alloc : !cube1_8x8xf32
  // Chunk 0's ring.
  // CHECK: %[[R0:.*]] = gemm_tile.alloc : !cube0_4x16xf32
  // CHECK: %[[P0:.*]] = gemm_tile.dma %[[X0]] [0, 0] to %[[R0]] [0, 0] sizes [2, 16] target_rank_stride [2, 0]
  // CHECK-NEXT: gemm_tile.wait %[[P0]]
  // CHECK-NEXT: %[[T0:.*]] = gemm_tile.all_gather_step %[[R0]] step 0 of 2 along 0 : !cube0_4x16xf32 -> !gemm_tile.token
  // CHECK-NEXT: gemm_tile.wait %[[T0]]
  // Its copy to cube 1, then chunk 1's ring, continuing the one all-gather.
  // CHECK-NEXT: %[[L0:.*]] = gemm_tile.alloc : !cube1_4x16xf32
  // CHECK-NEXT: %[[C0:.*]] = gemm_tile.dma %[[R0]] [0, 0] to %[[L0]] [0, 0] sizes [4, 16]
  // CHECK-NEXT: %[[R1:.*]] = gemm_tile.alloc : !cube0_4x16xf32
  // CHECK-NEXT: %[[P1:.*]] = gemm_tile.dma %[[X0]] [2, 0] to %[[R1]] [0, 0] sizes [2, 16] target_rank_stride [2, 0]
  // CHECK-NEXT: gemm_tile.wait %[[P1]]
  // CHECK-NEXT: %[[T1:.*]] = gemm_tile.all_gather_step %[[R1]] step 0 of 2 along 0 {gemm_tile.continues_collective}
  // Chunk 0's tiles on cube 0 read the ring buffer: rank 0's rows 0-1 to
  // product rows 0-1, rank 1's (buffer rows 2-3) to product rows 4-5.
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R0]] [0, 0], %[[A0]] [0, 0] to %[[Y0]] [0, 0] sizes [1, 4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 1 %[[R0]] [1, 0], %[[A0]] [0, 0] to %[[Y0]] [1, 0] sizes [1, 4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R0]] [2, 0], %[[A0]] [0, 0] to %[[Y0]] [4, 0] sizes [1, 4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 1 %[[R0]] [3, 0], %[[A0]] [0, 0] to %[[Y0]] [5, 0] sizes [1, 4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R0]] [0, 0], %{{.*}} [0, 0] to %[[Z0]] [0, 0] sizes [2, 4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R0]] [2, 0], %{{.*}} [0, 0] to %[[Z0]] [4, 0] sizes [2, 4, 16]
  // Cube 1's once its copy is in.
  // CHECK-NEXT: gemm_tile.wait %[[C0]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L0]] [0, 0], %[[A1]] [0, 0] to %[[Y1]] [0, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.matmul pe 0 %[[L0]] [2, 0], %{{.*}} [0, 0] to %[[Z1]] [4, 4] sizes [2, 4, 16]
  // Chunk 1: rows 2-3 and 6-7 of the products.
  // CHECK-NEXT: gemm_tile.wait %[[T1]]
  // CHECK-NEXT: %[[L1:.*]] = gemm_tile.alloc : !cube1_4x16xf32
  // CHECK-NEXT: %[[C1:.*]] = gemm_tile.dma %[[R1]] [0, 0] to %[[L1]] [0, 0] sizes [4, 16]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R1]] [0, 0], %[[A0]] [0, 0] to %[[Y0]] [2, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.matmul pe 1 %[[R1]] [3, 0], %[[A0]] [0, 0] to %[[Y0]] [7, 0] sizes [1, 4, 16]
  // CHECK: gemm_tile.wait %[[C1]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L1]] [0, 0], %[[A1]] [0, 0] to %[[Y1]] [2, 0] sizes [1, 4, 16]
  // The replicated product's shares into the other cube.
  // CHECK: gemm_tile.dma %[[Z0]] [0, 0] to %[[Z1]] [0, 0] sizes [8, 4]
  // CHECK: gemm_tile.dma %[[Z1]] [0, 4] to %[[Z0]] [0, 4] sizes [8, 4]
  // CHECK: gemm_tile.wait
  // CHECK-NEXT: return %[[Y0]], %[[Y1]], %[[Z0]]
  func.func @column_parallel(%x: tensor<4x16xf32, #rep2>, %a: tensor<16x8xf32, #w>, %b: tensor<16x8xf32, #w>) -> (tensor<8x8xf32, #prod>, tensor<8x8xf32, #rep2>) {
    %y, %z = kb.all_gather_matmul %x, %a, %b along 0 chunks 2 : (tensor<4x16xf32, #rep2>, tensor<16x8xf32, #w>, tensor<16x8xf32, #w>) -> (tensor<8x8xf32, #prod>, tensor<8x8xf32, #rep2>)
    return %y, %z : tensor<8x8xf32, #prod>, tensor<8x8xf32, #rep2>
  }
}

// -----

// Four cubes compute, on this device a row of four: the gathered chunk
// reaches them along a tree of one-hop copies (kb/Device/MeshBroadcast.h),
// here a chain, each copy ordered after the one that brought its source
// (`after`), all issued at once; the rank then waits for each cube's copy in
// the order they arrive and issues that cube's tiles. (Doubling the holders
// sent copies of two hops that share the middle link, each level waited
// for.) A chunk this small goes whole: cut into parts, each part would pay
// a copy's latency again.
#rep4 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 1>
#w4 = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 4, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @broadcast_tree
  // CHECK: %[[R:.*]] = gemm_tile.alloc : !cube0_4x16xf32
  // CHECK: %[[T:.*]] = gemm_tile.all_gather_step %[[R]] step 0 of 2 along 0
  // CHECK-NEXT: gemm_tile.wait %[[T]]
  // CHECK-NEXT: %[[L1:.*]] = gemm_tile.alloc : !cube1_4x16xf32
  // CHECK-NEXT: %[[L2:.*]] = gemm_tile.alloc : !cube2_4x16xf32
  // CHECK-NEXT: %[[L3:.*]] = gemm_tile.alloc : !cube3_4x16xf32
  // CHECK-NEXT: %[[C1:.*]] = gemm_tile.dma %[[R]] [0, 0] to %[[L1]] [0, 0] sizes [4, 16] :
  // CHECK-NEXT: %[[C2:.*]] = gemm_tile.dma %[[L1]] [0, 0] to %[[L2]] [0, 0] sizes [4, 16] after %[[C1]] :
  // CHECK-NEXT: %[[C3:.*]] = gemm_tile.dma %[[L2]] [0, 0] to %[[L3]] [0, 0] sizes [4, 16] after %[[C2]] :
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R]] [0, 0]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[R]] [2, 0]
  // CHECK-NEXT: gemm_tile.wait %[[C1]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L1]] [0, 0]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L1]] [2, 0]
  // CHECK-NEXT: gemm_tile.wait %[[C2]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L2]] [0, 0]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L2]] [2, 0]
  // CHECK-NEXT: gemm_tile.wait %[[C3]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L3]] [0, 0]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[L3]] [2, 0]
  func.func @broadcast_tree(%x: tensor<2x16xf32, #rep4>, %a: tensor<16x8xf32, #w4>) -> tensor<4x8xf32, #w4> {
    %y = kb.all_gather_matmul %x, %a along 0 chunks 1 : (tensor<2x16xf32, #rep4>, tensor<16x8xf32, #w4>) -> tensor<4x8xf32, #w4>
    return %y : tensor<4x8xf32, #w4>
  }
}

// -----

// A product whose cubes each hold some of the rows: a chunk's rows of it
// are not one cube's own.
#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @rows_split(%x: tensor<4x16xf32, #rep2>, %a: tensor<16x8xf32, #rep2>) -> tensor<8x8xf32, #rows> {
    // expected-error @below {{'kb.all_gather_matmul' op computes its 8x8 product in chunks of rows, but the placement #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1> has a cube compute only some of the rows; place it split by columns or on one cube}}
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<4x16xf32, #rep2>, tensor<16x8xf32, #rep2>) -> tensor<8x8xf32, #rows>
    return %y : tensor<8x8xf32, #rows>
  }
}

// -----

// A product replicated over the 16 cubes of ahbm's 4 x 4 mesh, as the
// sequence-parallel Llama-2-7B layer's q and k: once its tiles are done,
// its column shares reach the replicas by relay, as kb.matmul's do
// (mesh-relay.mlir) and as placement prices them: the cube of each mesh
// row in each column gathers its row's four shares (64 copies of 16 x 16),
// and each cube takes one 16 x 64 box per mesh row from the relays in its
// column (64 copies, each after the gather copies of its box: no wait holds
// the rank between the two), instead of 240 copies straight.
#rep16 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
#w16 = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @replicated_relayed
  // CHECK: gemm_tile.matmul pe 7 {{.*}} [12, 254] sizes [4, 2, 64] {{.*}} !cube15_16x256xf16
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x64xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 16]
  // CHECK-NEXT: gemm_tile.dma {{.*}} sizes [16, 64] after
  // CHECK-COUNT-63: gemm_tile.dma {{.*}} sizes [16, 64] after
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return
  func.func @replicated_relayed(%x: tensor<8x64xf16, #rep16>, %a: tensor<64x256xf16, #w16>) -> tensor<16x256xf16, #rep16> {
    %y = kb.all_gather_matmul %x, %a along 0 chunks 2 : (tensor<8x64xf16, #rep16>, tensor<64x256xf16, #w16>) -> tensor<16x256xf16, #rep16>
    return %y : tensor<16x256xf16, #rep16>
  }
}
