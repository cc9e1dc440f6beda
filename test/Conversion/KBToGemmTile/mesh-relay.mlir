// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-check-yield-safety -split-input-file | FileCheck %s

// A residual add on ahbm (16 cubes on a 4 x 4 mesh): the row-parallel
// result %y is cut by columns over all 16 cubes and the sum is replicated on
// every cube, so each cube needs all 16 pieces. Copied straight, that was 15
// copies into each cube (240 in all, each paying 160-573 ns of latency and
// holding the links of its route across the mesh). Relayed, the cube of
// each mesh row in each column first gathers its row's four pieces (its own
// within the cube, three along the row: 64 copies of 16 x 16), the rank
// waits for them, and then each cube takes one 16 x 64 box per mesh row from
// the relays in its column (its own row's within the cube): 64 copies.
// Each wave nearest first: the copies within a cube lead.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @residual
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x256xf16
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x64xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 16]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NOT: sizes [16, 16]
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x256xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 64]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NOT: gemm_tile.dma
  // CHECK: gemm_tile.zip "add"
  func.func @residual(%x: tensor<16x256xf16, #rep>, %y: tensor<16x256xf16, #cols>) -> tensor<16x256xf16, #rep> {
    %h = kb.add %x, %y : tensor<16x256xf16, #rep>, tensor<16x256xf16, #cols>
    return %h : tensor<16x256xf16, #rep>
  }
}

// -----

// A gemm whose result is replicated over the 16 cubes: each cube computes a
// 16 x 16 share into its own replica, and every replica needs the other 15.
// Copied straight, each share went to 15 cubes as its tiles ended (240
// copies); relayed, once all tiles are done, each row's shares are gathered
// into one cube per column (48 copies across the mesh and 16 within a cube),
// and each replica takes one 16 x 64 box per other row (48 copies) and its
// own row's from its own relay, in place: the copies land in the replicas
// themselves.

#rep16 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @replicated_product
  // CHECK-COUNT-128: gemm_tile.matmul
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NOT: gemm_tile.matmul
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x64xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 16]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 64] : !cube{{[0-9]+}}_16x64xf16, !cube{{[0-9]+}}_16x256xf16
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return
  func.func @replicated_product(%x: tensor<16x64xf16, #rep16>, %w: tensor<64x256xf16, #rep16>) -> tensor<16x256xf16, #rep16> {
    %y = kb.matmul %x, %w : (tensor<16x64xf16, #rep16>, tensor<64x256xf16, #rep16>) -> tensor<16x256xf16, #rep16>
    return %y : tensor<16x256xf16, #rep16>
  }
}

// -----

// The same residual add with its sum placed like the all-reduced %y, as
// kb-place places a layer's output (test/Dialect/KB/place-residual.mlir):
// each cube adds its own columns, reading its column piece of the replicated
// %x in place, so nothing is copied or relayed.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @residual_in_place
  // CHECK-NOT: gemm_tile.dma
  // CHECK-COUNT-128: gemm_tile.zip "add"
  // CHECK-NOT: gemm_tile.dma
  // CHECK: return
  func.func @residual_in_place(%x: tensor<16x256xf16, #rep>, %y: tensor<16x256xf16, #cols>) -> tensor<16x256xf16, #cols> {
    %h = kb.add %x, %y : tensor<16x256xf16, #rep>, tensor<16x256xf16, #cols> -> tensor<16x256xf16, #cols>
    return %h : tensor<16x256xf16, #cols>
  }
}
