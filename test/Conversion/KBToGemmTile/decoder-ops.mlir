// RUN: kb-opt %s -convert-kb-to-gemm-tile -split-input-file -verify-diagnostics | FileCheck %s

// The decoder layer's row ops and data moves on the device: norms on whole
// rows, rope on whole heads, each split over the PEs of the cube computing a
// piece; kv_append and extract_slice as DMA.

// A norm of a replicated tensor: each replica's rows are split over the
// cube's PEs (3 + 2 of 5 rows), whole rows each, the weight read in place.
// CHECK-LABEL: func.func @rms_norm_replicated
// CHECK-SAME: (%[[X0:[^:]*]]: !cube0_5x16xf16
// CHECK-SAME: %[[X1:[^:]*]]: !cube1_5x16xf16
// CHECK-SAME: %[[W0:[^:]*]]: !cube0_16xf16
// CHECK-SAME: %[[W1:[^:]*]]: !cube1_16xf16
// CHECK-NOT: gemm_tile.dma
// CHECK: %[[N0:.*]] = gemm_tile.alloc : !cube0_5x16xf16
// CHECK: %[[N1:.*]] = gemm_tile.alloc : !cube1_5x16xf16
// CHECK: %[[T0:.*]] = gemm_tile.rms_norm pe 0 %[[X0]] [0, 0], %[[W0]] to %[[N0]] [0, 0] sizes [3, 16] eps 9.99999974E-6
// CHECK: %[[T1:.*]] = gemm_tile.rms_norm pe 1 %[[X0]] [3, 0], %[[W0]] to %[[N0]] [3, 0] sizes [2, 16]
// CHECK: %[[T2:.*]] = gemm_tile.rms_norm pe 0 %[[X1]] [0, 0], %[[W1]] to %[[N1]] [0, 0] sizes [3, 16]
// CHECK: %[[T3:.*]] = gemm_tile.rms_norm pe 1 %[[X1]] [3, 0], %[[W1]] to %[[N1]] [3, 0] sizes [2, 16]
// CHECK: gemm_tile.wait %[[T0]], %[[T1]], %[[T2]], %[[T3]]
// CHECK-NOT: gemm_tile.dma
// CHECK: return %[[N0]]
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @rms_norm_replicated(%x: tensor<5x16xf16, #rep>, %w: tensor<16xf16, #rep>) -> tensor<5x16xf16, #rep> {
    %n = kb.rms_norm %x, %w : tensor<5x16xf16, #rep>, tensor<16xf16, #rep>
    return %n : tensor<5x16xf16, #rep>
  }
}

// -----

// A placement that splits the normalized dimension over the cubes: each
// cube gathers whole rows and the whole weight and bias, normalizes them
// into a scratch buffer, and copies its own columns out.
// CHECK-LABEL: func.func @layer_norm_split_columns
// CHECK-SAME: (%[[X0:[^:]*]]: !cube0_4x8xf32
// CHECK-SAME: %[[X1:[^:]*]]: !cube1_4x8xf32
// CHECK: %[[N0:.*]] = gemm_tile.alloc : !cube0_4x8xf32
// CHECK: %[[N1:.*]] = gemm_tile.alloc : !cube1_4x8xf32
// CHECK: %[[R0:.*]] = gemm_tile.alloc : !cube0_4x16xf32
// CHECK: gemm_tile.dma %[[X0]] [0, 0] to %[[R0]] [0, 0] sizes [4, 8]
// CHECK: gemm_tile.dma %[[X1]] [0, 0] to %[[R0]] [0, 8] sizes [4, 8]
// CHECK: %[[W0:.*]] = gemm_tile.alloc : !cube0_16xf32
// CHECK: %[[B0:.*]] = gemm_tile.alloc : !cube0_16xf32
// CHECK: %[[S0:.*]] = gemm_tile.alloc : !cube0_4x16xf32
// CHECK: %[[R1:.*]] = gemm_tile.alloc : !cube1_4x16xf32
// CHECK: %[[S1:.*]] = gemm_tile.alloc : !cube1_4x16xf32
// CHECK: gemm_tile.wait
// CHECK: gemm_tile.layer_norm pe 0 %[[R0]] [0, 0], %[[W0]], %[[B0]] to %[[S0]] [0, 0] sizes [2, 16]
// CHECK: gemm_tile.layer_norm pe 1 %[[R0]] [2, 0], %[[W0]], %[[B0]] to %[[S0]] [2, 0] sizes [2, 16]
// CHECK: gemm_tile.layer_norm pe 0 %[[R1]] [0, 0], {{.*}} to %[[S1]] [0, 0] sizes [2, 16]
// CHECK: gemm_tile.layer_norm pe 1 %[[R1]] [2, 0], {{.*}} to %[[S1]] [2, 0] sizes [2, 16]
// CHECK: gemm_tile.wait
// CHECK: gemm_tile.dma %[[S0]] [0, 0] to %[[N0]] [0, 0] sizes [4, 8]
// CHECK: gemm_tile.dma %[[S1]] [0, 8] to %[[N1]] [0, 0] sizes [4, 8]
// CHECK: gemm_tile.wait
// CHECK: return %[[N0]], %[[N1]]
#cols = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 2, num_pes = 2>
#vec = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @layer_norm_split_columns(%x: tensor<4x16xf32, #cols>, %w: tensor<16xf32, #vec>, %b: tensor<16xf32, #vec>) -> tensor<4x16xf32, #cols> {
    %n = kb.layer_norm %x, %w, %b : tensor<4x16xf32, #cols>, tensor<16xf32, #vec>, tensor<16xf32, #vec>
    return %n : tensor<4x16xf32, #cols>
  }
}

// -----

// Rope on pieces of whole heads needs no staging. One token (decode)
// shares its heads out over the PEs, all at the token's position (offset 7);
// 3 rows over 2 PEs are split by rows, each slab at its first row's position.
// CHECK-LABEL: func.func @rope_decode
// CHECK-SAME: (%[[Q0:[^:]*]]: !cube0_1x16xbf16
// CHECK-NOT: gemm_tile.dma
// CHECK: %[[R0:.*]] = gemm_tile.alloc : !cube0_1x16xbf16
// CHECK: gemm_tile.rope pe 0 %[[Q0]] [0, 0] to %[[R0]] [0, 0] sizes [1, 8] head_dim 8 position 7 theta 1.000000e+04
// CHECK: gemm_tile.rope pe 1 %[[Q0]] [0, 8] to %[[R0]] [0, 8] sizes [1, 8] head_dim 8 position 7 theta 1.000000e+04
// CHECK: gemm_tile.rope pe 0 {{.*}} sizes [1, 8] head_dim 8 position 7
// CHECK: gemm_tile.rope pe 1 {{.*}} sizes [1, 8] head_dim 8 position 7
// CHECK: gemm_tile.wait
// CHECK-LABEL: func.func @rope_prefill
// CHECK: gemm_tile.rope pe 0 {{.*}} [0, 0] to {{.*}} [0, 0] sizes [2, 16] head_dim 16 position 0 theta 5.000000e+05
// CHECK: gemm_tile.rope pe 1 {{.*}} [2, 0] to {{.*}} [2, 0] sizes [1, 16] head_dim 16 position 2 theta 5.000000e+05
#heads = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @rope_decode(%q: tensor<1x32xbf16, #heads>) -> tensor<1x32xbf16, #heads> {
    %r = kb.rope %q head_dim 8 offset 7 : tensor<1x32xbf16, #heads>
    return %r : tensor<1x32xbf16, #heads>
  }
  func.func @rope_prefill(%q: tensor<3x32xbf16, #heads>) -> tensor<3x32xbf16, #heads> {
    %r = kb.rope %q head_dim 16 {theta = 5.0e5 : f64} : tensor<3x32xbf16, #heads>
    return %r : tensor<3x32xbf16, #heads>
  }
}

// -----

// The cache's rows, then the new row after them, into each replica of the
// result; the cache's pieces come from both cubes, the new row from the
// replica in the same cube.
// CHECK-LABEL: func.func @kv_append
// CHECK-SAME: (%[[C0:[^:]*]]: !cube0_3x8xf16
// CHECK-SAME: %[[C1:[^:]*]]: !cube1_3x8xf16
// CHECK-SAME: %[[K0:[^:]*]]: !cube0_1x8xf16
// CHECK-SAME: %[[K1:[^:]*]]: !cube1_1x8xf16
// CHECK: %[[A0:.*]] = gemm_tile.alloc : !cube0_7x8xf16
// CHECK: %[[A1:.*]] = gemm_tile.alloc : !cube1_7x8xf16
// CHECK: %[[D0:.*]] = gemm_tile.dma %[[C0]] [0, 0] to %[[A0]] [0, 0] sizes [3, 8]
// CHECK: %[[D1:.*]] = gemm_tile.dma %[[C1]] [0, 0] to %[[A0]] [3, 0] sizes [3, 8]
// CHECK: %[[D2:.*]] = gemm_tile.dma %[[K0]] [0, 0] to %[[A0]] [6, 0] sizes [1, 8]
// CHECK: %[[D3:.*]] = gemm_tile.dma %[[C0]] [0, 0] to %[[A1]] [0, 0] sizes [3, 8]
// CHECK: %[[D4:.*]] = gemm_tile.dma %[[C1]] [0, 0] to %[[A1]] [3, 0] sizes [3, 8]
// CHECK: %[[D5:.*]] = gemm_tile.dma %[[K1]] [0, 0] to %[[A1]] [6, 0] sizes [1, 8]
// CHECK: gemm_tile.wait %[[D0]], %[[D1]], %[[D2]], %[[D3]], %[[D4]], %[[D5]]
#rows = #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @kv_append(%cache: tensor<6x8xf16, #rows>, %new: tensor<1x8xf16, #rep>) -> tensor<7x8xf16, #rep> {
    %all = kb.kv_append %cache, %new : tensor<6x8xf16, #rows>, tensor<1x8xf16, #rep> -> tensor<7x8xf16, #rep>
    return %all : tensor<7x8xf16, #rep>
  }
}

// -----

// GPT-2's fused W_qkv: the k columns [4, 8) of a weight whose cubes hold
// columns [0, 6) and [6, 12); each result piece copies its columns.
// CHECK-LABEL: func.func @qkv_split
// CHECK-SAME: (%[[W0:[^:]*]]: !cube0_4x6xf32
// CHECK-SAME: %[[W1:[^:]*]]: !cube1_4x6xf32
// CHECK: %[[K0:.*]] = gemm_tile.alloc : !cube0_4x2xf32
// CHECK: %[[K1:.*]] = gemm_tile.alloc : !cube1_4x2xf32
// CHECK: gemm_tile.dma %[[W0]] [0, 4] to %[[K0]] [0, 0] sizes [4, 2]
// CHECK: gemm_tile.dma %[[W1]] [0, 0] to %[[K1]] [0, 0] sizes [4, 2]
// CHECK: gemm_tile.wait
#cols = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 2>} {
  func.func @qkv_split(%w: tensor<4x12xf32, #cols>) -> tensor<4x4xf32, #cols> {
    %k = tensor.extract_slice %w[0, 4] [4, 4] [1, 1] : tensor<4x12xf32, #cols> to tensor<4x4xf32, #cols>
    return %k : tensor<4x4xf32, #cols>
  }
}

// -----

// What the patterns refuse, at the op.
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @norm_rank3(%x: tensor<2x3x8xf32, #rep>, %w: tensor<8xf32, #rep>) -> tensor<2x3x8xf32, #rep> {
    // expected-error@+1 {{is lowered to the device for [rows, columns] tensors, got rank 3}}
    %n = kb.rms_norm %x, %w : tensor<2x3x8xf32, #rep>, tensor<8xf32, #rep>
    return %n : tensor<2x3x8xf32, #rep>
  }
}

// -----

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @strided_slice(%x: tensor<4x8xf32, #rep>) -> tensor<4x4xf32, #rep> {
    // expected-error@+1 {{is lowered to the device only with static offsets and sizes and unit strides}}
    %s = tensor.extract_slice %x[0, 0] [4, 4] [1, 2] : tensor<4x8xf32, #rep> to tensor<4x4xf32, #rep>
    return %s : tensor<4x4xf32, #rep>
  }
}

// -----

#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<pe_buffer_kib = 3>} {
  func.func @norm_row_too_long(%x: tensor<2x512xf16, #rep>, %w: tensor<512xf16, #rep>, %b: tensor<512xf16, #rep>) -> tensor<2x512xf16, #rep> {
    // expected-error@+1 {{normalizes rows of 512 columns, which need 4096 bytes of a PE's buffer (the row, its result and the weight and bias), but a PE has 3072}}
    %n = kb.layer_norm %x, %w, %b : tensor<2x512xf16, #rep>, tensor<512xf16, #rep>, tensor<512xf16, #rep>
    return %n : tensor<2x512xf16, #rep>
  }
}
