// RUN: kb-opt %s -kb-place='remarks=true' 2>&1 | FileCheck %s
// RUN: kb-opt %s -kb-place='cost-model=false' | FileCheck %s --check-prefix=RULE

// kb-place decides in program order, so the bias (an argument) is decided
// first, against the rule's placement of the add it feeds: sharded over all
// 16 cubes of ahbm, like the rule's result. The matmul's result then moves to
// one mesh row of 4 cubes, where sharding the bias over 16 would cost a copy
// from a far cube for every piece of the add. The second sweep lets the bias
// answer that: a copy on every cube, each read where it is. The remark's two
// estimates are both under the final placement of the rest.

// CHECK: remark: kb-place: #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8> (estimated {{[0-9.]+}} us for the ops using it; the rule's #kb.dp<cube = shard(0), pe = replicate, num_cubes = 16, num_pes = 8>: {{[0-9.]+}} us)
// CHECK: remark: kb-place: #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 8>
// CHECK: %[[SUM:.*]] = kb.all_reduce <sum> %{{.*}} : tensor<64x256xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 8>>
// CHECK: kb.add %[[SUM]], %arg2 : tensor<64x256xf16, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 8>>, tensor<256xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>>

// Without the cost model the rule alone decides: no sweep moves anything.
// RULE: kb.add %{{.*}}, %arg2 : tensor<64x256xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 16, num_pes = 8>>, tensor<256xf16, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 16, num_pes = 8>>

#seed = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @tail(%g: tensor<64x256xf16>, %w: tensor<256x256xf16, #seed>,
                  %b: tensor<256xf16>) -> tensor<64x256xf16> {
    %0 = kb.matmul %g, %w : (tensor<64x256xf16>, tensor<256x256xf16, #seed>) -> tensor<64x256xf16>
    %1 = kb.all_reduce <sum> %0 : tensor<64x256xf16>
    %2 = kb.add %1, %b : tensor<64x256xf16>, tensor<256xf16>
    return %2 : tensor<64x256xf16>
  }
}
