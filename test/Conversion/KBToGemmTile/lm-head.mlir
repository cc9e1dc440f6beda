// RUN: kb-opt --kb-device=small %s -kb-tp-partition -kb-place='cost-model=false' -convert-kb-to-gemm-tile -split-input-file | FileCheck %s

// The tied head over a vocabulary 4 does not divide (61, shards of 16): the
// table is whole on every rank (its hidden columns over 4 cubes), and each
// cube stages the table rows of its 4 logits' columns by DMAs that move with
// the rank (row 16·r + 4·c) and are clipped at row 61, so the last rank's
// padded rows stay zero; its PEs then multiply the staged rows transposed.

// CHECK-LABEL: func.func @padded
// CHECK-SAME: %[[T0:[^:]*]]: !cube0_61x8xf16
// CHECK: %[[S0:.*]] = gemm_tile.alloc : !cube0_4x32xf16
// CHECK-NEXT: gemm_tile.dma %[[T0]] [0, 0] to %[[S0]] [0, 0] sizes [4, 8] rank_stride [16, 0] clip
// CHECK: %[[S1:.*]] = gemm_tile.alloc : !cube1_4x32xf16
// CHECK-NEXT: gemm_tile.dma %[[T0]] [4, 0] to %[[S1]] [0, 0] sizes [4, 8] rank_stride [16, 0] clip
// CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %[[S0]] [0, 0] to %{{.*}} [0, 0] sizes [3, 4, 32] k_chunk 32 transpose_rhs
// CHECK-SAME: !cube0_4x32xf16, !cube0_9x4xf16
module attributes {kb.world_size = 4 : i64} {
  func.func @padded(%h: tensor<9x32xf16>, %wte: tensor<61x32xf16>) -> tensor<9x64xf16> {
    %l = kb.lm_head %h, %wte : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x64xf16>
    return %l : tensor<9x64xf16>
  }
}

// -----

// A vocabulary 4 divides (64): each rank holds its 16 rows (split along the
// vocabulary), so the staging DMAs do not move with the rank.

// CHECK-LABEL: func.func @shard
// CHECK-SAME: %[[T0:[^:]*]]: !cube0_16x8xf16
// CHECK: %[[S0:.*]] = gemm_tile.alloc : !cube0_4x32xf16
// CHECK-NEXT: gemm_tile.dma %[[T0]] [0, 0] to %[[S0]] [0, 0] sizes [4, 8] :
// CHECK-NOT: clip
// CHECK: gemm_tile.matmul pe 0 {{.*}} transpose_rhs
module attributes {kb.world_size = 4 : i64} {
  func.func @shard(%h: tensor<9x32xf16>, %wte: tensor<64x32xf16>) -> tensor<9x64xf16> {
    %l = kb.lm_head %h, %wte : tensor<9x32xf16>, tensor<64x32xf16> -> tensor<9x64xf16>
    return %l : tensor<9x64xf16>
  }
}

// -----

// One rank, 61 ids padded to 64 logits: columns past the table get no tile
// (they stay zero); cube 3 computes columns 48-63, of which 13 have rows.

// CHECK-LABEL: func.func @global
// CHECK-NOT: clip
// CHECK: gemm_tile.matmul {{.*}} sizes [{{[0-9]+}}, 13, 32] k_chunk 32 transpose_rhs
module attributes {kb.world_size = 1 : i64} {
  func.func @global(%h: tensor<9x32xf16>, %wte: tensor<61x32xf16>) -> tensor<9x64xf16> {
    %l = kb.lm_head %h, %wte : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x64xf16>
    return %l : tensor<9x64xf16>
  }
}
