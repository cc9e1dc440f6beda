// RUN: kb-opt --kb-device=ahbm %s -kb-overlap-collectives | FileCheck %s

// The down projection of the Llama-2-7B MLP at W = 8 (128 tokens) on ahbm,
// its lhs (the SwiGLU product) sharded over the 16 cubes by its columns: each
// cube computing its columns of the result needs a band's rows from all 16
// cubes. Copied straight, that was 16 copies a band into each cube, each
// paying its DMA latency and waiting for the mesh links it crosses (about
// 13 us a band, nearly what the band's gemm takes), and the pass cut 2 bands.
// The lowering now relays a band across the mesh (one cube per mesh row and
// column gathers its row's pieces, then each cube takes one box per row:
// kb/Device/MeshRelay.h) and the pass prices that plan, about 3.5 us a band
// of 32 rows: 4 equal bands were the best (kb-run: 145.7 us against 150.2 at
// 2 and 157.2 at 8). Uneven bands do a little better: 18 rows first (3.0 us
// of staging), 25 last (an 8.5 us ring where 32 rows took 9.3), 144.7 us.
// The last band cannot be much shorter: every ring pays 14 step latencies
// (5.7 us), which the band after it must cover with its gemm, about 0.35 us
// a row, so 8 bands of 16 rows would wait for the link.
// CHECK-LABEL: func.func @lhs_sharded
// CHECK: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 5 bands [18, 29, 28, 28, 25] :
// CHECK-NOT: kb.all_reduce

// The same gemm with its lhs in every cube: nothing to stage, and the same
// cut; there its short last band is what gains.
// CHECK-LABEL: func.func @lhs_replicated
// CHECK: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 5 bands [18, 29, 28, 28, 25] :
// CHECK-NOT: kb.all_reduce
#lhs_sharded = #kb.dp<cube = shard(1), pe = replicate, num_cubes = 16, num_pes = 8>
#lhs_rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
#w = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>
#y = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 8 : i64} {
  func.func @lhs_sharded(%x: tensor<128x1376xf16, #lhs_sharded>, %w: tensor<1376x4096xf16, #w>) -> tensor<128x4096xf16, #y> {
    %p = kb.matmul %x, %w : (tensor<128x1376xf16, #lhs_sharded>, tensor<1376x4096xf16, #w>) -> tensor<128x4096xf16, #y>
    %y = kb.all_reduce <sum> %p : tensor<128x4096xf16, #y>
    return %y : tensor<128x4096xf16, #y>
  }
  func.func @lhs_replicated(%x: tensor<128x1376xf16, #lhs_rep>, %w: tensor<1376x4096xf16, #w>) -> tensor<128x4096xf16, #y> {
    %p = kb.matmul %x, %w : (tensor<128x1376xf16, #lhs_rep>, tensor<1376x4096xf16, #w>) -> tensor<128x4096xf16, #y>
    %y = kb.all_reduce <sum> %p : tensor<128x4096xf16, #y>
    return %y : tensor<128x4096xf16, #y>
  }
}
