// RUN: kb-opt --kb-device=small %s -convert-kb-to-gemm-tile -split-input-file -verify-diagnostics | FileCheck %s

// A policy whose counts are left open (kernbench's None) lowers as the
// device's counts: on a device of 2 cubes of 2 PEs, `cube = shard(1)` is two
// cube pieces and `pe = replicate` shares each piece over both PEs (along
// its longer dimension), exactly as the same policy with the counts written.

#open = #kb.dp<cube = shard(1), pe = replicate>
#given = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @open
  // CHECK-SAME: (%{{.*}}: !cube0_8x32xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: %{{.*}}: !cube1_8x32xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 32]>})
  // CHECK: gemm_tile.map "gelu" pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 1 %{{.*}} [0, 16] to %{{.*}} [0, 16] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 1 %{{.*}} [0, 16] to %{{.*}} [0, 16] sizes [8, 16]
  // CHECK-NOT: gemm_tile.map "gelu"
  // CHECK: return
  func.func @open(%x: tensor<8x64xf32, #open>) -> tensor<8x64xf32, #open> {
    %g = kb.gelu %x : tensor<8x64xf32, #open>
    return %g : tensor<8x64xf32, #open>
  }
  // CHECK-LABEL: func.func @given
  // CHECK-SAME: (%{{.*}}: !cube0_8x32xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: %{{.*}}: !cube1_8x32xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 32]>})
  // CHECK: gemm_tile.map "gelu" pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 1 %{{.*}} [0, 16] to %{{.*}} [0, 16] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 1 %{{.*}} [0, 16] to %{{.*}} [0, 16] sizes [8, 16]
  // CHECK-NOT: gemm_tile.map "gelu"
  // CHECK: return
  func.func @given(%x: tensor<8x64xf32, #given>) -> tensor<8x64xf32, #given> {
    %g = kb.gelu %x : tensor<8x64xf32, #given>
    return %g : tensor<8x64xf32, #given>
  }
}

// -----

// The default device (4 cubes of 8 PEs) when the module names none: a gemm
// whose output splits its columns over all cubes and its rows over all PEs.

#rep = #kb.dp<cube = replicate, pe = replicate>
#out = #kb.dp<cube = shard(1), pe = shard(0)>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @default_device
  // CHECK-COUNT-32: gemm_tile.matmul pe {{[0-7]}} {{.*}} sizes [2, 16, 16]
  // CHECK-NOT: gemm_tile.matmul
  // CHECK: return
  func.func @default_device(%x: tensor<16x16xf32, #rep>, %w: tensor<16x64xf32, #out>)
      -> tensor<16x64xf32, #out> {
    %y = kb.matmul %x, %w : (tensor<16x16xf32, #rep>, tensor<16x64xf32, #out>) -> tensor<16x64xf32, #out>
    return %y : tensor<16x64xf32, #out>
  }
}

// -----

// Hand-written IR meets the device first here: a count left open that does
// not divide the shape on this device is refused, naming both numbers.

module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 4, pes_per_cube = 2>} {
  // expected-error@+1 {{DPPolicy cube shard of dimension 1 (size 6) does not divide by the device's cubes (4)}}
  func.func @open_does_not_divide(%x: tensor<8x6xf32, #kb.dp<cube = shard(1), pe = replicate>>)
      -> tensor<8x6xf32, #kb.dp<cube = shard(1), pe = replicate>> {
    return %x : tensor<8x6xf32, #kb.dp<cube = shard(1), pe = replicate>>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // expected-error@+1 {{DPPolicy names 4 cubes, but the device has 2}}
  func.func @given_exceeds(%x: tensor<8x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4>>)
      -> tensor<8x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4>> {
    return %x : tensor<8x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4>>
  }
}
