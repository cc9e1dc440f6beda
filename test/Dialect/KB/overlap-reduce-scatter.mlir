// RUN: kb-opt %s -kb-tp-partition -kb-place -kb-overlap-collectives='cost-model=false chunks=4' -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: kb-opt %s -kb-tp-partition -kb-place -kb-overlap-collectives -split-input-file | FileCheck %s --check-prefix=COST

// Sequence parallelism: a row-parallel layer's partial product is
// reduce-scattered along the tokens, and the pair becomes one
// kb.matmul_reduce_scatter that keeps the product's placement to compute its
// chunks in. Forced, at the given count; by the cost model (Llama-2-7B's down
// projection at W = 8, 512 tokens: its ring is worth hiding) at the count it
// estimates fastest. The bias is added to the rank's rows after it.
module attributes {kb.world_size = 8 : i64, kb.sequence_parallel} {
  // FORCED-LABEL: func.func @down_projection
  // FORCED: %[[Y:.*]] = kb.matmul_reduce_scatter <sum> %{{.*}}, %{{.*}} along 0 chunks 4 {compute = #kb.dp<{{.*}}>} : (tensor<512x1376xf16, {{.*}}>, tensor<1376x4096xf16, {{.*}}>) -> tensor<64x4096xf16, {{.*}}>
  // FORCED-NOT: kb.reduce_scatter
  // FORCED: kb.add %[[Y]]
  // COST-LABEL: func.func @down_projection
  // COST: kb.matmul_reduce_scatter <sum> %{{.*}}, %{{.*}} along 0 chunks {{[234]}}
  // COST-NOT: kb.reduce_scatter
  func.func @down_projection(%x: tensor<512x11008xf16>, %w: tensor<11008x4096xf16>, %b: tensor<4096xf16>) -> tensor<512x4096xf16> {
    %y = kb.row_parallel_linear %x, %w bias %b : (tensor<512x11008xf16>, tensor<11008x4096xf16>, tensor<4096xf16>) -> tensor<512x4096xf16>
    return %y : tensor<512x4096xf16>
  }
}

// -----

// Llama-2-7B's attention output projection (k = 512 a rank) at 512 tokens,
// its reduce-scattered rows replicated over the cubes for the residual add
// and the norm: a short gemm whose ring latency dominates a chunk. Each
// chunk's stages — its tiles, its gather into the ring buffer, its ring, its
// rows down the mesh tree to every replica — run on different engines, so
// four chunks pipeline (kb-run: 95.3 us for the function, against 110.8
// unfused; two chunks were the choice while the stages after the tiles were
// priced as one).
module attributes {kb.world_size = 8 : i64, kb.sequence_parallel} {
  // COST-LABEL: func.func @attention_output
  // COST: kb.matmul_reduce_scatter <sum> %{{.*}}, %{{.*}} along 0 chunks 4 {{.*}} -> tensor<64x4096xf16, #kb.dp<cube = replicate
  // COST-NOT: kb.reduce_scatter
  func.func @attention_output(%x: tensor<512x4096xf16>, %w: tensor<4096x4096xf16>, %r: tensor<512x4096xf16>, %g: tensor<4096xf16>) -> tensor<512x4096xf16> {
    %y = kb.row_parallel_linear %x, %w : (tensor<512x4096xf16>, tensor<4096x4096xf16>) -> tensor<512x4096xf16>
    %h = kb.add %r, %y : tensor<512x4096xf16>, tensor<512x4096xf16>
    %n = kb.rms_norm %h, %g : tensor<512x4096xf16>, tensor<4096xf16>
    return %n : tensor<512x4096xf16>
  }
}

// -----

// Left alone: rows whose W slices the chunk count does not divide (8 rows,
// W = 4: slices of 2 rows) when forced; a partial product read by something
// besides its reduce-scatter; a reduce-scatter along the columns. Sixteen
// rows against a 1024 x 4096 weight slab: every chunk reads the slab again,
// W times, so cutting cannot pay and the cost model leaves it alone.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @slices_not_dividing
  // FORCED: kb.matmul
  // FORCED: kb.reduce_scatter <sum> %{{.*}} along 0
  // FORCED-NOT: kb.matmul_reduce_scatter
  // COST-LABEL: func.func @slices_not_dividing
  func.func @slices_not_dividing(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> tensor<2x8xf32> {
    %p = kb.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
    %y = kb.reduce_scatter <sum> %p along 0 : tensor<8x8xf32> -> tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
  // FORCED-LABEL: func.func @partial_read_twice
  // FORCED: kb.matmul
  // FORCED: kb.reduce_scatter
  // FORCED-NOT: kb.matmul_reduce_scatter
  func.func @partial_read_twice(%x: tensor<32x16xf32>, %w: tensor<16x8xf32>) -> (tensor<8x8xf32>, tensor<32x8xf32>) {
    %p = kb.matmul %x, %w : (tensor<32x16xf32>, tensor<16x8xf32>) -> tensor<32x8xf32>
    %y = kb.reduce_scatter <sum> %p along 0 : tensor<32x8xf32> -> tensor<8x8xf32>
    return %y, %p : tensor<8x8xf32>, tensor<32x8xf32>
  }
  // FORCED-LABEL: func.func @along_columns
  // FORCED: kb.matmul
  // FORCED: kb.reduce_scatter <sum> %{{.*}} along 1
  // FORCED-NOT: kb.matmul_reduce_scatter
  func.func @along_columns(%x: tensor<32x16xf32>, %w: tensor<16x8xf32>) -> tensor<32x2xf32> {
    %p = kb.matmul %x, %w : (tensor<32x16xf32>, tensor<16x8xf32>) -> tensor<32x8xf32>
    %y = kb.reduce_scatter <sum> %p along 1 : tensor<32x8xf32> -> tensor<32x2xf32>
    return %y : tensor<32x2xf32>
  }
  // FORCED-LABEL: func.func @weight_bound
  // FORCED: kb.matmul_reduce_scatter <sum> %{{.*}}, %{{.*}} along 0 chunks 4
  // COST-LABEL: func.func @weight_bound
  // COST: kb.matmul
  // COST: kb.reduce_scatter
  // COST-NOT: kb.matmul_reduce_scatter
  func.func @weight_bound(%x: tensor<16x1024xf16>, %w: tensor<1024x4096xf16>) -> tensor<4x4096xf16> {
    %p = kb.matmul %x, %w : (tensor<16x1024xf16>, tensor<1024x4096xf16>) -> tensor<16x4096xf16>
    %y = kb.reduce_scatter <sum> %p along 0 : tensor<16x4096xf16> -> tensor<4x4096xf16>
    return %y : tensor<4x4096xf16>
  }
}
