// RUN: kb-opt --kb-device=small %s -kb-place -split-input-file | FileCheck %s
// RUN: kb-opt --kb-device=small %s -kb-place=cost-model=false -split-input-file | FileCheck %s
// RUN: kb-opt --kb-device=small %s -kb-place -split-input-file --convert-kb-to-gemm-tile | FileCheck %s --check-prefix=LOWER

// A decode attention reading a KV cache: the rule's column split over the 4
// cubes would cut the 6 heads of 16 (24 columns a cube), and every cube would
// stage its heads' keys and values from the cubes the split spreads them
// over. kb-place instead keeps 2 whole heads a cube on 3 cubes for the
// cache, the appended keys and values, the new rows, q and the output, so the
// append writes and the attention reads each head in its cube.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @decode(
  // CHECK-SAME: %arg0: tensor<1x96xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 3, num_pes = 8>>
  // CHECK-SAME: %arg3: tensor<32x96xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 3, num_pes = 8>>
  // CHECK: kb.kv_append {{.*}} -> tensor<33x96xf16, #kb.dp<cube = shard(1), pe = {{[a-z()0-9]+}}, num_cubes = 3,
  // CHECK: kb.attention {{.*}} -> tensor<1x96xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 3, num_pes = 8>>
  // LOWER-LABEL: func.func @decode(
  // LOWER-NOT: gemm_tile.dma {{.*}} : !cube0_{{.*}}, !cube{{[12]}}_
  // LOWER-NOT: gemm_tile.dma {{.*}} : !cube1_{{.*}}, !cube{{[02]}}_
  // LOWER-NOT: gemm_tile.dma {{.*}} : !cube2_{{.*}}, !cube{{[01]}}_
  // LOWER: gemm_tile.attention pe 0 %arg0 [0, 0], %[[K:[0-9]+]] [0, 0], %[[V:[0-9]+]] [0, 0]
  // LOWER-SAME: sizes [1, 33, 16] heads 1 position 32
  // LOWER-NOT: gemm_tile.dma
  // LOWER: return
  func.func @decode(%q: tensor<1x96xf16>, %k_new: tensor<1x96xf16>, %v_new: tensor<1x96xf16>,
                    %k_cache: tensor<32x96xf16>, %v_cache: tensor<32x96xf16>) -> tensor<1x96xf16> {
    %keys = kb.kv_append %k_cache, %k_new : tensor<32x96xf16>, tensor<1x96xf16> -> tensor<33x96xf16>
    %values = kb.kv_append %v_cache, %v_new : tensor<32x96xf16>, tensor<1x96xf16> -> tensor<33x96xf16>
    %a = kb.attention %q, %keys, %values heads 6 kv_heads 6 : (tensor<1x96xf16>, tensor<33x96xf16>, tensor<33x96xf16>) -> tensor<1x96xf16>
    return %a : tensor<1x96xf16>
  }
}

// -----

// Grouped KV heads: a cube holds whole KV heads and the query heads that
// read them, 1 KV head of 2 and its 3 query heads on each of 2 cubes.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @gqa(
  // CHECK-SAME: %arg0: tensor<1x96xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 8>>
  // CHECK-SAME: %arg3: tensor<32x32xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 8>>
  // CHECK: kb.attention {{.*}} -> tensor<1x96xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 8>>
  // LOWER-LABEL: func.func @gqa(
  // LOWER-NOT: gemm_tile.dma {{.*}} : !cube0_{{.*}}, !cube1_
  // LOWER-NOT: gemm_tile.dma {{.*}} : !cube1_{{.*}}, !cube0_
  // LOWER: gemm_tile.attention
  func.func @gqa(%q: tensor<1x96xf16>, %k_new: tensor<1x32xf16>, %v_new: tensor<1x32xf16>,
                 %k_cache: tensor<32x32xf16>, %v_cache: tensor<32x32xf16>) -> tensor<1x96xf16> {
    %keys = kb.kv_append %k_cache, %k_new : tensor<32x32xf16>, tensor<1x32xf16> -> tensor<33x32xf16>
    %values = kb.kv_append %v_cache, %v_new : tensor<32x32xf16>, tensor<1x32xf16> -> tensor<33x32xf16>
    %a = kb.attention %q, %keys, %values heads 6 kv_heads 2 : (tensor<1x96xf16>, tensor<33x32xf16>, tensor<33x32xf16>) -> tensor<1x96xf16>
    return %a : tensor<1x96xf16>
  }
}

// -----

// An attention that reads no cache (prefill: its keys are the projections')
// keeps the rule and the cost model's choice: the rule is not widened to
// every attention.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @prefill(
  // CHECK-NOT: num_cubes = 3
  // CHECK: return
  func.func @prefill(%q: tensor<8x96xf16>, %k: tensor<8x96xf16>, %v: tensor<8x96xf16>) -> tensor<8x96xf16> {
    %a = kb.attention %q, %k, %v heads 6 kv_heads 6 : (tensor<8x96xf16>, tensor<8x96xf16>, tensor<8x96xf16>) -> tensor<8x96xf16>
    return %a : tensor<8x96xf16>
  }
}

// -----

// A policy the user gave on the cache is kept: the rule only fills in what
// no one placed.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @given(
  // CHECK-SAME: %arg3: tensor<32x96xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>>
  func.func @given(%q: tensor<1x96xf16>, %k_new: tensor<1x96xf16>, %v_new: tensor<1x96xf16>,
                   %k_cache: tensor<32x96xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>>,
                   %v_cache: tensor<32x96xf16>) -> tensor<1x96xf16> {
    %keys = kb.kv_append %k_cache, %k_new : tensor<32x96xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>>, tensor<1x96xf16> -> tensor<33x96xf16>
    %values = kb.kv_append %v_cache, %v_new : tensor<32x96xf16>, tensor<1x96xf16> -> tensor<33x96xf16>
    %a = kb.attention %q, %keys, %values heads 6 kv_heads 6 : (tensor<1x96xf16>, tensor<33x96xf16>, tensor<33x96xf16>) -> tensor<1x96xf16>
    return %a : tensor<1x96xf16>
  }
}
