// RUN: kb-opt %s -kb-tp-partition -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s

// Every local op, and the collective a layer implies, carries the location
// of the global op it came from, named after its layer (the per-op table and
// the trace report time by layer and line). A location that already has a
// name (a user's layer name) keeps it.

module attributes {kb.world_size = 2 : i64} {
  // CHECK-LABEL: func.func @block
  // CHECK: kb.matmul {{.*}} loc("ColumnParallelLinear"("model.py":13:9))
  // CHECK-NEXT: kb.add {{.*}} loc("ColumnParallelLinear"("model.py":13:9))
  // CHECK-NEXT: kb.gelu {{.*}} loc("Gelu"("model.py":14:5))
  // CHECK-NEXT: kb.matmul {{.*}} loc("fc2"("model.py":15:9))
  // CHECK-NEXT: kb.all_reduce {{.*}} loc("fc2"("model.py":15:9))
  func.func @block(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %b1: tensor<32xf32>,
                   %w2: tensor<32x16xf32>) -> tensor<8x16xf32> {
    %h = kb.column_parallel_linear %x, %w1 bias %b1
        : (tensor<8x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<8x32xf32> loc("model.py":13:9)
    %g = kb.gelu %h : tensor<8x32xf32> loc("model.py":14:5)
    %y = kb.row_parallel_linear %g, %w2
        : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32> loc("fc2"("model.py":15:9))
    return %y : tensor<8x16xf32>
  }
}
