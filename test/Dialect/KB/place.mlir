// RUN: kb-opt --kb-device=small %s -kb-place='cost-model=false' -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=RULE
// RUN: kb-opt --kb-device=small %s -kb-place -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=COST

// The rule alone: the gemm lhs is replicated over every cube, the other 2-D
// tensors are sharded by columns over the cubes and rows over the PEs, the
// bias over the cubes.

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // RULE-LABEL: func.func @rule
  // RULE-SAME: %{{.*}}: tensor<64x32xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>>
  // RULE-SAME: %{{.*}}: tensor<32x64xf32, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>
  // RULE-SAME: %{{.*}}: tensor<64xf32, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 4, num_pes = 8>>
  // RULE: kb.matmul {{.*}} -> tensor<64x64xf32, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>
  // COST-LABEL: func.func @rule
  // COST: kb.matmul {{.*}} -> tensor<64x64xf32, #kb.dp<
  func.func @rule(%x: tensor<64x32xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) -> tensor<64x64xf32> {
    %y = kb.matmul %x, %w : (tensor<64x32xf32>, tensor<32x64xf32>) -> tensor<64x64xf32>
    %z = kb.add %y, %b : tensor<64x64xf32>, tensor<64xf32>
    return %z : tensor<64x64xf32>
  }
}

// -----

// Counts follow the device: sizes that do not divide use fewer cubes or PEs.

module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 4>} {
  // RULE-LABEL: func.func @small_device
  // RULE-SAME: tensor<6x10xf32, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 3>>
  func.func @small_device(%a: tensor<6x10xf32>) -> tensor<6x10xf32> {
    %g = kb.gelu %a : tensor<6x10xf32>
    return %g : tensor<6x10xf32>
  }
}

// -----

// User policies are kept; values tied by an op's type rule share them.

#mine = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // RULE-LABEL: func.func @kept
  // RULE: kb.gelu %{{.*}} : tensor<8x8xf32, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>>
  // RULE: kb.all_reduce <sum> %{{.*}} : tensor<8x8xf32, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>>
  // COST-LABEL: func.func @kept
  // COST: kb.gelu %{{.*}} : tensor<8x8xf32, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>>
  func.func @kept(%a: tensor<8x8xf32, #mine>) -> tensor<8x8xf32, #mine> {
    %g = kb.gelu %a : tensor<8x8xf32, #mine>
    %r = kb.all_reduce <sum> %g : tensor<8x8xf32, #mine>
    return %r : tensor<8x8xf32, #mine>
  }
}

// -----

// The cost model keeps the weight where its columns are multiplied: a
// column-sharded output needs the weight's columns in the same cubes.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // COST-LABEL: func.func @weights_stay
  // COST-SAME: tensor<256x512xf16, #kb.dp<cube = shard(1), {{.*}}num_cubes = 4
  func.func @weights_stay(%x: tensor<64x256xf16>, %w: tensor<256x512xf16>) -> tensor<64x512xf16> {
    %y = kb.matmul %x, %w : (tensor<64x256xf16>, tensor<256x512xf16>) -> tensor<64x512xf16>
    return %y : tensor<64x512xf16>
  }
}

// -----

#too_many = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 8, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{DPPolicy names 8 cubes, but the device has 4}}
  func.func @too_many_cubes(%a: tensor<8x8xf32, #too_many>) -> tensor<8x8xf32, #too_many> {
    return %a : tensor<8x8xf32, #too_many>
  }
}

// -----

#too_many = #kb.dp<cube = replicate, pe = shard(0), num_cubes = 1, num_pes = 16>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{DPPolicy names 16 PEs per cube, but the device has 8}}
  func.func @too_many_pes(%a: tensor<16x8xf32, #too_many>) -> tensor<16x8xf32, #too_many> {
    return %a : tensor<16x8xf32, #too_many>
  }
}

// -----

// A dynamic shape has no pieces to cost: the rule decides, and the cost model
// leaves it.

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // RULE-LABEL: func.func @dynamic
  // RULE-SAME: tensor<?x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 8>>
  // COST-LABEL: func.func @dynamic
  // COST-SAME: tensor<?x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 8>>
  func.func @dynamic(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %y = kb.gelu %x : tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

// Beyond any device: more than 2^50 bytes (2^30 MiB) in one cube. Smaller
// excesses over this device's cube are the lowering's to report.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{a tensor of type 'tensor<281474976710656x8xf32>' needs 9007199254740992 bytes in each of its cubes under #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 1>, more than any device's cube holds (2^50 bytes)}}
  func.func @piece_beyond_any_cube(%x: tensor<281474976710656x8xf32, #rep>) -> tensor<281474976710656x8xf32, #rep> {
    %y = kb.gelu %x : tensor<281474976710656x8xf32, #rep>
    return %y : tensor<281474976710656x8xf32, #rep>
  }
}

// -----

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{'func.func' op has arguments that need 2251799813685248 bytes in cube 0, more than any device's cube holds (2^50 bytes)}}
  func.func @arguments_beyond_any_cube(%a: tensor<70368744177664x4xf32, #rep>, %b: tensor<70368744177664x4xf32, #rep>) -> (tensor<70368744177664x4xf32, #rep>, tensor<70368744177664x4xf32, #rep>) {
    return %a, %b : tensor<70368744177664x4xf32, #rep>, tensor<70368744177664x4xf32, #rep>
  }
}

// -----

// Pieces of 2^49 bytes, but a cube's share of the gemm multiplies a whole lhs
// row of 2^49 f32.

#by_k = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>
#by_rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @staged_beyond_any_cube(%a: tensor<1x562949953421312xf32, #by_k>, %b: tensor<562949953421312x1xf32, #by_rows>) -> tensor<1x1xf32> {
    // expected-error@+1 {{'kb.matmul' op stages 2251799813685248 bytes of its operands in one cube under these placements, more than any device's cube holds (2^50 bytes)}}
    %c = kb.matmul %a, %b : (tensor<1x562949953421312xf32, #by_k>, tensor<562949953421312x1xf32, #by_rows>) -> tensor<1x1xf32>
    return %c : tensor<1x1xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{kb-place cannot place a tensor of type 'tensor<4xindex>': the device holds f16, bf16, f32, i32 and i64 elements}}
  func.func @index_tensor(%a: tensor<4xindex>) -> tensor<4xindex> {
    return %a : tensor<4xindex>
  }
}

// -----

// An empty tensor: no device work would produce or read it.
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  // expected-error@+1 {{kb-place cannot place a tensor of type 'tensor<0x16xf32>': it has a dimension of size 0}}
  func.func @empty_rows(%a: tensor<0x16xf32>) -> tensor<0x16xf32> {
    %g = kb.gelu %a : tensor<0x16xf32>
    return %g : tensor<0x16xf32>
  }
}

// -----

// expected-error@+1 {{kb-place works on the local view: run kb-tp-partition first}}
module attributes {kb.world_size = 2 : i64} {
  func.func @global(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
    return %a : tensor<8x8xf32>
  }
}
