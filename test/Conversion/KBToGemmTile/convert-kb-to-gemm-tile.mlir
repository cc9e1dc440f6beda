// RUN: kb-opt %s -convert-kb-to-gemm-tile -gemm-tile-check-cube-memory -split-input-file -verify-diagnostics | FileCheck %s

// A gemm whose operands are where its output's PEs need them: no DMA, one
// tile per PE slab, then a wait. Arguments become one buffer per cube piece.

#rep2 = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @local_gemm
  // CHECK-SAME: (%[[X0:.*]]: !cube0_8x16xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: %[[X1:.*]]: !cube1_8x16xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: %[[W0:.*]]: !cube0_16x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
  // CHECK-SAME: %[[W1:.*]]: !cube1_16x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 4]>})
  // CHECK-SAME: -> (!cube0_8x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
  // CHECK-SAME: !cube1_8x4xf32 {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 4]>})
  // CHECK-SAME: kb.arg_split_dims = array<i64: -1, 1>
  // CHECK-SAME: kb.local_function_type = (tensor<8x16xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>>, tensor<16x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>>) -> tensor<8x8xf32, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>>
  // CHECK-SAME: kb.result_split_dims = array<i64: 1>
  // CHECK-NOT: gemm_tile.dma
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_8x4xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_8x4xf32
  // CHECK: %[[T0:.*]] = gemm_tile.matmul pe 0 %[[X0]] [0, 0], %[[W0]] [0, 0] to %[[Y0]] [0, 0] sizes [4, 4, 16] k_chunk 16
  // CHECK: %[[T1:.*]] = gemm_tile.matmul pe 1 %[[X0]] [4, 0], %[[W0]] [0, 0] to %[[Y0]] [4, 0] sizes [4, 4, 16] k_chunk 16
  // CHECK: %[[T2:.*]] = gemm_tile.matmul pe 0 %[[X1]] [0, 0], %[[W1]] [0, 0] to %[[Y1]] [0, 0] sizes [4, 4, 16] k_chunk 16
  // CHECK: %[[T3:.*]] = gemm_tile.matmul pe 1 %[[X1]] [4, 0], %[[W1]] [0, 0] to %[[Y1]] [4, 0] sizes [4, 4, 16] k_chunk 16
  // CHECK: gemm_tile.wait %[[T0]], %[[T1]], %[[T2]], %[[T3]]
  // CHECK: return %[[Y0]], %[[Y1]]
  func.func @local_gemm(%x: tensor<8x16xf32, #rep2>, %w: tensor<16x8xf32, #cols> {kb.split_dim = 1 : i64})
      -> (tensor<8x8xf32, #out> {kb.split_dim = 1 : i64}) {
    %y = kb.matmul %x, %w : (tensor<8x16xf32, #rep2>, tensor<16x8xf32, #cols>) -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}

// -----

// An lhs sharded over the cubes by columns must be gathered into each cube
// that multiplies it: DMA from both pieces into a staging buffer of each
// cube, then, cube by cube, a wait for that cube's copies and its tiles.

#lhs = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  // CHECK-LABEL: func.func @gathered_lhs
  // CHECK-SAME: (%[[H0:[^:]*]]: !cube0_4x8xf16
  // CHECK-SAME: %[[H1:[^:]*]]: !cube1_4x8xf16
  // CHECK: %[[S0:.*]] = gemm_tile.alloc : !cube0_4x16xf16
  // CHECK: %[[D0:.*]] = gemm_tile.dma %[[H0]] [0, 0] to %[[S0]] [0, 0] sizes [4, 8]
  // CHECK: %[[D1:.*]] = gemm_tile.dma %[[H1]] [0, 0] to %[[S0]] [0, 8] sizes [4, 8]
  // CHECK: %[[S1:.*]] = gemm_tile.alloc : !cube1_4x16xf16
  // CHECK: %[[D2:.*]] = gemm_tile.dma %[[H0]] [0, 0] to %[[S1]] [0, 0] sizes [4, 8]
  // CHECK: %[[D3:.*]] = gemm_tile.dma %[[H1]] [0, 0] to %[[S1]] [0, 8] sizes [4, 8]
  // CHECK-NEXT: gemm_tile.wait %[[D0]], %[[D1]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[S0]] [0, 0]
  // CHECK-NEXT: gemm_tile.wait %[[D2]], %[[D3]]
  // CHECK-NEXT: gemm_tile.matmul pe 0 %[[S1]] [0, 0]
  func.func @gathered_lhs(%h: tensor<4x16xf16, #lhs>, %w: tensor<16x8xf16, #w>) -> tensor<4x8xf16, #w> {
    %y = kb.matmul %h, %w : (tensor<4x16xf16, #lhs>, tensor<16x8xf16, #w>) -> tensor<4x8xf16, #w>
    return %y : tensor<4x8xf16, #w>
  }
}

// -----

// A replicated output is computed once: each cube computes half the
// columns, then DMA copies each half to the other replica, as soon as the
// tiles of its own cube are done (cube 0's copy moves while cube 1's tiles
// may still run).

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
#w = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @replicated_output
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
  // CHECK: %[[T0:.*]] = gemm_tile.matmul pe 0 %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[Y0]] [0, 0] sizes [4, 4, 16]
  // CHECK: %[[T1:.*]] = gemm_tile.matmul pe 0 %{{.*}} [0, 0], %{{.*}} [0, 0] to %[[Y1]] [0, 4] sizes [4, 4, 16]
  // CHECK-NEXT: gemm_tile.wait %[[T0]]
  // CHECK-NEXT: %[[C0:.*]] = gemm_tile.dma %[[Y0]] [0, 0] to %[[Y1]] [0, 0] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.wait %[[T1]]
  // CHECK-NEXT: %[[C1:.*]] = gemm_tile.dma %[[Y1]] [0, 4] to %[[Y0]] [0, 4] sizes [4, 4]
  // CHECK-NEXT: gemm_tile.wait %[[C0]], %[[C1]]
  // CHECK: return %[[Y0]] :
  func.func @replicated_output(%x: tensor<4x16xf32, #rep>, %w: tensor<16x8xf32, #w>) -> tensor<4x8xf32, #rep> {
    %y = kb.matmul %x, %w : (tensor<4x16xf32, #rep>, tensor<16x8xf32, #w>) -> tensor<4x8xf32, #rep>
    return %y : tensor<4x8xf32, #rep>
  }
}

// -----

// all_reduce: one ring reduce-scatter then all-gather (W - 1 steps each)
// whose chunks are drawn from every distinct piece, in both cubes; the bias
// add after it brings its slice of the bias.

#y = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#b = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @reduce_then_bias
  // CHECK-SAME: (%[[P0:[^:]*]]: !cube0_4x4xf16
  // CHECK-SAME: %[[P1:[^:]*]]: !cube1_4x4xf16
  // CHECK-SAME: %[[B:[^:]*]]: !cube0_8xf16
  // CHECK: gemm_tile.reduce_scatter_step <avg> %[[P0]], %[[P1]] step 0 of 4
  // CHECK-NEXT: gemm_tile.reduce_scatter_step <avg> %[[P0]], %[[P1]] step 1 of 4
  // CHECK-NEXT: gemm_tile.reduce_scatter_step <avg> %[[P0]], %[[P1]] step 2 of 4
  // CHECK-NEXT: gemm_tile.all_gather_step %[[P0]], %[[P1]] step 0 of 4
  // CHECK-NEXT: gemm_tile.all_gather_step %[[P0]], %[[P1]] step 1 of 4
  // CHECK-NEXT: gemm_tile.all_gather_step %[[P0]], %[[P1]] step 2 of 4
  // CHECK-NOT: _step
  // CHECK: %[[S:.*]] = gemm_tile.alloc : !cube1_4xf16
  // CHECK: gemm_tile.dma %[[B]] [4] to %[[S]] [0] sizes [4]
  // CHECK: gemm_tile.wait
  // CHECK: gemm_tile.zip "add" pe 0 %[[P0]] [0, 0], %[[B]] [0] to %{{.*}} [0, 0] sizes [4, 4]
  // CHECK: gemm_tile.zip "add" pe 0 %[[P1]] [0, 0], %[[S]] [0] to %{{.*}} [0, 0] sizes [4, 4]
  func.func @reduce_then_bias(%p: tensor<4x8xf16, #y>, %b: tensor<8xf16, #b>) -> tensor<4x8xf16, #y> {
    %r = kb.all_reduce <avg> %p : tensor<4x8xf16, #y>
    %s = kb.add %r, %b : tensor<4x8xf16, #y>, tensor<8xf16, #b>
    return %s : tensor<4x8xf16, #y>
  }
}

// -----

// A rank-dependent slice is one DMA whose source moves with the rank.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @slice
  // CHECK: gemm_tile.dma %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [2, 4] rank_stride [0, 4]
  func.func @slice(%x: tensor<2x16xf32, #rep>) -> tensor<2x4xf32, #rep> {
    %r = kb.tp_rank : index
    %s = kb.tp_slice %x[%r] along 1 : tensor<2x16xf32, #rep> -> tensor<2x4xf32, #rep>
    return %s : tensor<2x4xf32, #rep>
  }
}

// -----

// A slice of a window (a fused weight's second third) reads the source at the
// window's offset, moved on by the rank: no copy of the window first. Split
// over two cubes by rows, each cube copies its rows from its own piece.

#rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // CHECK-LABEL: func.func @slice_of_window
  // CHECK-SAME: (%[[X0:[a-z0-9]+]]: !cube0_2x48xf32 {{.*}}, %[[X1:[a-z0-9]+]]: !cube1_2x48xf32
  // CHECK: gemm_tile.dma %[[X0]] [0, 16] to %{{.*}} [0, 0] sizes [2, 4] rank_stride [0, 4] : !cube0_2x48xf32, !cube0_2x4xf32
  // CHECK: gemm_tile.dma %[[X1]] [0, 16] to %{{.*}} [0, 0] sizes [2, 4] rank_stride [0, 4] : !cube1_2x48xf32, !cube1_2x4xf32
  // CHECK-NOT: gemm_tile.dma
  func.func @slice_of_window(%x: tensor<4x48xf32, #rows>) -> tensor<4x4xf32, #rows> {
    %r = kb.tp_rank : index
    %s = kb.tp_slice %x[%r] along 1 offset 16 : tensor<4x48xf32, #rows> -> tensor<4x4xf32, #rows>
    return %s : tensor<4x4xf32, #rows>
  }
}

// -----

// Large tiles are cut to fit the PE buffer: with 16 KiB, a 64x64 f32 output
// becomes four 32x32 tiles, each streaming k in chunks of 24
// ((32·24 + 24·32)·4·2 + 32·32·4 = 16384 bytes).

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1, pe_buffer_kib = 16>} {
  // CHECK-LABEL: func.func @small_buffer
  // CHECK-COUNT-4: gemm_tile.matmul pe 0 {{.*}} sizes [32, 32, 64] k_chunk 24
  // CHECK-NOT: gemm_tile.matmul
  func.func @small_buffer(%a: tensor<64x64xf32, #rep>, %b: tensor<64x64xf32, #rep>) -> tensor<64x64xf32, #rep> {
    %c = kb.matmul %a, %b : (tensor<64x64xf32, #rep>, tensor<64x64xf32, #rep>) -> tensor<64x64xf32, #rep>
    return %c : tensor<64x64xf32, #rep>
  }
}

// -----

// A PE slab whose whole extent fits the buffer is one tile, not a 128-column
// tile and a remainder: 8x192 f16 streams k in chunks of 647
// ((8·647 + 647·192)·2·2 + 8·192·4 <= 512 KiB).

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @whole_slab
  // CHECK: gemm_tile.matmul pe 0 {{.*}} sizes [8, 192, 4096] k_chunk 647
  // CHECK-NOT: gemm_tile.matmul
  func.func @whole_slab(%a: tensor<8x4096xf16, #rep>, %b: tensor<4096x192xf16, #rep>) -> tensor<8x192xf16, #rep> {
    %c = kb.matmul %a, %b : (tensor<8x4096xf16, #rep>, tensor<4096x192xf16, #rep>) -> tensor<8x192xf16, #rep>
    return %c : tensor<8x192xf16, #rep>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @unplaced(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
    // expected-error@-1 {{without a DPPolicy; run kb-place before convert-kb-to-gemm-tile}}
    return %x : tensor<4x4xf32>
  }
}

// -----

// expected-error@+1 {{convert-kb-to-gemm-tile lowers the local view: run kb-tp-partition and kb-place first}}
module attributes {kb.world_size = 2 : i64} {
  func.func @global(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
    return %x : tensor<4x4xf32>
  }
}

// -----

// More bytes than a cube holds: the lowered program is rejected by
// gemm-tile-check-cube-memory at the op whose buffer overflows the cube,
// naming the cube and both counts.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, cube_memory_mib = 1>} {
  func.func @too_big(%a: tensor<512x256xf32, #rep>) -> tensor<512x256xf32, #rep> {
    %g = kb.gelu %a : tensor<512x256xf32, #rep>
    // expected-error@+1 {{needs 1572864 bytes in cube 0, but a cube holds 1048576 bytes}}
    %h = kb.gelu %g : tensor<512x256xf32, #rep>
    return %h : tensor<512x256xf32, #rep>
  }
}

// -----

// A slice of a tensor split over the cubes along the sliced dimension cannot
// be a rank-generic DMA.

#split = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @bad_slice(%x: tensor<2x16xf32, #split>) -> tensor<2x8xf32, #rep> {
    %r = kb.tp_rank : index
    // expected-error@+1 {{slices a tensor whose cube pieces split dimension 1}}
    %s = kb.tp_slice %x[%r] along 1 : tensor<2x16xf32, #split> -> tensor<2x8xf32, #rep>
    return %s : tensor<2x8xf32, #rep>
  }
}

// -----

// Cube buffers hold f16, bf16, f32, i32 and i64: a placed tensor of index has no buffer.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // expected-error@+1 {{has a value of type 'tensor<4xindex, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>': cube buffers hold f16, bf16, f32, i32 and i64 elements}}
  func.func @index_tensor(%a: tensor<4xindex, #rep>) -> tensor<4xindex, #rep> {
    return %a : tensor<4xindex, #rep>
  }
}

// -----

// An op no pattern lowers is named once, when nothing else was reported.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @unsupported(%a: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
    // expected-error@+1 {{'arith.constant' op is not supported by convert-kb-to-gemm-tile}}
    %c = arith.constant 1 : i32
    return %a : tensor<4x8xf32, #rep>
  }
}

// -----

// The rank has no device value: it may only feed slices.

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @rank_as_value(%a: tensor<4x8xf32, #rep>) -> (tensor<4x8xf32, #rep>, i32) {
    %r = kb.tp_rank : index
    // expected-error@+1 {{'arith.index_cast' op uses kb.tp_rank, which convert-kb-to-gemm-tile lowers only into kb.tp_slice, kb.embedding and kb.lm_head}}
    %i = arith.index_cast %r : index to i32
    return %a, %i : tensor<4x8xf32, #rep>, i32
  }
}

// -----

// kernbench's meaning of a PE-level replicate with a count: the seed's
// DPPolicy(replicate, replicate, num_cubes=1, num_pes=1) puts the tensor and
// the work producing it on one PE, however many PEs the cube has; num_pes = 2
// shares it over two.

#one_pe = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#two_pes = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 2>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 1, pes_per_cube = 8>} {
  // CHECK-LABEL: func.func @seed_placement
  // CHECK: gemm_tile.matmul pe 0 %{{.*}} [0, 0], %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 32, 16]
  // CHECK-NOT: gemm_tile.matmul
  // CHECK: gemm_tile.map "gelu" pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 32]
  // CHECK-NOT: gemm_tile.map "gelu"
  // CHECK: return
  func.func @seed_placement(%x: tensor<8x16xf32, #one_pe>, %w: tensor<16x32xf32, #one_pe>)
      -> tensor<8x32xf32, #one_pe> {
    %y = kb.matmul %x, %w : (tensor<8x16xf32, #one_pe>, tensor<16x32xf32, #one_pe>) -> tensor<8x32xf32, #one_pe>
    %g = kb.gelu %y : tensor<8x32xf32, #one_pe>
    return %g : tensor<8x32xf32, #one_pe>
  }
  // CHECK-LABEL: func.func @two_pes
  // CHECK: gemm_tile.map "gelu" pe 0 %{{.*}} [0, 0] to %{{.*}} [0, 0] sizes [8, 16]
  // CHECK-NEXT: gemm_tile.map "gelu" pe 1 %{{.*}} [0, 16] to %{{.*}} [0, 16] sizes [8, 16]
  // CHECK-NOT: gemm_tile.map "gelu"
  func.func @two_pes(%x: tensor<8x32xf32, #two_pes>) -> tensor<8x32xf32, #two_pes> {
    %g = kb.gelu %x : tensor<8x32xf32, #two_pes>
    return %g : tensor<8x32xf32, #two_pes>
  }
}

// -----

// all_gather along 1: each rank's slice (split over two cubes along rows)
// goes to its columns of a ring buffer in cube 0 by DMAs whose target moves
// with the rank; one ring all-gather along 1 (W - 1 steps) fills in the rest,
// and the result's other cube copies its rows from it.

#in = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @all_gather_along_1
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_4x2xf32
  // CHECK-SAME: %[[X1:[^:]*]]: !cube1_4x2xf32
  // CHECK: %[[Y0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
  // CHECK: %[[Y1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
  // CHECK: %[[G:.*]] = gemm_tile.alloc : !cube0_8x8xf32
  // CHECK: gemm_tile.dma %[[X0]] [0, 0] to %[[G]] [0, 0] sizes [4, 2] target_rank_stride [0, 2]
  // CHECK: gemm_tile.dma %[[X1]] [0, 0] to %[[G]] [4, 0] sizes [4, 2] target_rank_stride [0, 2]
  // CHECK: gemm_tile.wait
  // CHECK-NEXT: gemm_tile.all_gather_step %[[G]] step 0 of 4 along 1
  // CHECK-NEXT: gemm_tile.all_gather_step %[[G]] step 1 of 4 along 1
  // CHECK-NEXT: gemm_tile.all_gather_step %[[G]] step 2 of 4 along 1
  // CHECK-NEXT: gemm_tile.dma %[[G]] [0, 0] to %[[Y0]] [0, 0] sizes [4, 8]
  // CHECK-NEXT: gemm_tile.dma %[[G]] [4, 0] to %[[Y1]] [0, 0] sizes [4, 8]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NOT: reduce_scatter_step
  func.func @all_gather_along_1(%x: tensor<8x2xf32, #in>) -> tensor<8x8xf32, #out> {
    %y = kb.all_gather %x along 1 : tensor<8x2xf32, #in> -> tensor<8x8xf32, #out>
    return %y : tensor<8x8xf32, #out>
  }
}

// -----

// reduce_scatter along 0 into a result held whole in one cube: the input's
// pieces are copied into a ring buffer there (the input may be read again),
// one ring reduce-scatter along 0 leaves the rank's rows reduced, and a DMA
// whose source moves with the rank takes them out.

#in = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
#out = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 2 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1>} {
  // CHECK-LABEL: func.func @reduce_scatter_along_0
  // CHECK-SAME: (%[[X0:[^:]*]]: !cube0_4x4xf16
  // CHECK-SAME: %[[X1:[^:]*]]: !cube1_4x4xf16
  // CHECK: %[[Y:.*]] = gemm_tile.alloc : !cube0_2x8xf16
  // CHECK: %[[G:.*]] = gemm_tile.alloc : !cube0_4x8xf16
  // CHECK: gemm_tile.dma %[[X0]] [0, 0] to %[[G]] [0, 0] sizes [4, 4]
  // CHECK: gemm_tile.dma %[[X1]] [0, 0] to %[[G]] [0, 4] sizes [4, 4]
  // CHECK: gemm_tile.wait
  // CHECK-NEXT: gemm_tile.reduce_scatter_step <max> %[[G]] step 0 of 2 along 0
  // CHECK-NEXT: gemm_tile.dma %[[G]] [0, 0] to %[[Y]] [0, 0] sizes [2, 8] rank_stride [2, 0]
  // CHECK-NEXT: gemm_tile.wait
  // CHECK-NOT: all_gather_step
  func.func @reduce_scatter_along_0(%x: tensor<4x8xf16, #in>) -> tensor<2x8xf16, #out> {
    %y = kb.reduce_scatter <max> %x along 0 : tensor<4x8xf16, #in> -> tensor<2x8xf16, #out>
    return %y : tensor<2x8xf16, #out>
  }
}
