// RUN: kb-opt %s -kb-tp-partition -split-input-file -verify-diagnostics | FileCheck %s

// A Llama decoder layer at W = 2 (H 16, 4 query heads, 2 KV heads, head_dim 4),
// partitioned as Megatron does: norms on the replicated activations, Q/K/V
// column-parallel by heads, RoPE and attention local to each rank's heads,
// W_o row-parallel, its partial sum reduced where the residual needs it whole;
// the MLP as SwiGLU. Two all_reduces in total, no slice and no gather.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @llama_layer
  // CHECK-SAME: (%[[X:[^:]*]]: tensor<4x16xf32>, %[[WN:[^:]*]]: tensor<16xf32>, %[[WQ:[^:]*]]: tensor<16x8xf32> {kb.split_dim = 1 : i64}, %[[WK:[^:]*]]: tensor<16x4xf32> {kb.split_dim = 1 : i64}, %[[WV:[^:]*]]: tensor<16x4xf32> {kb.split_dim = 1 : i64}, %[[WO:[^:]*]]: tensor<8x16xf32> {kb.split_dim = 0 : i64},
  // CHECK-NOT: kb.tp_slice
  // CHECK: %[[N:.*]] = kb.rms_norm %[[X]], %[[WN]] : tensor<4x16xf32>, tensor<16xf32>
  // CHECK: %[[Q:.*]] = kb.matmul %[[N]], %[[WQ]] : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  // CHECK: %[[K:.*]] = kb.matmul %[[N]], %[[WK]] : (tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
  // CHECK: %[[V:.*]] = kb.matmul %[[N]], %[[WV]]
  // CHECK: %[[QR:.*]] = kb.rope %[[Q]] head_dim 4 : tensor<4x8xf32>
  // CHECK: %[[KR:.*]] = kb.rope %[[K]] head_dim 4 : tensor<4x4xf32>
  // CHECK: %[[A:.*]] = kb.attention %[[QR]], %[[KR]], %[[V]] heads 2 kv_heads 1 : (tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  // CHECK: %[[O:.*]] = kb.matmul %[[A]], %[[WO]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  // CHECK: %[[OR:.*]] = kb.all_reduce <sum> %[[O]]
  // CHECK: %[[H:.*]] = kb.add %[[X]], %[[OR]]
  // CHECK: kb.rms_norm %[[H]]
  // CHECK: kb.silu
  // CHECK: kb.mul
  // CHECK: %[[D:.*]] = kb.matmul
  // CHECK: %[[DR:.*]] = kb.all_reduce <sum> %[[D]]
  // CHECK: %[[Y:.*]] = kb.add %[[H]], %[[DR]]
  // CHECK: return %[[Y]]
  func.func @llama_layer(%x: tensor<4x16xf32>, %wn: tensor<16xf32>, %wq: tensor<16x16xf32>,
                         %wk: tensor<16x8xf32>, %wv: tensor<16x8xf32>, %wo: tensor<16x16xf32>,
                         %wm: tensor<16xf32>, %wg: tensor<16x32xf32>, %wu: tensor<16x32xf32>,
                         %wd: tensor<32x16xf32>) -> tensor<4x16xf32> {
    %n = kb.rms_norm %x, %wn : tensor<4x16xf32>, tensor<16xf32>
    %q = kb.column_parallel_linear %n, %wq : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
    %k = kb.column_parallel_linear %n, %wk : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    %v = kb.column_parallel_linear %n, %wv : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    %qr = kb.rope %q head_dim 4 : tensor<4x16xf32>
    %kr = kb.rope %k head_dim 4 : tensor<4x8xf32>
    %a = kb.attention %qr, %kr, %v heads 4 kv_heads 2 : (tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
    %o = kb.row_parallel_linear %a, %wo : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
    %h = kb.add %x, %o : tensor<4x16xf32>, tensor<4x16xf32>
    %m = kb.rms_norm %h, %wm : tensor<4x16xf32>, tensor<16xf32>
    %g = kb.column_parallel_linear %m, %wg : (tensor<4x16xf32>, tensor<16x32xf32>) -> tensor<4x32xf32>
    %u = kb.column_parallel_linear %m, %wu : (tensor<4x16xf32>, tensor<16x32xf32>) -> tensor<4x32xf32>
    %s = kb.silu %g : tensor<4x32xf32>
    %p = kb.mul %s, %u : tensor<4x32xf32>, tensor<4x32xf32>
    %d = kb.row_parallel_linear %p, %wd : (tensor<4x32xf32>, tensor<32x16xf32>) -> tensor<4x16xf32>
    %y = kb.add %h, %d : tensor<4x16xf32>, tensor<4x16xf32>
    return %y : tensor<4x16xf32>
  }
}

// -----

// Decode: the new token's K/V rows are appended to each rank's heads of the
// cache; the caches arrive split by KV heads.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @decode_attention
  // CHECK-SAME: %[[KC:[^:]*]]: tensor<6x4xf16> {kb.split_dim = 1 : i64}, %[[VC:[^:]*]]: tensor<6x4xf16> {kb.split_dim = 1 : i64})
  // CHECK: %[[KN:.*]] = kb.kv_append %[[KC]], %{{.*}} : tensor<6x4xf16>, tensor<1x4xf16> -> tensor<7x4xf16>
  // CHECK: kb.attention %{{.*}}, %[[KN]], %{{.*}} heads 2 kv_heads 1 : (tensor<1x8xf16>, tensor<7x4xf16>, tensor<7x4xf16>) -> tensor<1x8xf16>
  func.func @decode_attention(%n: tensor<1x16xf16>, %wq: tensor<16x16xf16>, %wk: tensor<16x8xf16>,
                              %wv: tensor<16x8xf16>, %kc: tensor<6x8xf16>, %vc: tensor<6x8xf16>) -> (tensor<1x16xf16>, tensor<1x8xf16>) {
    %q = kb.column_parallel_linear %n, %wq : (tensor<1x16xf16>, tensor<16x16xf16>) -> tensor<1x16xf16>
    %k = kb.column_parallel_linear %n, %wk : (tensor<1x16xf16>, tensor<16x8xf16>) -> tensor<1x8xf16>
    %v = kb.column_parallel_linear %n, %wv : (tensor<1x16xf16>, tensor<16x8xf16>) -> tensor<1x8xf16>
    %qr = kb.rope %q head_dim 4 offset 6 : tensor<1x16xf16>
    %kr = kb.rope %k head_dim 4 offset 6 : tensor<1x8xf16>
    %kn = kb.kv_append %kc, %kr : tensor<6x8xf16>, tensor<1x8xf16> -> tensor<7x8xf16>
    %vn = kb.kv_append %vc, %v : tensor<6x8xf16>, tensor<1x8xf16> -> tensor<7x8xf16>
    %a = kb.attention %qr, %kn, %vn heads 4 kv_heads 2 : (tensor<1x16xf16>, tensor<7x8xf16>, tensor<7x8xf16>) -> tensor<1x16xf16>
    return %a, %kr : tensor<1x16xf16>, tensor<1x8xf16>
  }
}

// -----

// GQA with fewer KV heads than ranks (W = 4, 4 query heads, 2 KV heads of 4):
// Megatron replicates each KV head over W / 2 = 2 ranks. wk and wv are split
// by KV head into 2 slices, rank r holding slice r / 2 (split(1, replicas 2));
// each rank attends with its 1 query head and the 1 KV head it reads. No
// gather, no slice: the layer's collectives are its two all-reduces.

module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @gqa_layer
  // CHECK-SAME: %[[WQ:[^:]*]]: tensor<16x4xf32> {kb.split_dim = 1 : i64}, %[[WK:[^:]*]]: tensor<16x4xf32> {kb.split_dim = 1 : i64, kb.split_replicas = 2 : i64}, %[[WV:[^:]*]]: tensor<16x4xf32> {kb.split_dim = 1 : i64, kb.split_replicas = 2 : i64}, %[[WO:[^:]*]]: tensor<4x16xf32> {kb.split_dim = 0 : i64}
  // CHECK-NOT: kb.tp_slice
  // CHECK-NOT: kb.all_gather
  // CHECK: %[[K:.*]] = kb.matmul %{{.*}}, %[[WK]] : (tensor<5x16xf32>, tensor<16x4xf32>) -> tensor<5x4xf32>
  // CHECK: %[[V:.*]] = kb.matmul %{{.*}}, %[[WV]] : (tensor<5x16xf32>, tensor<16x4xf32>) -> tensor<5x4xf32>
  // CHECK: %[[KR:.*]] = kb.rope %[[K]] head_dim 4 : tensor<5x4xf32>
  // CHECK: kb.attention %{{.*}}, %[[KR]], %[[V]] heads 1 kv_heads 1 : (tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
  // CHECK: kb.all_reduce <sum>
  // CHECK-NOT: kb.all_gather
  func.func @gqa_layer(%n: tensor<5x16xf32>, %wq: tensor<16x16xf32>, %wk: tensor<16x8xf32>,
                       %wv: tensor<16x8xf32>, %wo: tensor<16x16xf32>) -> tensor<5x16xf32> {
    %q = kb.column_parallel_linear %n, %wq : (tensor<5x16xf32>, tensor<16x16xf32>) -> tensor<5x16xf32>
    %k = kb.column_parallel_linear %n, %wk : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
    %v = kb.column_parallel_linear %n, %wv : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
    %qr = kb.rope %q head_dim 4 : tensor<5x16xf32>
    %kr = kb.rope %k head_dim 4 : tensor<5x8xf32>
    %a = kb.attention %qr, %kr, %v heads 4 kv_heads 2 : (tensor<5x16xf32>, tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x16xf32>
    %o = kb.row_parallel_linear %a, %wo : (tensor<5x16xf32>, tensor<16x16xf32>) -> tensor<5x16xf32>
    return %o : tensor<5x16xf32>
  }
}

// -----

// Decode with fewer KV heads than ranks (W = 8, 8 query heads, 2 KV heads):
// the caches arrive and k_new, v_new leave split by KV head, each head on 4
// ranks; the executor gathers a result from one rank per group.

module attributes {kb.world_size = 8 : i64} {
  // CHECK-LABEL: func.func @gqa_decode
  // CHECK-SAME: %[[KC:[^:]*]]: tensor<6x4xf16> {kb.split_dim = 1 : i64, kb.split_replicas = 4 : i64}, %[[VC:[^:]*]]: tensor<6x4xf16> {kb.split_dim = 1 : i64, kb.split_replicas = 4 : i64})
  // CHECK-SAME: -> (tensor<1x4xf16> {kb.split_dim = 1 : i64}, tensor<1x4xf16> {kb.split_dim = 1 : i64, kb.split_replicas = 4 : i64}, tensor<1x4xf16> {kb.split_dim = 1 : i64, kb.split_replicas = 4 : i64})
  // CHECK-NOT: kb.tp_slice
  // CHECK: %[[KN:.*]] = kb.kv_append %[[KC]], %{{.*}} : tensor<6x4xf16>, tensor<1x4xf16> -> tensor<7x4xf16>
  // CHECK: kb.attention %{{.*}}, %[[KN]], %{{.*}} heads 1 kv_heads 1 : (tensor<1x4xf16>, tensor<7x4xf16>, tensor<7x4xf16>) -> tensor<1x4xf16>
  func.func @gqa_decode(%n: tensor<1x32xf16>, %wq: tensor<32x32xf16>, %wk: tensor<32x8xf16>,
                        %wv: tensor<32x8xf16>, %kc: tensor<6x8xf16>, %vc: tensor<6x8xf16>)
      -> (tensor<1x32xf16>, tensor<1x8xf16>, tensor<1x8xf16>) {
    %q = kb.column_parallel_linear %n, %wq : (tensor<1x32xf16>, tensor<32x32xf16>) -> tensor<1x32xf16>
    %k = kb.column_parallel_linear %n, %wk : (tensor<1x32xf16>, tensor<32x8xf16>) -> tensor<1x8xf16>
    %v = kb.column_parallel_linear %n, %wv : (tensor<1x32xf16>, tensor<32x8xf16>) -> tensor<1x8xf16>
    %qr = kb.rope %q head_dim 4 offset 6 : tensor<1x32xf16>
    %kr = kb.rope %k head_dim 4 offset 6 : tensor<1x8xf16>
    %kn = kb.kv_append %kc, %kr : tensor<6x8xf16>, tensor<1x8xf16> -> tensor<7x8xf16>
    %vn = kb.kv_append %vc, %v : tensor<6x8xf16>, tensor<1x8xf16> -> tensor<7x8xf16>
    %a = kb.attention %qr, %kn, %vn heads 8 kv_heads 2 : (tensor<1x32xf16>, tensor<7x8xf16>, tensor<7x8xf16>) -> tensor<1x32xf16>
    return %a, %kr, %v : tensor<1x32xf16>, tensor<1x8xf16>, tensor<1x8xf16>
  }
}

// -----

// Into and out of the grouped layout. A replicated k (a plain kb.matmul) is
// sliced to the rank's group: slice r / 2 (`replicas 2`). A grouped k that a
// later op needs whole is first cut to the rank's own 1/W (part r mod 2 of
// its group's slice, `shards 2`, local), then all-gathered: each element is
// sent once, not once per replica.

module attributes {kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @into_groups
  // CHECK: %[[R:.*]] = kb.tp_rank : index
  // CHECK: %[[K:.*]] = kb.matmul %{{.*}} : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
  // CHECK: %[[KG:.*]] = kb.tp_slice %[[K]][%[[R]]] along 1 replicas 2 : tensor<5x8xf32> -> tensor<5x4xf32>
  // CHECK: kb.attention %{{.*}}, %[[KG]], %[[KG]] heads 1 kv_heads 1
  func.func @into_groups(%n: tensor<5x16xf32>, %q: tensor<5x16xf32>, %wk: tensor<16x8xf32>) -> tensor<5x16xf32> {
    %k = kb.matmul %n, %wk : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
    %a = kb.attention %q, %k, %k heads 4 kv_heads 2 : (tensor<5x16xf32>, tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x16xf32>
    return %a : tensor<5x16xf32>
  }

  // CHECK-LABEL: func.func @out_of_groups
  // CHECK: %[[R:.*]] = kb.tp_rank : index
  // CHECK: %[[K:.*]] = kb.matmul %{{.*}} : (tensor<5x16xf32>, tensor<16x4xf32>) -> tensor<5x4xf32>
  // CHECK: kb.attention %{{.*}}, %[[K]], %[[K]] heads 1 kv_heads 1
  // CHECK: %[[OWN:.*]] = kb.tp_slice %[[K]][%[[R]]] along 1 shards 2 : tensor<5x4xf32> -> tensor<5x2xf32>
  // CHECK: %[[ALL:.*]] = kb.all_gather %[[OWN]] along 1 : tensor<5x2xf32> -> tensor<5x8xf32>
  // CHECK: return %{{.*}}, %[[ALL]]
  func.func @out_of_groups(%n: tensor<5x16xf32>, %q: tensor<5x16xf32>, %wk: tensor<16x8xf32>) -> (tensor<5x16xf32>, tensor<5x8xf32>) {
    %k = kb.column_parallel_linear %n, %wk : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
    %a = kb.attention %q, %k, %k heads 4 kv_heads 2 : (tensor<5x16xf32>, tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x16xf32>
    %g = kb.all_gather %k along 1 : tensor<5x8xf32> -> tensor<5x8xf32>
    return %a, %g : tensor<5x16xf32>, tensor<5x8xf32>
  }
}

// -----

// Fewer KV heads than ranks must divide the ranks into equal groups.

module attributes {kb.world_size = 8 : i64} {
  func.func @kv_heads_do_not_divide_ranks(%q: tensor<2x96xf32>, %k: tensor<2x12xf32>, %v: tensor<2x12xf32>) -> tensor<2x96xf32> {
    // expected-error@+1 {{'kb.attention' op has fewer KV heads (3) than TP world size (8), which they must divide to be replicated over equal groups of ranks}}
    %a = kb.attention %q, %k, %v heads 24 kv_heads 3 : (tensor<2x96xf32>, tensor<2x12xf32>, tensor<2x12xf32>) -> tensor<2x96xf32>
    return %a : tensor<2x96xf32>
  }
}

// -----

// A rotation of KV heads held by groups of ranks must rotate whole heads in
// each group's slice: here 1 head of 8 columns over 2 groups of 2 ranks.

module attributes {kb.world_size = 4 : i64} {
  func.func @rope_cuts_grouped_heads(%n: tensor<5x16xf32>, %q: tensor<5x16xf32>, %wk: tensor<16x8xf32>) -> tensor<5x16xf32> {
    %k = kb.column_parallel_linear %n, %wk : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
    // expected-error@+1 {{'kb.rope' op splits its 1 heads into 2 slices, one per group of 2 ranks, which do not divide them}}
    %kr = kb.rope %k head_dim 8 : tensor<5x8xf32>
    %a = kb.attention %q, %kr, %kr heads 4 kv_heads 2 : (tensor<5x16xf32>, tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x16xf32>
    return %a : tensor<5x16xf32>
  }
}

// -----

// More KV heads than ranks must divide by them.

module attributes {kb.world_size = 4 : i64} {
  func.func @kv_heads_do_not_divide(%q: tensor<2x48xf32>, %k: tensor<2x24xf32>, %v: tensor<2x24xf32>) -> tensor<2x48xf32> {
    // expected-error@+1 {{'kb.attention' op num_kv_heads (6) must be divisible by TP world size (4)}}
    %a = kb.attention %q, %k, %v heads 12 kv_heads 6 : (tensor<2x48xf32>, tensor<2x24xf32>, tensor<2x24xf32>) -> tensor<2x48xf32>
    return %a : tensor<2x48xf32>
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @heads_do_not_divide(%q: tensor<2x24xf32>, %k: tensor<2x24xf32>, %v: tensor<2x24xf32>) -> tensor<2x24xf32> {
    // expected-error@+1 {{'kb.attention' op num_heads (6) must be divisible by TP world size (4)}}
    %a = kb.attention %q, %k, %v heads 6 kv_heads 6 : (tensor<2x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>) -> tensor<2x24xf32>
    return %a : tensor<2x24xf32>
  }
}

// -----

// A norm over columns that each rank holds only part of gathers them first.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @norm_of_split_columns
  // CHECK: %[[A:.*]] = kb.all_gather %{{.*}} along 1 : tensor<4x4xf32> -> tensor<4x8xf32>
  // CHECK: kb.rms_norm %[[A]]
  func.func @norm_of_split_columns(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %wn: tensor<8xf32>) -> tensor<4x8xf32> {
    %h = kb.column_parallel_linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %n = kb.rms_norm %h, %wn : tensor<4x8xf32>, tensor<8xf32>
    return %n : tensor<4x8xf32>
  }
}

// -----

// GPT-2's fused W_qkv: static slices of a replicated weight are the same on
// every rank; each slice then feeds a column-parallel projection.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @fused_qkv
  // CHECK-SAME: %[[W:[^:]*]]: tensor<8x24xf32>)
  // CHECK: %[[WK:.*]] = tensor.extract_slice %[[W]][0, 8] [8, 8] [1, 1] : tensor<8x24xf32> to tensor<8x8xf32>
  // CHECK: %[[WKS:.*]] = kb.tp_slice %[[WK]][%{{.*}}] along 1 : tensor<8x8xf32> -> tensor<8x4xf32>
  // CHECK: kb.matmul %{{.*}}, %[[WKS]]
  func.func @fused_qkv(%x: tensor<3x8xf32>, %w: tensor<8x24xf32>) -> tensor<3x8xf32> {
    %wk = tensor.extract_slice %w[0, 8] [8, 8] [1, 1] : tensor<8x24xf32> to tensor<8x8xf32>
    %k = kb.column_parallel_linear %x, %wk : (tensor<3x8xf32>, tensor<8x8xf32>) -> tensor<3x8xf32>
    return %k : tensor<3x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @strided_slice(%w: tensor<8x24xf32>) -> tensor<8x8xf32> {
    // expected-error@+1 {{'tensor.extract_slice' op is partitioned by kb-tp-partition only with static offsets and sizes and unit strides}}
    %s = tensor.extract_slice %w[0, 0] [8, 8] [1, 3] : tensor<8x24xf32> to tensor<8x8xf32>
    return %s : tensor<8x8xf32>
  }
}

// -----

// q, k and v given as arguments: each rank's attention has its share of the
// heads, whatever view of q's type the op is built from.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @attention_of_arguments
  // CHECK-SAME: (%[[Q:[^:]*]]: tensor<4x8xf32> {kb.split_dim = 1 : i64}, %[[K:[^:]*]]: tensor<4x4xf32> {kb.split_dim = 1 : i64}, %[[V:[^:]*]]: tensor<4x4xf32> {kb.split_dim = 1 : i64})
  // CHECK: kb.attention %[[Q]], %[[K]], %[[V]] heads 2 kv_heads 1 : (tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  func.func @attention_of_arguments(%q: tensor<4x16xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>) -> tensor<4x16xf32> {
    %a = kb.attention %q, %k, %v heads 4 kv_heads 2 : (tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
    return %a : tensor<4x16xf32>
  }
}
