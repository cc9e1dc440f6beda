// RUN: kb-opt --kb-device=small %s -kb-tp-partition -kb-place='cost-model=false' -convert-kb-to-gemm-tile -split-input-file | FileCheck %s

// A rank's shard of the vocabulary (16 ids of 64), its columns over 4 cubes:
// the ids (split over 3 cubes by the rule for vectors) are staged whole into
// each cube by DMA, then each cube's DMA engine gathers its 8 columns of the
// 9 token rows from the table piece it holds; row r of the shard is id
// 16 · rank + r (rank_stride 16).

// CHECK-LABEL: func.func @shard
// CHECK-SAME: %[[IDS0:[^:]*]]: !cube0_3xi32
// CHECK-SAME: %[[T0:[^:]*]]: !cube0_16x8xf16
// CHECK-SAME: %[[T3:[^:]*]]: !cube3_16x8xf16
// CHECK: %[[OUT0:.*]] = gemm_tile.alloc : !cube0_9x8xf16
// CHECK: %[[OUT3:.*]] = gemm_tile.alloc : !cube3_9x8xf16
// CHECK: %[[I0:.*]] = gemm_tile.alloc : !cube0_9xi32
// CHECK-NEXT: gemm_tile.dma %[[IDS0]] [0] to %[[I0]] [0] sizes [3]
// CHECK: %[[I3:.*]] = gemm_tile.alloc : !cube3_9xi32
// CHECK: gemm_tile.wait
// CHECK-NEXT: %[[G0:.*]] = gemm_tile.gather_rows %[[I0]] [0], %[[T0]] [0, 0] to %[[OUT0]] [0, 0] sizes [9, 8] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
// CHECK: %[[G3:.*]] = gemm_tile.gather_rows %[[I3]] [0], %[[T3]] [0, 0] to %[[OUT3]] [0, 0] sizes [9, 8] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
// CHECK-NEXT: gemm_tile.wait %[[G0]], %{{.*}}, %{{.*}}, %[[G3]]
// CHECK: gemm_tile.reduce_scatter_step <sum>
module attributes {kb.world_size = 4 : i64} {
  func.func @shard(%ids: tensor<9xi32>, %wte: tensor<64x32xf16>) -> tensor<9x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

// A vocabulary 4 does not divide (61, shards of 16): the table is whole on
// every rank, its row r is id r (rank_stride 0), and rank r gathers only the
// ids of its shard [16 · r, 16 · r + 16) ∩ [0, 61).

// CHECK-LABEL: func.func @padded
// CHECK: gemm_tile.gather_rows %{{.*}} [0], %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [9, 8] table_rows 61 first_id 0 rank_stride 0 shard 16 vocab 61 : !cube0_9xi64, !cube0_61x8xf16, !cube0_9x8xf16
module attributes {kb.world_size = 4 : i64} {
  func.func @padded(%ids: tensor<9xi64>, %wte: tensor<61x32xf16>) -> tensor<9x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi64>, tensor<61x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

// One rank: the global lookup, the vocabulary its one shard.

// CHECK-LABEL: func.func @one_rank
// CHECK: gemm_tile.gather_rows %{{.*}} [0], %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [9, 8] table_rows 61 first_id 0 rank_stride 0 shard 61 vocab 61
// CHECK-NOT: reduce_scatter_step
module attributes {kb.world_size = 1 : i64} {
  func.func @one_rank(%ids: tensor<9xi32>, %wte: tensor<61x32xf16>) -> tensor<9x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<61x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}
