// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-check-cube-memory -split-input-file -verify-diagnostics | FileCheck %s

// Prefill with the result sharded by heads over the cubes and by rows over
// the PEs: each cube's piece holds whole heads (one KV head's two query heads),
// so each PE stacks them in one block of its rows and writes its piece in
// place. q is placed like the result and k, v are in every cube: no DMA.
// The blocks' keys stop at their last row: rows 0-1 read 2 keys, rows 2-3 all 4.

#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @prefill_by_heads
  // CHECK-SAME: (%[[Q0:[^:]*]]: !cube0_4x8xf32
  // CHECK-SAME: %[[Q1:[^:]*]]: !cube1_4x8xf32
  // CHECK-SAME: %[[K0:[^:]*]]: !cube0_4x8xf32
  // CHECK-SAME: %[[K1:[^:]*]]: !cube1_4x8xf32
  // CHECK-SAME: %[[V0:[^:]*]]: !cube0_4x8xf32
  // CHECK-SAME: %[[V1:[^:]*]]: !cube1_4x8xf32
  // CHECK-NOT: gemm_tile.dma
  // CHECK: %[[O0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[O1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
  // CHECK: %[[T0:.*]] = gemm_tile.attention pe 0 %[[Q0]] [0, 0], %[[K0]] [0, 0], %[[V0]] [0, 0] to %[[O0]] [0, 0] sizes [2, 2, 4] heads 2 position 0 key_chunk 2
  // CHECK: %[[T1:.*]] = gemm_tile.attention pe 1 %[[Q0]] [2, 0], %[[K0]] [0, 0], %[[V0]] [0, 0] to %[[O0]] [2, 0] sizes [2, 4, 4] heads 2 position 2 key_chunk 4
  // CHECK: %[[T2:.*]] = gemm_tile.attention pe 0 %[[Q1]] [0, 0], %[[K1]] [0, 4], %[[V1]] [0, 4] to %[[O1]] [0, 0] sizes [2, 2, 4] heads 2 position 0 key_chunk 2
  // CHECK: %[[T3:.*]] = gemm_tile.attention pe 1 %[[Q1]] [2, 0], %[[K1]] [0, 4], %[[V1]] [0, 4] to %[[O1]] [2, 0] sizes [2, 4, 4] heads 2 position 2 key_chunk 4
  // CHECK: gemm_tile.wait %[[T0]], %[[T1]], %[[T2]], %[[T3]]
  // CHECK-NOT: gemm_tile.dma
  // CHECK: return %[[O0]], %[[O1]]
  func.func @prefill_by_heads(%q: tensor<4x16xf32, #out>, %k: tensor<4x8xf32, #rep>, %v: tensor<4x8xf32, #rep>)
      -> tensor<4x16xf32, #out> {
    %0 = kb.attention %q, %k, %v heads 4 kv_heads 2
        : (tensor<4x16xf32, #out>, tensor<4x8xf32, #rep>, tensor<4x8xf32, #rep>) -> tensor<4x16xf32, #out>
    return %0 : tensor<4x16xf32, #out>
  }
}

// -----

// Decode (one query at position 4 against 5 keys) into a result replicated
// over both cubes: the cubes split the heads (more heads than rows), each PE
// one head; the KV heads' columns are where each cube's heads need them; then
// each block's head goes to the other replica.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#kv = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @decode_replicated
  // CHECK-NOT: gemm_tile.dma
  // CHECK: %[[O0:.*]] = gemm_tile.alloc : !cube0_1x16xf16
  // CHECK: %[[O1:.*]] = gemm_tile.alloc : !cube1_1x16xf16
  // CHECK: gemm_tile.attention pe 0 %{{.*}} [0, 0], %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[O0]] [0, 0] sizes [1, 5, 4] heads 1 position 4 key_chunk 5
  // CHECK: gemm_tile.attention pe 1 %{{.*}} [0, 4], %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[O0]] [0, 4] sizes [1, 5, 4] heads 1 position 4 key_chunk 5
  // CHECK: gemm_tile.attention pe 0 %{{.*}} [0, 8], %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[O1]] [0, 8] sizes [1, 5, 4] heads 1 position 4 key_chunk 5
  // CHECK: gemm_tile.attention pe 1 %{{.*}} [0, 12], %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[O1]] [0, 12] sizes [1, 5, 4] heads 1 position 4 key_chunk 5
  // CHECK: gemm_tile.wait
  // CHECK: gemm_tile.dma %[[O0]] [0, 0] to %[[O1]] [0, 0] sizes [1, 4]
  // CHECK: gemm_tile.dma %[[O0]] [0, 4] to %[[O1]] [0, 4] sizes [1, 4]
  // CHECK: gemm_tile.dma %[[O1]] [0, 8] to %[[O0]] [0, 8] sizes [1, 4]
  // CHECK: gemm_tile.dma %[[O1]] [0, 12] to %[[O0]] [0, 12] sizes [1, 4]
  // CHECK: gemm_tile.wait
  func.func @decode_replicated(%q: tensor<1x16xf16, #rep>, %k: tensor<5x8xf16, #kv>, %v: tensor<5x8xf16, #kv>)
      -> tensor<1x16xf16, #rep> {
    %0 = kb.attention %q, %k, %v heads 4 kv_heads 2
        : (tensor<1x16xf16, #rep>, tensor<5x8xf16, #kv>, tensor<5x8xf16, #kv>) -> tensor<1x16xf16, #rep>
    return %0 : tensor<1x16xf16, #rep>
  }
}

// -----

// A policy that cuts each head over two cubes: a head is computed whole in
// the cube where it starts (cubes 0 and 2), its rows over the PEs, into
// scratch buffers, and both cubes' pieces take their columns of them. The
// head's q, k and v columns arrive from the two cubes that hold them.

#cut = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 4, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @head_cut_by_the_policy
  // CHECK: %[[O0:.*]] = gemm_tile.alloc : !cube0_2x2xbf16
  // CHECK: %[[O1:.*]] = gemm_tile.alloc : !cube1_2x2xbf16
  // CHECK: %[[Q:.*]] = gemm_tile.alloc : !cube0_2x4xbf16
  // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[Q]] [0, 0] sizes [2, 2]
  // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %[[Q]] [0, 2] sizes [2, 2]
  // CHECK: gemm_tile.wait
  // CHECK: %[[S0:.*]] = gemm_tile.alloc : !cube0_1x4xbf16
  // CHECK: gemm_tile.attention pe 0 %[[Q]] [0, 0], {{.*}} to %[[S0]] [0, 0] sizes [1, 1, 4] heads 1 position 0 key_chunk 1
  // CHECK: %[[S1:.*]] = gemm_tile.alloc : !cube0_1x4xbf16
  // CHECK: gemm_tile.attention pe 1 %[[Q]] [1, 0], {{.*}} to %[[S1]] [0, 0] sizes [1, 2, 4] heads 1 position 1 key_chunk 2
  // CHECK: gemm_tile.attention pe 0 {{.*}} : !cube2_2x4xbf16
  // CHECK: gemm_tile.attention pe 1 {{.*}} : !cube2_2x4xbf16
  // CHECK: gemm_tile.wait
  // CHECK: gemm_tile.dma %[[S0]] [0, 0] to %[[O0]] [0, 0] sizes [1, 2]
  // CHECK: gemm_tile.dma %[[S0]] [0, 2] to %[[O1]] [0, 0] sizes [1, 2]
  // CHECK: gemm_tile.dma %[[S1]] [0, 0] to %[[O0]] [1, 0] sizes [1, 2]
  // CHECK: gemm_tile.dma %[[S1]] [0, 2] to %[[O1]] [1, 0] sizes [1, 2]
  // CHECK-COUNT-4: gemm_tile.dma
  // CHECK: gemm_tile.wait
  func.func @head_cut_by_the_policy(%q: tensor<2x8xbf16, #cut>, %k: tensor<2x8xbf16, #cut>, %v: tensor<2x8xbf16, #cut>)
      -> tensor<2x8xbf16, #cut> {
    %0 = kb.attention %q, %k, %v heads 2 kv_heads 2
        : (tensor<2x8xbf16, #cut>, tensor<2x8xbf16, #cut>, tensor<2x8xbf16, #cut>) -> tensor<2x8xbf16, #cut>
    return %0 : tensor<2x8xbf16, #cut>
  }
}

// -----

// One query row of one head of head_dim 256 in f32 takes 10256 bytes of PE
// buffer with a chunk of 2 keys (the query, its accumulator, two chunks of k
// and v, the scores): more than a 1 KiB buffer holds, so no block fits.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1, pe_buffer_kib = 1>} {
  func.func @head_too_wide(%q: tensor<2x256xf32, #rep>) -> tensor<2x256xf32, #rep> {
    // expected-error@+1 {{'kb.attention' op needs 10256 bytes of PE buffer for one query row of one head (head_dim 256, a chunk of 2 keys), but a PE has 1024}}
    %0 = kb.attention %q, %q, %q heads 1 kv_heads 1
        : (tensor<2x256xf32, #rep>, tensor<2x256xf32, #rep>, tensor<2x256xf32, #rep>) -> tensor<2x256xf32, #rep>
    return %0 : tensor<2x256xf32, #rep>
  }
}

