// RUN: kb-opt %s --kb-device=small -convert-kb-to-gemm-tile -gemm-tile-check-cube-memory -split-input-file | FileCheck %s

// Decode (one query at position 255 against 256 keys) of two heads of one KV
// head, a head a PE, on a cube of four PEs: two PEs would sit idle, so each
// head gets two PEs and its keys split in two ranges of 128, each a partial
// into an f32 buffer of 2 rows of head_dim + 2 floats, then a combine on the
// head's first PE once both partials are done.

#out = #kb.dp<cube = replicate, pe = shard(1), num_cubes = 1, num_pes = 2>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 4, cube_pe_gbps = 1000, cube_cube_gbps = 256, link_gbps = 100, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 0, memory_efficiency_permille = 1000>} {
  // CHECK-LABEL: func.func @decode_split
  // CHECK-SAME: (%[[Q:[^:]*]]: !cube0_1x16xf32
  // CHECK-SAME: %[[K:[^:]*]]: !cube0_256x8xf32
  // CHECK-SAME: %[[V:[^:]*]]: !cube0_256x8xf32
  // CHECK: %[[O:.*]] = gemm_tile.alloc : !cube0_1x16xf32
  // CHECK: %[[P0:.*]] = gemm_tile.alloc : !cube0_2x10xf32
  // CHECK: %[[T0:.*]] = gemm_tile.attention_partial pe 0 %[[Q]] [0, 0], %[[K]] [0, 0], %[[V]] [0, 0] to %[[P0]] [0, 0] sizes [1, 128, 8] heads 1 position 255 key_begin 0 key_chunk 128
  // CHECK: %[[T1:.*]] = gemm_tile.attention_partial pe 1 %[[Q]] [0, 0], %[[K]] [128, 0], %[[V]] [128, 0] to %[[P0]] [1, 0] sizes [1, 128, 8] heads 1 position 255 key_begin 128 key_chunk 128
  // CHECK: %[[P1:.*]] = gemm_tile.alloc : !cube0_2x10xf32
  // CHECK: %[[T2:.*]] = gemm_tile.attention_partial pe 2 %[[Q]] [0, 8], %[[K]] [0, 0], %[[V]] [0, 0] to %[[P1]] [0, 0] sizes [1, 128, 8] heads 1 position 255 key_begin 0 key_chunk 128
  // CHECK: %[[T3:.*]] = gemm_tile.attention_partial pe 3 %[[Q]] [0, 8], %[[K]] [128, 0], %[[V]] [128, 0] to %[[P1]] [1, 0] sizes [1, 128, 8] heads 1 position 255 key_begin 128 key_chunk 128
  // CHECK: gemm_tile.wait %[[T0]], %[[T1]], %[[T2]], %[[T3]]
  // CHECK: %[[C0:.*]] = gemm_tile.attention_combine pe 0 %[[P0]] [0, 0] to %[[O]] [0, 0] sizes [2, 1, 8] heads 1
  // CHECK: %[[C1:.*]] = gemm_tile.attention_combine pe 2 %[[P1]] [0, 0] to %[[O]] [0, 8] sizes [2, 1, 8] heads 1
  // CHECK: gemm_tile.wait %[[C0]], %[[C1]]
  // CHECK-NOT: gemm_tile.attention
  // CHECK: return %[[O]]
  func.func @decode_split(%q: tensor<1x16xf32, #out>, %k: tensor<256x8xf32, #rep>, %v: tensor<256x8xf32, #rep>)
      -> tensor<1x16xf32, #out> {
    %0 = kb.attention %q, %k, %v heads 2 kv_heads 1
        : (tensor<1x16xf32, #out>, tensor<256x8xf32, #rep>, tensor<256x8xf32, #rep>) -> tensor<1x16xf32, #out>
    return %0 : tensor<1x16xf32, #out>
  }
}

// -----

// A short cache (100 keys: no two ranges of 64) is not split, idle PEs or
// not: one gemm_tile.attention a head.

#out = #kb.dp<cube = replicate, pe = shard(1), num_cubes = 1, num_pes = 2>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 4, cube_pe_gbps = 1000, cube_cube_gbps = 256, link_gbps = 100, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 0, memory_efficiency_permille = 1000>} {
  // CHECK-LABEL: func.func @short_cache
  // CHECK-NOT: gemm_tile.attention_partial
  // CHECK: gemm_tile.attention pe 0 {{.*}} sizes [1, 100, 8] heads 1 position 99
  // CHECK: gemm_tile.attention pe 1 {{.*}} sizes [1, 100, 8] heads 1 position 99
  // CHECK-NOT: gemm_tile.attention_
  // CHECK: return
  func.func @short_cache(%q: tensor<1x16xf32, #out>, %k: tensor<100x8xf32, #rep>, %v: tensor<100x8xf32, #rep>)
      -> tensor<1x16xf32, #out> {
    %0 = kb.attention %q, %k, %v heads 2 kv_heads 1
        : (tensor<1x16xf32, #out>, tensor<100x8xf32, #rep>, tensor<100x8xf32, #rep>) -> tensor<1x16xf32, #out>
    return %0 : tensor<1x16xf32, #out>
  }
}

// -----

// Four query rows over four PEs: no PE is idle, so the keys stay whole even
// though the cache is long.

#out = #kb.dp<cube = replicate, pe = shard(0), num_cubes = 1, num_pes = 4>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 4, cube_pe_gbps = 1000, cube_cube_gbps = 256, link_gbps = 100, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 0, memory_efficiency_permille = 1000>} {
  // CHECK-LABEL: func.func @no_idle_pe
  // CHECK-NOT: gemm_tile.attention_partial
  // CHECK: gemm_tile.attention pe 0 {{.*}} sizes [1, 253, 8] heads 2 position 252
  // CHECK: gemm_tile.attention pe 1 {{.*}} sizes [1, 254, 8] heads 2 position 253
  // CHECK: gemm_tile.attention pe 2 {{.*}} sizes [1, 255, 8] heads 2 position 254
  // CHECK: gemm_tile.attention pe 3 {{.*}} sizes [1, 256, 8] heads 2 position 255
  // CHECK-NOT: gemm_tile.attention_
  // CHECK: return
  func.func @no_idle_pe(%q: tensor<4x16xf32, #out>, %k: tensor<256x8xf32, #rep>, %v: tensor<256x8xf32, #rep>)
      -> tensor<4x16xf32, #out> {
    %0 = kb.attention %q, %k, %v heads 2 kv_heads 1
        : (tensor<4x16xf32, #out>, tensor<256x8xf32, #rep>, tensor<256x8xf32, #rep>) -> tensor<4x16xf32, #out>
    return %0 : tensor<4x16xf32, #out>
  }
}

// -----

// A combine that does not fit the PE buffer is not made: 100 heads of
// head_dim 64 on one PE fit its 76 KiB with chunks of 18 keys (74784 bytes
// at 16), but their combine needs 100 · 66 · 12 = 79200 bytes. The keys
// stay whole though three PEs sit idle.

#out = #kb.dp<cube = replicate, pe = shard(1), num_cubes = 1, num_pes = 1>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 4, pe_buffer_kib = 76, cube_pe_gbps = 1000, cube_cube_gbps = 256, link_gbps = 100, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 0, kernel_launch_ns = 0, memory_efficiency_permille = 1000>} {
  // CHECK-LABEL: func.func @combine_too_big
  // CHECK-NOT: gemm_tile.attention_
  // CHECK: gemm_tile.attention pe 0 {{.*}} sizes [1, 512, 64] heads 100 position 511 key_chunk 18
  // CHECK-NOT: gemm_tile.attention_
  // CHECK: return
  func.func @combine_too_big(%q: tensor<1x6400xf32, #out>, %k: tensor<512x64xf32, #rep>, %v: tensor<512x64xf32, #rep>)
      -> tensor<1x6400xf32, #out> {
    %0 = kb.attention %q, %k, %v heads 100 kv_heads 1
        : (tensor<1x6400xf32, #out>, tensor<512x64xf32, #rep>, tensor<512x64xf32, #rep>) -> tensor<1x6400xf32, #out>
    return %0 : tensor<1x6400xf32, #out>
  }
}
