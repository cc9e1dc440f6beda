// Megatron's tensor-parallel attention written by hand in the local view,
// W = 2, checked by kb-run against the unsharded global program (which kb-run
// runs on its reference interpreter): wq, wk, wv split by heads (rank r holds
// query heads 2r, 2r+1 and the KV head r they share), rope and attention local
// on the rank's heads, wo split by rows and all-reduced. Decode splits the KV
// cache by heads too and returns the new k and v rows split the same way.
//
// RUN: kb-run %s --entry prefill --seed 3 --check --reference %S/Inputs/transformer-global.mlir | FileCheck %s
// RUN: kb-run %s --entry decode --seed 4 --check --reference %S/Inputs/transformer-global.mlir | FileCheck %s
// The same in f16 and bf16.
// RUN: sed 's/xf32>/xf16>/g' %s > %t.f16.mlir
// RUN: sed 's/xf32>/xf16>/g' %S/Inputs/transformer-global.mlir > %t.f16.global.mlir
// RUN: kb-run %t.f16.mlir --entry prefill --check --reference %t.f16.global.mlir | FileCheck %s
// RUN: kb-run %t.f16.mlir --entry decode --check --reference %t.f16.global.mlir | FileCheck %s
// RUN: sed 's/xf32>/xbf16>/g' %s > %t.bf16.mlir
// RUN: sed 's/xf32>/xbf16>/g' %S/Inputs/transformer-global.mlir > %t.bf16.global.mlir
// RUN: kb-run %t.bf16.mlir --entry prefill --check --reference %t.bf16.global.mlir | FileCheck %s
// RUN: kb-run %t.bf16.mlir --entry decode --check --reference %t.bf16.global.mlir | FileCheck %s
// The decode step rotated at position 0 instead of 6 does not pass.
// RUN: sed 's/offset 6/offset 0/' %s > %t.wrong.mlir
// RUN: not kb-run %t.wrong.mlir --entry decode --seed 4 --check --reference %S/Inputs/transformer-global.mlir 2>&1 | FileCheck %s --check-prefix=WRONG

// CHECK: check: passed
// WRONG: check: FAILED

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @prefill(%x: tensor<5x32xf32>, %nw: tensor<32xf32>,
                     %wq: tensor<32x16xf32> {kb.split_dim = 1 : i64},
                     %wk: tensor<32x8xf32> {kb.split_dim = 1 : i64},
                     %wv: tensor<32x8xf32> {kb.split_dim = 1 : i64},
                     %wo: tensor<16x32xf32> {kb.split_dim = 0 : i64}) -> tensor<5x32xf32> {
    %n = kb.rms_norm %x, %nw : tensor<5x32xf32>, tensor<32xf32>
    %q0 = kb.matmul %n, %wq : (tensor<5x32xf32>, tensor<32x16xf32>) -> tensor<5x16xf32>
    %k0 = kb.matmul %n, %wk : (tensor<5x32xf32>, tensor<32x8xf32>) -> tensor<5x8xf32>
    %v = kb.matmul %n, %wv : (tensor<5x32xf32>, tensor<32x8xf32>) -> tensor<5x8xf32>
    %q = kb.rope %q0 head_dim 8 : tensor<5x16xf32>
    %k = kb.rope %k0 head_dim 8 : tensor<5x8xf32>
    %a = kb.attention %q, %k, %v heads 2 kv_heads 1
        : (tensor<5x16xf32>, tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x16xf32>
    %p = kb.matmul %a, %wo : (tensor<5x16xf32>, tensor<16x32xf32>) -> tensor<5x32xf32>
    %o = kb.all_reduce <sum> %p : tensor<5x32xf32>
    %h = kb.add %x, %o : tensor<5x32xf32>, tensor<5x32xf32>
    return %h : tensor<5x32xf32>
  }

  func.func @decode(%x: tensor<1x32xf32>, %nw: tensor<32xf32>,
                    %wq: tensor<32x16xf32> {kb.split_dim = 1 : i64},
                    %wk: tensor<32x8xf32> {kb.split_dim = 1 : i64},
                    %wv: tensor<32x8xf32> {kb.split_dim = 1 : i64},
                    %wo: tensor<16x32xf32> {kb.split_dim = 0 : i64},
                    %k_cache: tensor<6x8xf32> {kb.split_dim = 1 : i64},
                    %v_cache: tensor<6x8xf32> {kb.split_dim = 1 : i64})
      -> (tensor<1x32xf32>, tensor<1x8xf32> {kb.split_dim = 1 : i64},
          tensor<1x8xf32> {kb.split_dim = 1 : i64}) {
    %n = kb.rms_norm %x, %nw : tensor<1x32xf32>, tensor<32xf32>
    %q0 = kb.matmul %n, %wq : (tensor<1x32xf32>, tensor<32x16xf32>) -> tensor<1x16xf32>
    %k0 = kb.matmul %n, %wk : (tensor<1x32xf32>, tensor<32x8xf32>) -> tensor<1x8xf32>
    %v = kb.matmul %n, %wv : (tensor<1x32xf32>, tensor<32x8xf32>) -> tensor<1x8xf32>
    %q = kb.rope %q0 head_dim 8 offset 6 : tensor<1x16xf32>
    %k = kb.rope %k0 head_dim 8 offset 6 : tensor<1x8xf32>
    %ks = kb.kv_append %k_cache, %k : tensor<6x8xf32>, tensor<1x8xf32> -> tensor<7x8xf32>
    %vs = kb.kv_append %v_cache, %v : tensor<6x8xf32>, tensor<1x8xf32> -> tensor<7x8xf32>
    %a = kb.attention %q, %ks, %vs heads 2 kv_heads 1
        : (tensor<1x16xf32>, tensor<7x8xf32>, tensor<7x8xf32>) -> tensor<1x16xf32>
    %p = kb.matmul %a, %wo : (tensor<1x16xf32>, tensor<16x32xf32>) -> tensor<1x32xf32>
    %o = kb.all_reduce <sum> %p : tensor<1x32xf32>
    %h = kb.add %x, %o : tensor<1x32xf32>, tensor<1x32xf32>
    return %h, %k, %v : tensor<1x32xf32>, tensor<1x8xf32>, tensor<1x8xf32>
  }
}
