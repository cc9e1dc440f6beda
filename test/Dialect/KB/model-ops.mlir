// RUN: kb-opt %s -split-input-file | kb-opt -split-input-file | FileCheck %s

// The embedding's global form: ids of either integer width, any float table.

// CHECK-LABEL: func.func @global
// CHECK: kb.embedding %{{.*}}, %{{.*}} : tensor<9xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
// CHECK: kb.embedding %{{.*}}, %{{.*}} : tensor<3xi64>, tensor<5x8xf32> -> tensor<3x8xf32>
func.func @global(%ids: tensor<9xi32>, %wte: tensor<64x32xf16>,
                  %ids64: tensor<3xi64>, %t: tensor<5x8xf32>) -> (tensor<9x32xf16>, tensor<3x8xf32>) {
  %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
  %y = kb.embedding %ids64, %t : tensor<3xi64>, tensor<5x8xf32> -> tensor<3x8xf32>
  return %x, %y : tensor<9x32xf16>, tensor<3x8xf32>
}

// -----

// The local form: a rank's shard (16 rows of 64 over 4 ranks), or the whole
// table of a vocabulary 4 ranks do not divide (61 ids in shards of 16).

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @local
  // CHECK: kb.embedding %{{.*}}, %{{.*}}[%{{.*}}] vocab 64 shard 16 : tensor<9xi32>, tensor<16x32xf16> -> tensor<9x32xf16>
  // CHECK: kb.embedding %{{.*}}, %{{.*}}[%{{.*}}] vocab 61 shard 16 : tensor<9xi32>, tensor<61x32xf16> -> tensor<9x32xf16>
  func.func @local(%ids: tensor<9xi32>, %shard: tensor<16x32xf16>, %whole: tensor<61x32xf16>) -> (tensor<9x32xf16>, tensor<9x32xf16>) {
    %r = kb.tp_rank : index
    %x = kb.embedding %ids, %shard [%r] vocab 64 shard 16 : tensor<9xi32>, tensor<16x32xf16> -> tensor<9x32xf16>
    %y = kb.embedding %ids, %whole [%r] vocab 61 shard 16 : tensor<9xi32>, tensor<61x32xf16> -> tensor<9x32xf16>
    return %x, %y : tensor<9x32xf16>, tensor<9x32xf16>
  }
}

// -----

// The tied head, both views: the global logits over the vocabulary padded to
// 64, and rank r's 16 logits read from the whole table or from its shard.
// CHECK-LABEL: func.func @lm_head
// CHECK: kb.lm_head %{{.*}}, %{{.*}} : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x64xf16>
func.func @lm_head(%x: tensor<9x32xf16>, %t: tensor<61x32xf16>) -> tensor<9x64xf16> {
  %l = kb.lm_head %x, %t : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x64xf16>
  return %l : tensor<9x64xf16>
}

// -----

// CHECK-LABEL: func.func @lm_head_local
// CHECK: kb.lm_head %{{.*}}, %{{.*}}[%{{.*}}] vocab 61 shard 16 : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x16xf16>
// CHECK: kb.lm_head %{{.*}}, %{{.*}}[%{{.*}}] vocab 64 shard 16 : tensor<9x32xf16>, tensor<16x32xf16> -> tensor<9x16xf16>
module attributes {kb.world_size = 4 : i64, kb.spmd} {
  func.func @lm_head_local(%x: tensor<9x32xf16>, %t: tensor<61x32xf16>, %s: tensor<16x32xf16>) -> (tensor<9x16xf16>, tensor<9x16xf16>) {
    %r = kb.tp_rank : index
    %a = kb.lm_head %x, %t [%r] vocab 61 shard 16 : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x16xf16>
    %b = kb.lm_head %x, %s [%r] vocab 64 shard 16 : tensor<9x32xf16>, tensor<16x32xf16> -> tensor<9x16xf16>
    return %a, %b : tensor<9x16xf16>, tensor<9x16xf16>
  }
}
