// RUN: kb-opt %s -kb-tp-partition -split-input-file -verify-diagnostics | FileCheck %s

// The tied head at W = 4 over a vocabulary W divides (64): the table is split
// along its rows as the embedding splits it (one argument, one layout), each
// rank multiplies by its 16 rows, and the logits, split along the vocabulary,
// are gathered.

// CHECK-LABEL: func.func @shard
// CHECK-SAME: %[[WTE:[^:]*]]: tensor<16x32xf16> {kb.split_dim = 0 : i64}
// CHECK: kb.embedding %{{.*}}, %[[WTE]][%{{.*}}] vocab 64 shard 16
// CHECK: %[[R:.*]] = kb.tp_rank : index
// CHECK-NEXT: %[[L:.*]] = kb.lm_head %{{.*}}, %[[WTE]][%[[R]]] vocab 64 shard 16 : tensor<9x32xf16>, tensor<16x32xf16> -> tensor<9x16xf16>
// CHECK-NEXT: %[[G:.*]] = kb.all_gather %[[L]] along 1 : tensor<9x16xf16> -> tensor<9x64xf16>
// CHECK-NEXT: return %[[G]]
module attributes {kb.world_size = 4 : i64} {
  func.func @shard(%ids: tensor<9xi32>, %wte: tensor<64x32xf16>) -> tensor<9x64xf16> {
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
    %l = kb.lm_head %x, %wte : tensor<9x32xf16>, tensor<64x32xf16> -> tensor<9x64xf16>
    %g = kb.all_gather %l along 1 : tensor<9x64xf16> -> tensor<9x64xf16>
    return %g : tensor<9x64xf16>
  }
}

// -----

// GPT-2's 50257 ids at W = 4: logits padded to 50260, shards of 12565; the
// table stays whole and each rank reads its rows from it; the padded logits
// are sliced off after the gather.

// CHECK-LABEL: func.func @padded
// CHECK-SAME: %[[WTE:[^:]*]]: tensor<50257x16xf16>)
// CHECK: kb.lm_head %{{.*}}, %[[WTE]][%{{.*}}] vocab 50257 shard 12565 : tensor<9x16xf16>, tensor<50257x16xf16> -> tensor<9x12565xf16>
// CHECK-NEXT: kb.all_gather %{{.*}} along 1 : tensor<9x12565xf16> -> tensor<9x50260xf16>
// CHECK-NEXT: tensor.extract_slice %{{.*}}[0, 0] [9, 50257] [1, 1] : tensor<9x50260xf16> to tensor<9x50257xf16>
module attributes {kb.world_size = 4 : i64} {
  func.func @padded(%x: tensor<9x16xf16>, %wte: tensor<50257x16xf16>) -> tensor<9x50257xf16> {
    %l = kb.lm_head %x, %wte : tensor<9x16xf16>, tensor<50257x16xf16> -> tensor<9x50260xf16>
    %g = kb.all_gather %l along 1 : tensor<9x50260xf16> -> tensor<9x50260xf16>
    %s = tensor.extract_slice %g[0, 0] [9, 50257] [1, 1] : tensor<9x50260xf16> to tensor<9x50257xf16>
    return %s : tensor<9x50257xf16>
  }
}

// -----

// W = 8: 50264 logits, shards of 6283.

// CHECK-LABEL: func.func @padded8
// CHECK: kb.lm_head %{{.*}}, %{{.*}}[%{{.*}}] vocab 50257 shard 6283 : tensor<9x16xf16>, tensor<50257x16xf16> -> tensor<9x6283xf16>
module attributes {kb.world_size = 8 : i64} {
  func.func @padded8(%x: tensor<9x16xf16>, %wte: tensor<50257x16xf16>) -> tensor<9x50264xf16> {
    %l = kb.lm_head %x, %wte : tensor<9x16xf16>, tensor<50257x16xf16> -> tensor<9x50264xf16>
    return %l : tensor<9x50264xf16>
  }
}

// -----

// One rank: the global op.

// CHECK-LABEL: func.func @one
// CHECK: kb.lm_head %{{.*}}, %{{.*}} : tensor<9x16xf16>, tensor<61x16xf16> -> tensor<9x61xf16>
module attributes {kb.world_size = 1 : i64} {
  func.func @one(%x: tensor<9x16xf16>, %wte: tensor<61x16xf16>) -> tensor<9x61xf16> {
    %l = kb.lm_head %x, %wte : tensor<9x16xf16>, tensor<61x16xf16> -> tensor<9x61xf16>
    return %l : tensor<9x61xf16>
  }
}

// -----

// Logits W does not divide: refused with both numbers.

module attributes {kb.world_size = 4 : i64} {
  func.func @unpadded(%x: tensor<9x16xf16>, %wte: tensor<61x16xf16>) -> tensor<9x61xf16> {
    // expected-error@+1 {{pads the vocabulary of 61 ids to 61 logits, which TP world size 4 does not divide}}
    %l = kb.lm_head %x, %wte : tensor<9x16xf16>, tensor<61x16xf16> -> tensor<9x61xf16>
    return %l : tensor<9x61xf16>
  }
}
