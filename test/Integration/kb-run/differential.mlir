// The same numbers from the global program, its local view and the lowered
// device program (its two identical layers calling the same kernels, or all
// inline), and all of them match the unsharded reference.
//
// RUN: kb-run %s --seed 7 --print-results --quiet > %t.global.txt
// RUN: FileCheck %s < %t.global.txt
// RUN: kb-opt %s --kb-pipeline=lower-to-device=false -o %t.local.mlir
// RUN: kb-run %t.local.mlir --seed 7 --print-results --quiet --check --reference %s > %t.local.txt
// RUN: kb-opt %s --kb-pipeline -o %t.lowered.mlir
// RUN: kb-run %t.lowered.mlir --seed 7 --print-results --quiet --check --reference %s > %t.lowered.txt
// RUN: kb-opt %s --kb-pipeline=outline-ops=false -o %t.inline.mlir
// RUN: kb-run %t.inline.mlir --seed 7 --print-results --quiet --check --reference %s > %t.inline.txt
// RUN: diff %t.global.txt %t.local.txt
// RUN: diff %t.global.txt %t.lowered.txt
// RUN: diff %t.global.txt %t.inline.txt
// On the ideal 4-cube device both layers are placed alike (on ahbm the first
// layer's input is an argument on every cube, the second's the all-reduce's
// result on one mesh row, so their gelus differ).
// RUN: kb-opt %s --kb-device=small --kb-pipeline | FileCheck %s --check-prefix=KERNELS
// The host thread count changes nothing.
// RUN: kb-run %t.lowered.mlir --seed 7 --print-results --quiet --host-threads 2 > %t.threads.txt
// RUN: diff %t.global.txt %t.threads.txt
// RUN: kb-run %s --seed 7 --check | FileCheck %s --check-prefix=REPORT
// The inputs differ with the seed, and so do the results.
// RUN: kb-run %s --seed 8 --print-results --quiet > %t.seed8.txt
// RUN: not diff %t.global.txt %t.seed8.txt

// CHECK: result0: f32 8x16 sum={{-?[0-9.e+-]+}} first={{-?[0-9.e+-]+}} last={{-?[0-9.e+-]+}}
// The second layer calls the first one's gelu kernel: there is only one.
// KERNELS: func.func private @gelu_0(
// KERNELS-NOT: func.func private @gelu_
// KERNELS-LABEL: func.func @mlp
// KERNELS-COUNT-2: call @gelu_0(
// REPORT: kb-run: lowered gemm_tile program, TP world size 4
// REPORT: check: passed

module attributes {kb.world_size = 4 : i64} {
  func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x64xf32>, %b1: tensor<64xf32>,
                 %w2: tensor<64x16xf32>, %b2: tensor<16xf32>,
                 %w3: tensor<16x64xf32>, %b3: tensor<64xf32>,
                 %w4: tensor<64x16xf32>, %b4: tensor<16xf32>) -> tensor<8x16xf32> {
    %h = kb.column_parallel_linear %x, %w1 bias %b1
        : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %g = kb.gelu %h : tensor<8x64xf32>
    %y = kb.row_parallel_linear %g, %w2 bias %b2
        : (tensor<8x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    %h2 = kb.column_parallel_linear %y, %w3 bias %b3
        : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %g2 = kb.gelu %h2 : tensor<8x64xf32>
    %y2 = kb.row_parallel_linear %g2, %w4 bias %b4
        : (tensor<8x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    return %y2 : tensor<8x16xf32>
  }
}
