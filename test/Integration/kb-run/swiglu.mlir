// Llama's SwiGLU MLP with a scaled residual, down to the device: kb.silu,
// kb.mul and kb.scale lower to gemm_tile.map "silu", gemm_tile.zip "mul" and gemm_tile.map "scale" on each rank's
// columns, and the lowered program (outlined or inline) prints the numbers
// the global program prints, which --check compares with the unsharded one.
//
// RUN: kb-run %s --seed 3 --print-results --quiet > %t.global.txt
// RUN: kb-opt %s --kb-pipeline -o %t.lowered.mlir
// RUN: FileCheck %s --check-prefix=LOWERED < %t.lowered.mlir
// RUN: kb-run %t.lowered.mlir --seed 3 --print-results --quiet --check --reference %s > %t.lowered.txt
// RUN: kb-opt %s --kb-pipeline=outline-ops=false -o %t.inline.mlir
// RUN: kb-run %t.inline.mlir --seed 3 --print-results --quiet --check --reference %s > %t.inline.txt
// RUN: diff %t.global.txt %t.lowered.txt
// RUN: diff %t.global.txt %t.inline.txt
// RUN: kb-run %s --seed 3 --check | FileCheck %s
// RUN: sed -e 's/world_size = 4/world_size = 2/' -e 's/xf32>/xbf16>/g' %s > %t.w2.mlir
// RUN: kb-run %t.w2.mlir --seed 5 --check | FileCheck %s
// RUN: sed -e 's/world_size = 4/world_size = 1/' -e 's/xf32>/xf16>/g' %s > %t.w1.mlir
// RUN: kb-run %t.w1.mlir --seed 6 --check | FileCheck %s

// LOWERED-DAG: gemm_tile.map "silu" pe
// LOWERED-DAG: gemm_tile.zip "mul" pe
// LOWERED-DAG: gemm_tile.map "scale" pe {{.*}} times 5.000000e-01
// CHECK: check: passed

module attributes {kb.world_size = 4 : i64} {
  func.func @swiglu(%x: tensor<12x32xf32>, %wg: tensor<32x64xf32>, %wu: tensor<32x64xf32>,
                    %wd: tensor<64x32xf32>) -> tensor<12x32xf32> {
    %g = kb.column_parallel_linear %x, %wg : (tensor<12x32xf32>, tensor<32x64xf32>) -> tensor<12x64xf32>
    %u = kb.column_parallel_linear %x, %wu : (tensor<12x32xf32>, tensor<32x64xf32>) -> tensor<12x64xf32>
    %s = kb.silu %g : tensor<12x64xf32>
    %h = kb.mul %s, %u : tensor<12x64xf32>, tensor<12x64xf32>
    %d = kb.row_parallel_linear %h, %wd : (tensor<12x64xf32>, tensor<64x32xf32>) -> tensor<12x32xf32>
    %r = kb.scale %x by 0.5 : tensor<12x32xf32>
    %y = kb.add %r, %d : tensor<12x32xf32>, tensor<12x32xf32>
    return %y : tensor<12x32xf32>
  }
}
