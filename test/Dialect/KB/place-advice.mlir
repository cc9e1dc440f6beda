// RUN: kb-opt --kb-device=small %s -kb-place='advise=true' -split-input-file -verify-diagnostics | FileCheck %s

// A policy the user gave is kept. With `advise`, kb-place says when the policy
// kb would choose is clearly faster, naming both with their estimates: the
// seed's one-PE placement of a gemm result loses to spreading it over the
// cube's PEs.

#seed = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @seed_policy
  // CHECK: kb.matmul {{.*}} -> tensor<64x512xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>
  func.func @seed_policy(%x: tensor<64x256xf16>, %w: tensor<256x512xf16>) -> tensor<64x512xf16, #seed> {
    // expected-remark-re@+1 {{kb-place advice: the given #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1> is estimated at {{[0-9.]+}} us for the ops using it; kb's choice #kb.dp<{{.*}}> at {{[0-9.]+}} us}}
    %y = kb.matmul %x, %w : (tensor<64x256xf16>, tensor<256x512xf16>) -> tensor<64x512xf16, #seed>
    return %y : tensor<64x512xf16, #seed>
  }
}

// -----

// A given policy that is as good as kb's own draws no advice.

#good = #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK-LABEL: func.func @good_policy
  func.func @good_policy(%x: tensor<64x256xf16>, %w: tensor<256x512xf16>) -> tensor<64x512xf16, #good> {
    %y = kb.matmul %x, %w : (tensor<64x256xf16>, tensor<256x512xf16>) -> tensor<64x512xf16, #good>
    return %y : tensor<64x512xf16, #good>
  }
}
