// RUN: kb-opt %s -kb-tp-partition -split-input-file -verify-diagnostics | FileCheck %s

// Megatron's VocabParallelEmbedding: the table split along the vocabulary
// (4 ranks × 6 ids of 24: W divides V, and the local table of 6 rows is not
// itself divisible by W), the ids on every rank, each rank's lookup a partial
// sum that the return all-reduces.

// CHECK: module attributes {kb.spmd, kb.world_size = 4 : i64}
module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @shard
  // CHECK-SAME: (%[[IDS:.*]]: tensor<9xi32>, %[[WTE:.*]]: tensor<6x32xf16> {kb.split_dim = 0 : i64}) -> tensor<9x32xf16>
  // CHECK-NEXT: %[[R:.*]] = kb.tp_rank : index
  // CHECK-NEXT: %[[P:.*]] = kb.embedding %[[IDS]], %[[WTE]][%[[R]]] vocab 24 shard 6 : tensor<9xi32>, tensor<6x32xf16> -> tensor<9x32xf16>
  // CHECK-NEXT: %[[S:.*]] = kb.all_reduce <sum> %[[P]] : tensor<9x32xf16>
  // CHECK-NEXT: return %[[S]]
  func.func @shard(%ids: tensor<9xi32>, %wte: tensor<24x32xf16>) -> tensor<9x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<24x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

// A vocabulary 4 does not divide (61): shards of ceil(61 / 4) = 16 ids, the
// last rank's 13 real ones; the table stays whole on every rank; the sum is
// reduced before the position add, which needs it whole.

module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @padded
  // CHECK-SAME: (%[[IDS:.*]]: tensor<9xi64>, %[[WTE:.*]]: tensor<61x32xf16>, %[[POS:.*]]: tensor<9x32xf16>)
  // CHECK-NEXT: %[[R:.*]] = kb.tp_rank : index
  // CHECK-NEXT: %[[P:.*]] = kb.embedding %[[IDS]], %[[WTE]][%[[R]]] vocab 61 shard 16 : tensor<9xi64>, tensor<61x32xf16> -> tensor<9x32xf16>
  // CHECK-NEXT: %[[S:.*]] = kb.all_reduce <sum> %[[P]] : tensor<9x32xf16>
  // CHECK-NEXT: kb.add %[[S]], %[[POS]]
  func.func @padded(%ids: tensor<9xi64>, %wte: tensor<61x32xf16>, %pos: tensor<9x32xf16>) -> tensor<9x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi64>, tensor<61x32xf16> -> tensor<9x32xf16>
    %y = kb.add %x, %pos : tensor<9x32xf16>, tensor<9x32xf16>
    return %y : tensor<9x32xf16>
  }
}

// -----

// One rank: the global lookup, with no rank.

module attributes {kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @one_rank
  // CHECK-NOT: kb.tp_rank
  // CHECK: kb.embedding %{{.*}}, %{{.*}} : tensor<9xi32>, tensor<61x32xf16> -> tensor<9x32xf16>
  func.func @one_rank(%ids: tensor<9xi32>, %wte: tensor<61x32xf16>) -> tensor<9x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<61x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

// Sequence parallelism: the embedding's partial sum is reduce-scattered along
// the tokens, and the position add runs on the rank's rows.

module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  // CHECK-LABEL: func.func @sequence_parallel
  // CHECK-SAME: -> (tensor<2x32xf16> {kb.split_dim = 0 : i64})
  // CHECK-NOT: kb.all_reduce
  // CHECK: %[[P:.*]] = kb.embedding %{{.*}}, %{{.*}}[%{{.*}}] vocab 64 shard 16 : tensor<8xi32>, tensor<16x32xf16> -> tensor<8x32xf16>
  // CHECK-NEXT: %[[S:.*]] = kb.reduce_scatter <sum> %[[P]] along 0 : tensor<8x32xf16> -> tensor<2x32xf16>
  // CHECK: kb.add %[[S]], %{{.*}} : tensor<2x32xf16>, tensor<2x32xf16>
  // CHECK-NOT: kb.all_reduce
  func.func @sequence_parallel(%ids: tensor<8xi32>, %wte: tensor<64x32xf16>, %pos: tensor<8x32xf16>) -> tensor<8x32xf16> {
    %x = kb.embedding %ids, %wte : tensor<8xi32>, tensor<64x32xf16> -> tensor<8x32xf16>
    %y = kb.add %x, %pos : tensor<8x32xf16>, tensor<8x32xf16>
    return %y : tensor<8x32xf16>
  }
}
