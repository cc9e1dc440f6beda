// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-check-yield-safety -split-input-file | FileCheck %s
// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-check-yield-safety -split-input-file | FileCheck %s --check-prefix=HOP

// A residual add on ahbm (16 cubes on a 4 x 4 mesh): the row-parallel
// result %y is cut by columns over all 16 cubes and the sum is replicated on
// every cube, so each cube needs all 16 pieces. Copied straight, that was 15
// copies into each cube (240 in all, each paying 160-573 ns of latency and
// holding the links of its route across the mesh). Relayed, the cube of
// each mesh row in each column first gathers its row's four pieces (its own
// within the cube, three along the row: 64 copies of 16 x 16), and then
// each cube takes one 16 x 64 box per mesh row down its column (its own
// row's within the cube): 64 copies, each ordered (`after`) after the four
// gather copies that fill its box. Both waves go hop by hop (a piece or box
// two or three cubes away forwarded by the cube one hop nearer, after the
// copy that brought it, below), which replays faster even for copies this
// small. The rank waits once, for all 128, before the add reads them.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @residual
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x256xf16
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x64xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 16]
  // CHECK-NOT: sizes [16, 16]
  // CHECK-NOT: gemm_tile.wait
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x256xf16
  // CHECK-NEXT: gemm_tile.dma {{.*}} sizes [16, 64] after %{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}} :
  // CHECK-COUNT-63: gemm_tile.dma {{.*}} sizes [16, 64] after
  // CHECK-NEXT: gemm_tile.wait %{{[0-9]+}}, %{{[0-9]+}}
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
// and each replica takes one 16 x 64 box per other row and its own row's from
// its own relay, in place: the copies land in the replicas themselves, so a
// delivery is ordered after the gather copies that read the box it
// overwrites as well as those that fill the box it reads. The boxes go hop
// by hop down the columns (MeshRelay.h), which replays faster even for boxes
// this small: the 40 copies from a relay one hop away (or within the cube)
// first, then each box of a relay two or three rows away forwarded by the
// cube one hop nearer, from its replica, after the copy that brought it
// there (24 copies, one hop each, where 24 copies straight from the relays
// held two or three column links each). The rank waits once, at the end.

#rep16 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @replicated_product
  // CHECK-COUNT-128: gemm_tile.matmul
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NOT: gemm_tile.matmul
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_16x64xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [16, 16]
  // CHECK-NOT: gemm_tile.wait
  // CHECK-COUNT-4: gemm_tile.dma {{.*}} sizes [16, 64] after {{.*}} : !cube{{[0-9]+}}_16x64xf16, !cube{{[0-9]+}}_16x256xf16
  // CHECK-NEXT: %[[ROW3:[0-9]+]] = gemm_tile.dma %{{[0-9]+}} [0, 0] to %{{[0-9]+}} [0, 192] sizes [16, 64] after {{.*}} : !cube12_16x64xf16, !cube8_16x256xf16
  // CHECK-COUNT-35: gemm_tile.dma {{.*}} sizes [16, 64] after {{.*}} : !cube{{[0-9]+}}_16x64xf16, !cube{{[0-9]+}}_16x256xf16
  // CHECK-NEXT: gemm_tile.dma %{{[0-9]+}} [0, 192] to %{{[0-9]+}} [0, 192] sizes [16, 64] after %[[ROW3]] : !cube8_16x256xf16, !cube4_16x256xf16
  // CHECK-COUNT-23: gemm_tile.dma {{.*}} sizes [16, 64] after %{{[0-9]+}} : !cube{{[0-9]+}}_16x256xf16, !cube{{[0-9]+}}_16x256xf16
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NEXT: return
  func.func @replicated_product(%x: tensor<16x64xf16, #rep16>, %w: tensor<64x256xf16, #rep16>) -> tensor<16x256xf16, #rep16> {
    %y = kb.matmul %x, %w : (tensor<16x64xf16, #rep16>, tensor<64x256xf16, #rep16>) -> tensor<16x256xf16, #rep16>
    return %y : tensor<16x256xf16, #rep16>
  }
}

// -----

// The residual add at 256 x 1024: each relay's box is 256 x 256 (128 KiB,
// 1.0 us over a link), so sent straight down a column the boxes queue on the
// middle links (the link between rows 1 and 2 carries four). The gather
// along the rows goes hop by hop (whole pieces: a piece two or three columns
// away is forwarded by the relay one hop nearer, after the copy into it), and so
// does the delivery, in two parts of 128 rows: the parts of the boxes that go on
// down the column come first from the relays one hop away (row 0's box into
// row 1 leads: rows 2 and 3 wait for it), then the whole boxes nothing
// forwards and each cube's own row's (24 copies); then each part two or
// three rows from its relay is forwarded by the cube one hop nearer, out of
// that cube's own staged buffer, after the copy that brought it (48
// copies, each one hop). No wait holds the rank until the add reads them.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @residual_hop_by_hop
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_256x256xf16
  // CHECK-COUNT-64: gemm_tile.dma {{.*}} sizes [256, 64]
  // CHECK-NOT: gemm_tile.wait
  // CHECK-COUNT-16: gemm_tile.alloc : !cube{{[0-9]+}}_256x1024xf16
  // CHECK-NEXT: gemm_tile.dma {{.*}} sizes [128, 256] after {{.*}} : !cube0_256x256xf16, !cube4_256x1024xf16
  // CHECK-COUNT-31: gemm_tile.dma {{.*}} sizes [128, 256] after {{.*}} : !cube{{[0-9]+}}_256x256xf16, !cube{{[0-9]+}}_256x1024xf16
  // CHECK-COUNT-24: gemm_tile.dma {{.*}} sizes [256, 256] after {{.*}} : !cube{{[0-9]+}}_256x256xf16, !cube{{[0-9]+}}_256x1024xf16
  // CHECK-COUNT-48: gemm_tile.dma {{.*}} sizes [128, 256] after %{{[0-9]+}} : !cube{{[0-9]+}}_256x1024xf16, !cube{{[0-9]+}}_256x1024xf16
  // CHECK-NEXT: gemm_tile.wait %{{[0-9]+}}, %{{[0-9]+}}
  // CHECK-NOT: gemm_tile.dma
  // CHECK: gemm_tile.zip "add"
  // The gather along the rows goes hop by hop too: cube 4's piece, once in
  // cube 5's relay, goes on to cube 6's from there. Then row 0's first
  // part, once in cube 4, goes on to cube 8.
  // HOP-LABEL: func.func @residual_hop_by_hop
  // HOP: %[[COL0:[0-9]+]] = gemm_tile.dma %{{[a-z0-9]+}} [0, 0] to %{{[0-9]+}} [0, 0] sizes [256, 64] : !cube4_256x64xf16, !cube5_256x256xf16
  // HOP-NOT: !cube5_256x256xf16, !cube6_256x256xf16
  // HOP: gemm_tile.dma %{{[0-9]+}} [0, 0] to %{{[0-9]+}} [0, 0] sizes [256, 64] after %[[COL0]] : !cube5_256x256xf16, !cube6_256x256xf16
  // HOP: %[[ROW0:[0-9]+]] = gemm_tile.dma %{{[0-9]+}} [0, 0] to %{{[0-9]+}} [0, 0] sizes [128, 256] after {{.*}} : !cube0_256x256xf16, !cube4_256x1024xf16
  // HOP-NOT: !cube4_256x1024xf16, !cube8_256x1024xf16
  // HOP: gemm_tile.dma %{{[0-9]+}} [0, 0] to %{{[0-9]+}} [0, 0] sizes [128, 256] after %[[ROW0]] : !cube4_256x1024xf16, !cube8_256x1024xf16
  func.func @residual_hop_by_hop(%x: tensor<256x1024xf16, #rep>, %y: tensor<256x1024xf16, #cols>) -> tensor<256x1024xf16, #rep> {
    %h = kb.add %x, %y : tensor<256x1024xf16, #rep>, tensor<256x1024xf16, #cols>
    return %h : tensor<256x1024xf16, #rep>
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
