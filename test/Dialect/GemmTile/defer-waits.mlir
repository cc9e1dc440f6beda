// RUN: kb-opt %s -gemm-tile-defer-waits -split-input-file | FileCheck %s
// The result still passes the pipeline's checks after the pass.
// RUN: kb-opt %s -gemm-tile-defer-waits -split-input-file -gemm-tile-check-cube-memory -gemm-tile-verify-rings -gemm-tile-check-yield-safety -o /dev/null
// Run twice, the pass finds nothing more to defer.
// RUN: kb-opt %s -gemm-tile-defer-waits -split-input-file | kb-opt -gemm-tile-defer-waits -split-input-file | FileCheck %s

// @q ends with a copy of its tile's result (a buffer of its own) into the
// buffer it returns. @q returns the copy's token instead of waiting on it;
// the caller waits just before @use, the first op that reads the copy's
// target, so @k's tile runs while the copy moves. @q still waits for its
// tile, which the copy reads.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
!o = memref<8x16xf16, #gemm_tile.cube<1>>
// CHECK-LABEL: func.func private @q
// CHECK-SAME: -> (!cube1_8x16xf16, !gemm_tile.token)
// CHECK: %[[T:.*]] = gemm_tile.map "gelu"
// CHECK-NEXT: gemm_tile.wait %[[T]]
// CHECK-NEXT: %[[O:.*]] = gemm_tile.alloc : !cube1_8x16xf16
// CHECK-NEXT: %[[C:.*]] = gemm_tile.dma %{{.*}} [0, 0] to %[[O]] [0, 0] sizes [8, 16]
// CHECK-NEXT: return %[[O]], %[[C]] : !cube1_8x16xf16, !gemm_tile.token
func.func private @q(%x: !a) -> !o {
  %y = gemm_tile.alloc : !a
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  %o = gemm_tile.alloc : !o
  %c = gemm_tile.dma %y [0, 0] to %o [0, 0] sizes [8, 16] : !a, !o
  gemm_tile.wait %c
  return %o : !o
}
// CHECK-LABEL: func.func private @k
// CHECK-SAME: -> !cube1_8x16xf16
func.func private @k(%x: !o) -> !o {
  %y = gemm_tile.alloc : !o
  %t = gemm_tile.map "gelu" pe 1 %x [0, 0] to %y [0, 0] sizes [8, 16] : !o, !o
  gemm_tile.wait %t
  return %y : !o
}
func.func private @use(%q: !o, %k: !o) -> !o {
  %y = gemm_tile.alloc : !o
  %t = gemm_tile.zip "add" pe 0 %q [0, 0], %k [0, 0] to %y [0, 0] sizes [8, 16] : !o, !o, !o
  gemm_tile.wait %t
  return %y : !o
}
// CHECK-LABEL: func.func @layer
// CHECK-NEXT: %[[Q:.*]]:2 = call @q(%{{.*}}) : (!cube0_8x16xf16) -> (!cube1_8x16xf16, !gemm_tile.token)
// CHECK-NEXT: %[[K:.*]] = call @k
// CHECK-NEXT: gemm_tile.wait %[[Q]]#1
// CHECK-NEXT: call @use(%[[Q]]#0, %[[K]])
func.func @layer(%x: !a, %x1: !o) -> !o {
  %q = call @q(%x) : (!a) -> !o
  %k = call @k(%x1) : (!o) -> !o
  %u = call @use(%q, %k) : (!o, !o) -> !o
  return %u : !o
}

// -----

// The wait goes before the first op that may touch either buffer of the
// copy, followed through the buffers callees return as they are: @pass
// returns its argument, so @scale, which writes @pass's result, writes the
// copy's target. The copy's source is @q's argument, so an op that writes
// it needs the wait too. Two calls of @q: each waits on its own token, the
// second, with nothing after it that touches its buffers, at the latest
// before the return.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
func.func private @q(%x: !a, %o: !a) {
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  return
}
func.func private @pass(%o: !a) -> !a {
  %t = gemm_tile.map "gelu" pe 0 %o [0, 0] to %o [0, 0] sizes [1, 1] : !a, !a
  gemm_tile.wait %t
  return %o : !a
}
func.func private @scale(%o: !a) {
  %t = gemm_tile.map "scale" pe 0 %o [0, 0] to %o [0, 0] sizes [8, 16] times 2.0 : !a, !a
  gemm_tile.wait %t
  return
}
func.func private @other(%y: !a) {
  %t = gemm_tile.map "gelu" pe 1 %y [0, 0] to %y [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return
}
// CHECK-LABEL: func.func private @q
// CHECK-SAME: -> !gemm_tile.token
// CHECK-NEXT: %[[C:.*]] = gemm_tile.dma
// CHECK-NEXT: return %[[C]] : !gemm_tile.token
// CHECK-LABEL: func.func @aliases
// CHECK-SAME: (%[[X:.*]]: !cube0_8x16xf16, %[[O:.*]]: !cube0_8x16xf16, %[[Y:.*]]: !cube0_8x16xf16, %[[Z:.*]]: !cube0_8x16xf16)
// CHECK-NEXT: %[[R:.*]] = call @pass(%[[O]])
// CHECK-NEXT: %[[T:.*]] = call @q(%[[X]], %[[O]])
// CHECK-NEXT: call @other(%[[Y]])
// CHECK-NEXT: gemm_tile.wait %[[T]]
// CHECK-NEXT: call @scale(%[[R]])
// CHECK-NEXT: %[[T2:.*]] = call @q(%[[Y]], %[[Z]])
// CHECK-NEXT: call @other(%[[O]])
// CHECK-NEXT: gemm_tile.wait %[[T2]]
// CHECK-NEXT: return
func.func @aliases(%x: !a, %o: !a, %y: !a, %z: !a) {
  %r = call @pass(%o) : (!a) -> !a
  call @q(%x, %o) : (!a, !a) -> ()
  call @other(%y) : (!a) -> ()
  call @scale(%r) : (!a) -> ()
  call @q(%y, %z) : (!a, !a) -> ()
  call @other(%o) : (!a) -> ()
  return
}

// -----

// An op of the caller's own that reads the copy's target (an inline tile):
// the wait goes just before it, after the ops that do not touch it.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
func.func private @q(%x: !a, %o: !a) {
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %x [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  return
}
// CHECK-LABEL: func.func @inline
// CHECK-NEXT: %[[T:.*]] = call @q
// CHECK-NEXT: gemm_tile.alloc
// CHECK-NEXT: gemm_tile.map "gelu" pe 1 %arg2
// CHECK-NEXT: gemm_tile.wait %[[T]]
// CHECK-NEXT: gemm_tile.map "gelu" pe 1 %arg1
func.func @inline(%x: !a, %o: !a, %y: !a) {
  call @q(%x, %o) : (!a, !a) -> ()
  %b = gemm_tile.alloc : !a
  %t0 = gemm_tile.map "gelu" pe 1 %y [0, 0] to %y [0, 0] sizes [8, 16] : !a, !a
  %t1 = gemm_tile.map "gelu" pe 1 %o [0, 0] to %b [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t0, %t1
  return
}

// -----

// Left alone: a copy whose target the very next op reads (only an alloc
// and a wait between them) gains nothing, so the kernel keeps its wait and
// signature; and a kernel with no trailing copies (its last copy is waited
// for before its tile) and one whose last wait also waits for its tile
// after the copy.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
// CHECK-LABEL: func.func private @next
// CHECK-SAME: (%{{.*}}: !cube0_8x16xf16, %{{.*}}: !cube0_8x16xf16) {
// CHECK: gemm_tile.wait
// CHECK-NEXT: return
func.func private @next(%x: !a, %o: !a) {
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  return
}
// CHECK-LABEL: func.func private @none
// CHECK-SAME: -> !cube0_8x16xf16 {
func.func private @none(%x: !a) -> !a {
  %b = gemm_tile.alloc : !a
  %c = gemm_tile.dma %x [0, 0] to %b [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  %t = gemm_tile.map "gelu" pe 0 %b [0, 0] to %b [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return %b : !a
}
// CHECK-LABEL: func.func private @tile_last
// CHECK-SAME: (%{{.*}}: !cube0_8x16xf16, %{{.*}}: !cube0_8x16xf16) {
func.func private @tile_last(%x: !a, %o: !a) {
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %x [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c, %t
  return
}
// CHECK-LABEL: func.func @alone
// CHECK-NEXT: call @next(%arg0, %arg1) : (!cube0_8x16xf16, !cube0_8x16xf16) -> ()
// CHECK-NEXT: gemm_tile.alloc
// CHECK-NEXT: call @none(%arg1)
// CHECK-NEXT: call @tile_last
// CHECK-NEXT: call @none(%arg0)
// CHECK-NEXT: return
func.func @alone(%x: !a, %o: !a) {
  call @next(%x, %o) : (!a, !a) -> ()
  %b = gemm_tile.alloc : !a
  %n = call @none(%o) : (!a) -> !a
  call @tile_last(%x, %o) : (!a, !a) -> ()
  %n2 = call @none(%x) : (!a) -> !a
  return
}

// -----

// Left alone: a kernel also called from a function that is not an entry's
// single block (here a private one), whose later ops the pass does not
// scan, keeps its wait.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
// CHECK-LABEL: func.func private @q
// CHECK-SAME: (%{{.*}}: !cube0_8x16xf16, %{{.*}}: !cube0_8x16xf16) {
func.func private @q(%x: !a, %o: !a) {
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  return
}
func.func private @other(%y: !a) {
  %t = gemm_tile.map "gelu" pe 1 %y [0, 0] to %y [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return
}
func.func private @nested(%x: !a, %o: !a, %y: !a) {
  call @q(%x, %o) : (!a, !a) -> ()
  call @other(%y) : (!a) -> ()
  return
}
// CHECK-LABEL: func.func @entry
// CHECK-NEXT: call @q(%arg0, %arg1) : (!cube0_8x16xf16, !cube0_8x16xf16) -> ()
func.func @entry(%x: !a, %o: !a, %y: !a) {
  call @q(%x, %o) : (!a, !a) -> ()
  call @other(%y) : (!a) -> ()
  call @nested(%x, %o, %y) : (!a, !a, !a) -> ()
  return
}

// -----

// A callee may return one buffer at two results: both are the buffer. @two
// returns its alloc twice; @q copies into the first, so a later use of the
// second waits for the copy. @q itself returns its copy's target twice, and
// a use of either result waits.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
func.func private @two() -> (!a, !a) {
  %b = gemm_tile.alloc : !a
  %t = gemm_tile.map "gelu" pe 0 %b [0, 0] to %b [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return %b, %b : !a, !a
}
func.func private @q(%x: !a, %o: !a) {
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  return
}
func.func private @q2(%x: !a) -> (!a, !a) {
  %o = gemm_tile.alloc : !a
  %c = gemm_tile.dma %x [0, 0] to %o [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %c
  return %o, %o : !a, !a
}
func.func private @other(%y: !a) {
  %t = gemm_tile.map "gelu" pe 1 %y [0, 0] to %y [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return
}
// CHECK-LABEL: func.func @twice
// CHECK-NEXT: %[[B:.*]]:2 = call @two()
// CHECK-NEXT: %[[T:.*]] = call @q(%arg0, %[[B]]#0)
// CHECK-NEXT: call @other(%arg1)
// CHECK-NEXT: gemm_tile.wait %[[T]]
// CHECK-NEXT: call @other(%[[B]]#1)
// CHECK-NEXT: %[[Q:.*]]:3 = call @q2(%arg0)
// CHECK-NEXT: call @other(%arg1)
// CHECK-NEXT: gemm_tile.wait %[[Q]]#2
// CHECK-NEXT: call @other(%[[Q]]#1)
func.func @twice(%x: !a, %y: !a) {
  %b:2 = call @two() : () -> (!a, !a)
  call @q(%x, %b#0) : (!a, !a) -> ()
  call @other(%y) : (!a) -> ()
  call @other(%b#1) : (!a) -> ()
  %o:2 = call @q2(%x) : (!a) -> (!a, !a)
  call @other(%y) : (!a) -> ()
  call @other(%o#1) : (!a) -> ()
  return
}

// -----

// A relay's hop at a kernel's tail: the copy into cube 1's buffer, and the
// copy on to cube 2 ordered after it (`after`, not a wait). Both are
// trailing copies: a use of a token by a later copy's `after` is no wait, so
// @hop returns both tokens. Its caller waits for the second before @use
// reads its target, and for the first, into @hop's own buffer, before it
// returns.

!a = memref<8x16xf16, #gemm_tile.cube<0>>
!b = memref<8x16xf16, #gemm_tile.cube<1>>
!c = memref<8x16xf16, #gemm_tile.cube<2>>
// CHECK-LABEL: func.func private @hop
// CHECK-SAME: -> (!cube2_8x16xf16, !gemm_tile.token, !gemm_tile.token)
// CHECK: %[[C1:.*]] = gemm_tile.dma %{{.*}} : !cube0_8x16xf16, !cube1_8x16xf16
// CHECK: %[[C2:.*]] = gemm_tile.dma %{{.*}} after %[[C1]] : !cube1_8x16xf16, !cube2_8x16xf16
// CHECK-NEXT: return %{{.*}}, %[[C1]], %[[C2]]
func.func private @hop(%x: !a) -> !c {
  %r = gemm_tile.alloc : !b
  %o = gemm_tile.alloc : !c
  %c1 = gemm_tile.dma %x [0, 0] to %r [0, 0] sizes [8, 16] : !a, !b
  %c2 = gemm_tile.dma %r [0, 0] to %o [0, 0] sizes [8, 16] after %c1 : !b, !c
  gemm_tile.wait %c1, %c2
  return %o : !c
}
func.func private @work(%x: !a) {
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %x [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return
}
func.func private @use(%o: !c) {
  %t = gemm_tile.map "gelu" pe 0 %o [0, 0] to %o [0, 0] sizes [8, 16] : !c, !c
  gemm_tile.wait %t
  return
}
// CHECK-LABEL: func.func @relayed
// CHECK-NEXT: %[[H:.*]]:3 = call @hop(%arg0)
// CHECK-NEXT: call @work(%arg1)
// CHECK-NEXT: gemm_tile.wait %[[H]]#2
// CHECK-NEXT: call @use(%[[H]]#0)
// CHECK-NEXT: gemm_tile.wait %[[H]]#1
// CHECK-NEXT: return
func.func @relayed(%x: !a, %y: !a) {
  %o = call @hop(%x) : (!a) -> !c
  call @work(%y) : (!a) -> ()
  call @use(%o) : (!c) -> ()
  return
}
