// RUN: kb-opt %s -gemm-tile-prefetch-copies -split-input-file | FileCheck %s
// The result still passes the pipeline's checks after the pass.
// RUN: kb-opt %s -gemm-tile-prefetch-copies -split-input-file -gemm-tile-check-cube-memory -gemm-tile-check-yield-safety -o /dev/null
// A moved copy is still its kernel's, at its call, for kb-run's report.
// RUN: kb-opt %s -gemm-tile-prefetch-copies -split-input-file -mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// LOC-LABEL: func.func @mlp
// LOC-NEXT: gemm_tile.alloc {{.*}} loc(#[[ALLOC:[a-z0-9]+]])
// LOC-NEXT: gemm_tile.dma {{.*}} loc(#[[DMA:[a-z0-9]+]])
// LOC-DAG: #[[ALLOC]] = loc("down"(#{{[a-z0-9]+}}))
// LOC-DAG: #[[DMA]] = loc("down"(#{{[a-z0-9]+}}))

// A kernel's first copy of a weight (an entry argument) is issued by the
// caller before the calls that issue no copy and do not write the weight:
// here before @gelu, so it runs beside gelu's tile. @down takes the buffer
// and the copy's token and waits on the token where it waited on the copy;
// the copy from its other argument (@gelu's result) stays in @down.

!w = memref<16x16xf16, #gemm_tile.cube<0>>
!x = memref<8x16xf16, #gemm_tile.cube<1>>
!b = memref<16x16xf16, #gemm_tile.cube<1>>
// CHECK-LABEL: func.func private @gelu
func.func private @gelu(%x: !x) -> !x {
  %y = gemm_tile.alloc : !x
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [8, 16] : !x, !x
  gemm_tile.wait %t
  return %y : !x
}
// CHECK-LABEL: func.func private @down
// CHECK-SAME: (%[[X:.*]]: !cube1_8x16xf16, %[[W:.*]]: !cube0_16x16xf16, %[[B:.*]]: !cube1_16x16xf16, %[[T:.*]]: !gemm_tile.token)
// CHECK-NEXT: %[[XS:.*]] = gemm_tile.alloc : !cube1_8x16xf16
// CHECK-NEXT: %[[TX:.*]] = gemm_tile.dma %[[X]] [0, 0] to %[[XS]]
// CHECK-NEXT: gemm_tile.wait %[[T]], %[[TX]]
// CHECK-NEXT: gemm_tile.alloc
// CHECK-NEXT: gemm_tile.matmul pe 0 %[[XS]] [0, 0], %[[B]] [0, 0]
func.func private @down(%x: !x, %w: !w) -> !x {
  %b = gemm_tile.alloc : !b
  %tb = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  %xs = gemm_tile.alloc : !x
  %tx = gemm_tile.dma %x [0, 0] to %xs [0, 0] sizes [8, 16] : !x, !x
  gemm_tile.wait %tb, %tx
  %y = gemm_tile.alloc : !x
  %t = gemm_tile.matmul pe 0 %xs [0, 0], %b [0, 0] to %y [0, 0] sizes [8, 16, 16] k_chunk 16 : !x, !b, !x
  gemm_tile.wait %t
  return %y : !x
}
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%[[X:.*]]: !cube1_8x16xf16, %[[W:.*]]: !cube0_16x16xf16)
// CHECK-NEXT: %[[B:.*]] = gemm_tile.alloc : !cube1_16x16xf16
// CHECK-NEXT: %[[T:.*]] = gemm_tile.dma %[[W]] [0, 0] to %[[B]] [0, 0] sizes [16, 16]
// CHECK-NEXT: %[[G:.*]] = call @gelu(%[[X]])
// CHECK-NEXT: call @down(%[[G]], %[[W]], %[[B]], %[[T]]) : (!cube1_8x16xf16, !cube0_16x16xf16, !cube1_16x16xf16, !gemm_tile.token) -> !cube1_8x16xf16
func.func @mlp(%x: !x, %w: !w) -> !x {
  %g = call @gelu(%x) : (!x) -> !x
  %y = call @down(%g, %w) : (!x, !w) -> !x loc("mlp.mlir":3:5)
  return %y : !x
}

// -----

// Left alone: a copy whose source the call before writes. @scale doubles
// the weight in place, so @use's copy must see its result; and a copy of
// the previous call's result (made there) cannot start before that call.

!w = memref<16x16xf16, #gemm_tile.cube<0>>
!b = memref<16x16xf16, #gemm_tile.cube<1>>
func.func private @scale(%w: !w) {
  %t = gemm_tile.map "scale" pe 0 %w [0, 0] to %w [0, 0] sizes [16, 16] times 2.0 : !w, !w
  gemm_tile.wait %t
  return
}
func.func private @make() -> !w {
  %w = gemm_tile.alloc : !w
  %t = gemm_tile.map "gelu" pe 0 %w [0, 0] to %w [0, 0] sizes [16, 16] : !w, !w
  gemm_tile.wait %t
  return %w : !w
}
// CHECK-LABEL: func.func private @use
// CHECK-SAME: (%{{.*}}: !cube0_16x16xf16) -> !cube1_16x16xf16
// CHECK-NEXT: gemm_tile.alloc
// CHECK-NEXT: gemm_tile.dma
func.func private @use(%w: !w) -> !b {
  %b = gemm_tile.alloc : !b
  %t = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  gemm_tile.wait %t
  return %b : !b
}
// CHECK-LABEL: func.func @written
// CHECK-NEXT: call @scale
// CHECK-NEXT: call @use
// CHECK-NEXT: call @make
// CHECK-NEXT: call @use
func.func @written(%w: !w) -> (!b, !b) {
  call @scale(%w) : (!w) -> ()
  %a = call @use(%w) : (!w) -> !b
  %m = call @make() : () -> !w
  %b = call @use(%m) : (!w) -> !b
  return %a, %b : !b, !b
}

// -----

// Left alone: a copy does not pass a call that issues copies of its own (a
// cube's DMA engine serves copies in issue order, so it would delay
// them), nor a call that writes a buffer the weight may be: @pass returns
// its argument as it is, so @scale writes the weight through its result.

!w = memref<16x16xf16, #gemm_tile.cube<0>>
!b = memref<16x16xf16, #gemm_tile.cube<1>>
func.func private @copies(%w: !w) -> !b {
  %b = gemm_tile.alloc : !b
  %t = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  gemm_tile.wait %t
  return %b : !b
}
func.func private @pass(%w: !w) -> !w {
  %t = gemm_tile.map "gelu" pe 0 %w [0, 0] to %w [0, 0] sizes [1, 1] : !w, !w
  gemm_tile.wait %t
  return %w : !w
}
func.func private @scale(%w: !w) {
  %t = gemm_tile.map "scale" pe 0 %w [0, 0] to %w [0, 0] sizes [16, 16] times 2.0 : !w, !w
  gemm_tile.wait %t
  return
}
func.func private @use(%w: !w) -> !b {
  %b = gemm_tile.alloc : !b
  %t = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  gemm_tile.wait %t
  return %b : !b
}
// CHECK-LABEL: func.func @not_past
// CHECK-NEXT: call @copies
// CHECK-NEXT: call @use
// CHECK-NEXT: call @pass
// CHECK-NEXT: call @scale
// CHECK-NEXT: call @use
func.func @not_past(%v: !w, %w: !w) -> (!b, !b, !b) {
  %c = call @copies(%v) : (!w) -> !b
  %a = call @use(%w) : (!w) -> !b
  %p = call @pass(%w) : (!w) -> !w
  call @scale(%p) : (!w) -> ()
  %b = call @use(%w) : (!w) -> !b
  return %c, %a, %b : !b, !b, !b
}

// -----

// Left alone: a buffer returned by a function the pass cannot read (here a
// declaration) may be the weight, so @scale, which writes it, is not passed.

!w = memref<16x16xf16, #gemm_tile.cube<0>>
!b = memref<16x16xf16, #gemm_tile.cube<1>>
func.func private @opaque(%w: !w) -> !w
func.func private @scale(%w: !w) {
  %t = gemm_tile.map "scale" pe 0 %w [0, 0] to %w [0, 0] sizes [16, 16] times 2.0 : !w, !w
  gemm_tile.wait %t
  return
}
func.func private @use(%w: !w) -> !b {
  %b = gemm_tile.alloc : !b
  %t = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  gemm_tile.wait %t
  return %b : !b
}
// CHECK-LABEL: func.func @opaque_alias
// CHECK-NEXT: call @opaque
// CHECK-NEXT: call @scale
// CHECK-NEXT: call @use
func.func @opaque_alias(%w: !w) -> !b {
  %p = call @opaque(%w) : (!w) -> !w
  call @scale(%p) : (!w) -> ()
  %b = call @use(%w) : (!w) -> !b
  return %b : !b
}

// -----

// A kernel called twice keeps one body: its copy moves out of it for both
// calls, before @gelu at the second and just before the call at the first,
// where nothing comes before it. Only copies at the head of a kernel move:
// @late's copy after its first tile stays.

!w = memref<16x16xf16, #gemm_tile.cube<0>>
!x = memref<8x16xf16, #gemm_tile.cube<1>>
!b = memref<16x16xf16, #gemm_tile.cube<1>>
func.func private @gelu(%x: !x) -> !x {
  %y = gemm_tile.alloc : !x
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [8, 16] : !x, !x
  gemm_tile.wait %t
  return %y : !x
}
// CHECK-LABEL: func.func private @layer
// CHECK-SAME: (%{{.*}}: !cube1_8x16xf16, %{{.*}}: !cube0_16x16xf16, %[[B:.*]]: !cube1_16x16xf16, %[[T:.*]]: !gemm_tile.token)
// CHECK-NEXT: gemm_tile.wait %[[T]]
func.func private @layer(%x: !x, %w: !w) -> !x {
  %b = gemm_tile.alloc : !b
  %tb = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  gemm_tile.wait %tb
  %y = gemm_tile.alloc : !x
  %t = gemm_tile.matmul pe 0 %x [0, 0], %b [0, 0] to %y [0, 0] sizes [8, 16, 16] k_chunk 16 : !x, !b, !x
  gemm_tile.wait %t
  return %y : !x
}
// CHECK-LABEL: func.func private @late
// CHECK-SAME: (%{{.*}}: !cube1_8x16xf16, %{{.*}}: !cube0_16x16xf16) -> !cube1_8x16xf16
func.func private @late(%x: !x, %w: !w) -> !x {
  %y = gemm_tile.alloc : !x
  %t0 = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [8, 16] : !x, !x
  %b = gemm_tile.alloc : !b
  %tb = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [16, 16] : !w, !b
  gemm_tile.wait %t0, %tb
  return %y : !x
}
// CHECK-LABEL: func.func @two_layers
// CHECK-SAME: (%[[X:.*]]: !cube1_8x16xf16, %[[W1:.*]]: !cube0_16x16xf16, %[[W2:.*]]: !cube0_16x16xf16)
// CHECK-NEXT: %[[B1:.*]] = gemm_tile.alloc
// CHECK-NEXT: %[[T1:.*]] = gemm_tile.dma %[[W1]]
// CHECK-NEXT: %[[Y1:.*]] = call @layer(%[[X]], %[[W1]], %[[B1]], %[[T1]])
// CHECK-NEXT: %[[B2:.*]] = gemm_tile.alloc
// CHECK-NEXT: %[[T2:.*]] = gemm_tile.dma %[[W2]]
// CHECK-NEXT: %[[G:.*]] = call @gelu(%[[Y1]])
// CHECK-NEXT: %[[Y2:.*]] = call @layer(%[[G]], %[[W2]], %[[B2]], %[[T2]])
// CHECK-NEXT: call @gelu
// CHECK-NEXT: call @late(%{{[^,]*}}, %[[W1]])
func.func @two_layers(%x: !x, %w1: !w, %w2: !w) -> !x {
  %y1 = call @layer(%x, %w1) : (!x, !w) -> !x
  %g = call @gelu(%y1) : (!x) -> !x
  %y2 = call @layer(%g, %w2) : (!x, !w) -> !x
  %g2 = call @gelu(%y2) : (!x) -> !x
  %y3 = call @late(%g2, %w1) : (!x, !w) -> !x
  return %y3 : !x
}

// -----

// Memory is never freed while a program runs, so an alloc issued earlier
// needs none more: cube 1 holds exactly its 1 MiB (the input, gelu's
// result, the copied weight and the product: 128 + 128 + 512 + 256 KiB)
// before and after the copy moves, and gemm-tile-check-cube-memory (the
// second RUN line) still accepts it.

!w = memref<512x512xf16, #gemm_tile.cube<0>>
!x = memref<128x512xf16, #gemm_tile.cube<1>>
!b = memref<512x512xf16, #gemm_tile.cube<1>>
!y = memref<256x512xf16, #gemm_tile.cube<1>>
module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, cube_memory_mib = 1>} {
  func.func private @gelu(%x: !x) -> !x {
    %y = gemm_tile.alloc : !x
    %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [128, 512] : !x, !x
    gemm_tile.wait %t
    return %y : !x
  }
  func.func private @down(%x: !x, %w: !w) -> !y {
    %b = gemm_tile.alloc : !b
    %tb = gemm_tile.dma %w [0, 0] to %b [0, 0] sizes [512, 512] : !w, !b
    gemm_tile.wait %tb
    %y = gemm_tile.alloc : !y
    %t = gemm_tile.matmul pe 0 %x [0, 0], %b [0, 0] to %y [0, 0] sizes [8, 16, 512] k_chunk 64 : !x, !b, !y
    gemm_tile.wait %t
    return %y : !y
  }
  // CHECK-LABEL: func.func @full
  // CHECK-NEXT: gemm_tile.alloc : !cube1_512x512xf16
  // CHECK-NEXT: gemm_tile.dma
  // CHECK-NEXT: call @gelu
  func.func @full(%x: !x, %w: !w) -> !y {
    %g = call @gelu(%x) : (!x) -> !x
    %y = call @down(%g, %w) : (!x, !w) -> !y
    return %y : !y
  }
}
