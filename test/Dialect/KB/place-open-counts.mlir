// RUN: kb-opt --kb-device=small %s -kb-place -split-input-file -verify-diagnostics | FileCheck %s

// kb-place is the first pass that knows the device: it checks a policy with
// a count left open against it (the count is the device's) and keeps the
// policy as the user wrote it.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @kept
  // CHECK-SAME: tensor<16x64xf16, #kb.dp<cube = replicate, pe = shard(1)>>
  // CHECK: kb.gelu %{{.*}} : tensor<16x64xf16, #kb.dp<cube = replicate, pe = shard(1)>>
  func.func @kept(%x: tensor<16x64xf16, #kb.dp<cube = replicate, pe = column_wise>>)
      -> tensor<16x64xf16, #kb.dp<cube = replicate, pe = column_wise>> {
    %y = kb.gelu %x : tensor<16x64xf16, #kb.dp<cube = replicate, pe = column_wise>>
    return %y : tensor<16x64xf16, #kb.dp<cube = replicate, pe = column_wise>>
  }
}

// -----

// All of the default device's 4 cubes do not divide 6 columns.
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // expected-error@+1 {{DPPolicy cube shard of dimension 1 (size 6) does not divide by the device's cubes (4)}}
  func.func @open_cubes_divide(%x: tensor<8x6xf32, #kb.dp<cube = shard(1), pe = replicate>>)
      -> tensor<8x6xf32, #kb.dp<cube = shard(1), pe = replicate>> {
    return %x : tensor<8x6xf32, #kb.dp<cube = shard(1), pe = replicate>>
  }
}

// -----

// The PE count is the device's: 2 PEs per cube here, which do not divide 3
// rows of each cube's piece.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // expected-error@+1 {{DPPolicy pe shard of dimension 0 (size 3) does not divide by the device's PEs per cube (2)}}
  func.func @open_pes_divide(%x: tensor<3x8xf32, #kb.dp<cube = shard(1), pe = shard(0)>>)
      -> tensor<3x8xf32, #kb.dp<cube = shard(1), pe = shard(0)>> {
    return %x : tensor<3x8xf32, #kb.dp<cube = shard(1), pe = shard(0)>>
  }
}

// -----

// On a smaller device, a given count can exceed it while the open one fits.
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // expected-error@+1 {{DPPolicy names 4 PEs per cube, but the device has 2}}
  func.func @given_exceeds(%x: tensor<8x8xf32, #kb.dp<cube = shard(1), pe = shard(0), num_pes = 4>>)
      -> tensor<8x8xf32, #kb.dp<cube = shard(1), pe = shard(0), num_pes = 4>> {
    return %x : tensor<8x8xf32, #kb.dp<cube = shard(1), pe = shard(0), num_pes = 4>>
  }
}
