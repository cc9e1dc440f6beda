// RUN: kb-opt --kb-device=small %s --kb-pipeline -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s --check-prefix=OUTLINED
// RUN: kb-opt --kb-device=small %s --kb-pipeline=outline-ops=false -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s --check-prefix=INLINE

// Every device op keeps the kb op and the user's line it came from: its
// location is the kb op's, named after it ("kb.matmul"), inside the layer's
// ("ColumnParallelLinear"). An outlined kernel is called from each site with
// the site's location (kb-run places a flattened kernel's ops at their call).

module attributes {kb.world_size = 2 : i64} {
  func.func @block(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %w2: tensor<32x16xf32>,
                   %w3: tensor<16x32xf32>) -> tensor<8x32xf32> {
    %h = kb.column_parallel_linear %x, %w1
        : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32> loc("model.py":13:9)
    %y = kb.row_parallel_linear %h, %w2
        : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32> loc("model.py":15:9)
    %z = kb.column_parallel_linear %y, %w3
        : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32> loc("model.py":17:9)
    return %z : tensor<8x32xf32>
  }
}

// OUTLINED-LABEL: func.func private @matmul_0
// OUTLINED: gemm_tile.matmul {{.*}} loc("kb.matmul"("ColumnParallelLinear"("model.py":13:9)))
// OUTLINED: gemm_tile.dma {{.*}} loc("kb.matmul"("ColumnParallelLinear"("model.py":13:9)))
// OUTLINED-LABEL: func.func private @all_reduce_0
// OUTLINED: gemm_tile.reduce_scatter_step {{.*}} loc("kb.all_reduce"("RowParallelLinear"("model.py":15:9)))
// OUTLINED-LABEL: func.func @block
// OUTLINED: call @matmul_0({{.*}} loc("ColumnParallelLinear"("model.py":13:9))
// OUTLINED: call @all_reduce_0({{.*}} loc("RowParallelLinear"("model.py":15:9))
// OUTLINED: call @matmul_{{[0-9]+}}({{.*}} loc("ColumnParallelLinear"("model.py":17:9))

// INLINE-LABEL: func.func @block
// INLINE: gemm_tile.matmul {{.*}} loc("kb.matmul"("ColumnParallelLinear"("model.py":13:9)))
// INLINE: gemm_tile.reduce_scatter_step {{.*}} loc("kb.all_reduce"("RowParallelLinear"("model.py":15:9)))
// INLINE: gemm_tile.matmul {{.*}} loc("kb.matmul"("ColumnParallelLinear"("model.py":17:9)))
