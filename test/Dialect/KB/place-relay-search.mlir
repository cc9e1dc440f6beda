// RUN: kb-opt --kb-tp-partition --canonicalize --cse --kb-place=remarks=true %kb_src_root/examples/mlp_seed.mlir -o /dev/null 2>&1 | FileCheck %s

// kb-place prices copies relayed across the mesh (kb/Device/MeshRelay.h) as
// the lowering issues them. Cheaper gathers change which placements look
// good, and the greedy sweeps priced with relays end elsewhere on the seed's
// block: they shard the gemm results over the cubes, which the seed's
// one-cube weights then meet across the mesh (13.3 us in kb-run, estimated
// at as much). Searched a second time without relays, the placement keeps
// the activations on one mesh row of four cubes beside the weights, and its
// whole function, relay-priced, is faster (10.0 us; kb-run 9.3): that one is
// kept.
// CHECK: remark: kb-place: #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 8>
// CHECK: remark: kb-place: #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 8>
// CHECK-NOT: num_cubes = 16, num_pes = 8> (estimated
// CHECK: remark: kb-place: @mlp is estimated at 10.0{{[0-9]+}} us on the device
