// RUN: kb-opt %s -kb-place='remarks=true' 2>&1 | FileCheck %s

// The estimate of a gemm whose cubes wait for copies starts each cube when
// its own copies are in, as the lowering waits for them (cube after cube),
// not every cube after the last copy. A weight on cube 0 and a result
// replicated on two cubes, computed in shares of 34 and 33 columns (67 does
// not halve); one PE per cube at 256 GFLOP/s, a copy between cubes 1000 ns
// of latency plus its bytes at 128 GB/s:
//   cube 0: its 34 columns at once, 2 * 64 * 34 * 64 FLOPs = 1.088 us;
//   cube 1: 64 x 33 f16 columns copied (1.033 us), then 1.056 us: 2.089 us;
//   the shares to the other replica, each cube's engine its own: 1.034 us.
// 2.089 + 1.034 = 3.123 us; charging the last copy before every cube's
// compute gave 1.033 + 1.088 + 1.034 = 3.155.

// CHECK: remark: kb-place: @gemm is estimated at 3.123 us on the device under these placements

#one = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 2, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64,
                   gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 1, mesh_cols = 0, ring_step_latency_ns = 0, dma_latency_local_ns = 0, dma_latency_far_cube_ns = 1000, kernel_launch_ns = 0, memory_efficiency_permille = 1000>} {
  func.func @gemm(%x: tensor<64x64xf16, #rep>, %w: tensor<64x67xf16, #one>) -> tensor<64x67xf16, #rep> {
    %y = kb.matmul %x, %w : (tensor<64x64xf16, #rep>, tensor<64x67xf16, #one>) -> tensor<64x67xf16, #rep>
    return %y : tensor<64x67xf16, #rep>
  }
}
