// The same numbers from the global program, its local view and the lowered
// device program, and all three match the unsharded reference.
//
// RUN: kb-run %s --seed 7 --print-results --quiet > %t.global.txt
// RUN: FileCheck %s < %t.global.txt
// RUN: kb-opt %s --kb-pipeline=lower-to-device=false -o %t.local.mlir
// RUN: kb-run %t.local.mlir --seed 7 --print-results --quiet --check --reference %s > %t.local.txt
// RUN: kb-opt %s --kb-pipeline -o %t.lowered.mlir
// RUN: kb-run %t.lowered.mlir --seed 7 --print-results --quiet --check --reference %s > %t.lowered.txt
// RUN: diff %t.global.txt %t.local.txt
// RUN: diff %t.global.txt %t.lowered.txt
// The host thread count changes nothing.
// RUN: kb-run %t.lowered.mlir --seed 7 --print-results --quiet --host-threads 2 > %t.threads.txt
// RUN: diff %t.global.txt %t.threads.txt
// RUN: kb-run %s --seed 7 --check | FileCheck %s --check-prefix=REPORT
// The inputs differ with the seed, and so do the results.
// RUN: kb-run %s --seed 8 --print-results --quiet > %t.seed8.txt
// RUN: not diff %t.global.txt %t.seed8.txt

// CHECK: result0: f32 8x16 sum={{-?[0-9.e+-]+}} first={{-?[0-9.e+-]+}} last={{-?[0-9.e+-]+}}
// REPORT: kb-run: lowered gemm_tile program, TP world size 4
// REPORT: check: passed

module attributes {kb.world_size = 4 : i64} {
  func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x64xf32>, %b1: tensor<64xf32>,
                 %w2: tensor<64x16xf32>, %b2: tensor<16xf32>) -> tensor<8x16xf32> {
    %h = kb.column_parallel_linear %x, %w1 bias %b1
        : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %g = kb.gelu %h : tensor<8x64xf32>
    %y = kb.row_parallel_linear %g, %w2 bias %b2
        : (tensor<8x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}
