// RUN: kb-opt %s -kb-tp-partition -kb-place -kb-overlap-collectives='cost-model=false chunks=4' -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: kb-opt %s -kb-tp-partition -kb-place -kb-overlap-collectives -split-input-file | FileCheck %s --check-prefix=COST

// Sequence parallelism: a column-parallel layer's input is all-gathered
// along the tokens, and the gather with every gemm that reads it becomes one
// kb.all_gather_matmul with their weights: Llama-2-7B's q, k and v at W = 8,
// 512 tokens. Forced, at the given count; by the cost model (the gather is
// worth hiding behind three gemms) at the count it estimates fastest.
module attributes {kb.world_size = 8 : i64, kb.sequence_parallel} {
  // FORCED-LABEL: func.func @qkv
  // FORCED: %[[N:.*]] = kb.rms_norm
  // FORCED-NOT: kb.all_gather %
  // FORCED: %{{.*}}:3 = kb.all_gather_matmul %[[N]], %{{.*}}, %{{.*}}, %{{.*}} along 0 chunks 4 : (tensor<64x4096xf16, {{.*}}>, tensor<4096x512xf16, {{.*}}>, tensor<4096x512xf16, {{.*}}>, tensor<4096x512xf16, {{.*}}>) -> (tensor<512x512xf16, {{.*}}>, tensor<512x512xf16, {{.*}}>, tensor<512x512xf16, {{.*}}>)
  // FORCED-NOT: kb.matmul
  // COST-LABEL: func.func @qkv
  // COST-NOT: kb.all_gather %
  // COST: kb.all_gather_matmul %{{.*}} along 0 chunks {{[234]}}
  func.func @qkv(%x: tensor<512x4096xf16>, %g: tensor<4096xf16>, %wq: tensor<4096x4096xf16>, %wk: tensor<4096x4096xf16>, %wv: tensor<4096x4096xf16>) -> (tensor<512x4096xf16>, tensor<512x4096xf16>, tensor<512x4096xf16>) {
    %n = kb.rms_norm %x, %g : tensor<512x4096xf16>, tensor<4096xf16>
    %q = kb.column_parallel_linear %n, %wq : (tensor<512x4096xf16>, tensor<4096x4096xf16>) -> tensor<512x4096xf16>
    %k = kb.column_parallel_linear %n, %wk : (tensor<512x4096xf16>, tensor<4096x4096xf16>) -> tensor<512x4096xf16>
    %v = kb.column_parallel_linear %n, %wv : (tensor<512x4096xf16>, tensor<4096x4096xf16>) -> tensor<512x4096xf16>
    return %q, %k, %v : tensor<512x4096xf16>, tensor<512x4096xf16>, tensor<512x4096xf16>
  }
}

// -----

// Left alone: rows the chunk count does not divide (2 rows a rank) when
// forced; a gathered tensor read by something besides a gemm's lhs; a gather
// along the columns. A gemm of 16 rows against a 1024 x 4096 weight slab:
// every chunk reads the slab again, W times, so cutting cannot pay and the
// cost model leaves it alone.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @rows_not_dividing
  // FORCED: kb.all_gather
  // FORCED: kb.matmul
  // FORCED-NOT: kb.all_gather_matmul
  func.func @rows_not_dividing(%x: tensor<2x16xf32>, %w: tensor<16x8xf32>) -> tensor<8x8xf32> {
    %g = kb.all_gather %x along 0 : tensor<2x16xf32> -> tensor<8x16xf32>
    %y = kb.matmul %g, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
  // FORCED-LABEL: func.func @gathered_returned
  // FORCED: kb.all_gather
  // FORCED: kb.matmul
  // FORCED-NOT: kb.all_gather_matmul
  func.func @gathered_returned(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> (tensor<32x8xf32>, tensor<32x16xf32>) {
    %g = kb.all_gather %x along 0 : tensor<8x16xf32> -> tensor<32x16xf32>
    %y = kb.matmul %g, %w : (tensor<32x16xf32>, tensor<16x8xf32>) -> tensor<32x8xf32>
    return %y, %g : tensor<32x8xf32>, tensor<32x16xf32>
  }
  // FORCED-LABEL: func.func @gathered_as_weight
  // FORCED: kb.all_gather
  // FORCED: kb.matmul
  // FORCED-NOT: kb.all_gather_matmul
  func.func @gathered_as_weight(%x: tensor<4x16xf32>, %a: tensor<8x16xf32>) -> tensor<8x16xf32> {
    %g = kb.all_gather %x along 0 : tensor<4x16xf32> -> tensor<16x16xf32>
    %y = kb.matmul %a, %g : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
  // FORCED-LABEL: func.func @along_columns
  // FORCED: kb.all_gather %{{.*}} along 1
  // FORCED: kb.matmul
  // FORCED-NOT: kb.all_gather_matmul
  func.func @along_columns(%x: tensor<32x4xf32>, %w: tensor<16x8xf32>) -> tensor<32x8xf32> {
    %g = kb.all_gather %x along 1 : tensor<32x4xf32> -> tensor<32x16xf32>
    %y = kb.matmul %g, %w : (tensor<32x16xf32>, tensor<16x8xf32>) -> tensor<32x8xf32>
    return %y : tensor<32x8xf32>
  }
  // FORCED-LABEL: func.func @weight_bound
  // FORCED: kb.all_gather_matmul %{{.*}}, %{{.*}} along 0 chunks 4
  // COST-LABEL: func.func @weight_bound
  // COST: kb.all_gather
  // COST: kb.matmul
  // COST-NOT: kb.all_gather_matmul
  func.func @weight_bound(%x: tensor<4x1024xf16>, %w: tensor<1024x4096xf16>) -> tensor<16x4096xf16> {
    %g = kb.all_gather %x along 0 : tensor<4x1024xf16> -> tensor<16x1024xf16>
    %y = kb.matmul %g, %w : (tensor<16x1024xf16>, tensor<1024x4096xf16>) -> tensor<16x4096xf16>
    return %y : tensor<16x4096xf16>
  }
}
