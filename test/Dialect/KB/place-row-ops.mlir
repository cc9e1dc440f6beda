// RUN: kb-opt --kb-device=small %s -kb-place='remarks=true' -split-input-file -o /dev/null 2>&1 | FileCheck %s

// A norm reduces over whole rows: under the rule's column split each cube
// would stage every row and compute it whole (docs/Placement.md), so the
// estimate puts the rows over the cubes instead, and the weight, which every
// cube reads whole, in every cube.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK: remark: kb-place: #kb.dp<cube = shard(0), pe = replicate, num_cubes = 4, num_pes = 8> (estimated {{[0-9.]+}} us for the ops using it; the rule's #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>
  // CHECK: remark: kb-place: #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8> (estimated {{[0-9.]+}} us for the ops using it; the rule's #kb.dp<cube = shard(0), pe = replicate, num_cubes = 4, num_pes = 8>
  func.func @norm(%x: tensor<64x4096xf16>, %w: tensor<4096xf16>) -> tensor<64x4096xf16> {
    %n = kb.rms_norm %x, %w : tensor<64x4096xf16>, tensor<4096xf16>
    return %n : tensor<64x4096xf16>
  }
}

// -----

// A rope rotates whole heads: the rule's column split gives each cube 8
// whole heads of 128, which needs no staging, and stays.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK: remark: kb-place: #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8> (estimated {{[0-9.]+}} us for the ops using it; the rule's #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>
  func.func @rope(%q: tensor<64x4096xf16>) -> tensor<64x4096xf16> {
    %r = kb.rope %q head_dim 128 : tensor<64x4096xf16>
    return %r : tensor<64x4096xf16>
  }
}
