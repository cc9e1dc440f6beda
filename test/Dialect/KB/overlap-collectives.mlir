// RUN: kb-opt --kb-device=small %s -kb-tp-partition -kb-place -kb-overlap-collectives='cost-model=false chunks=4' -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: kb-opt --kb-device=small %s -kb-tp-partition -kb-place -kb-overlap-collectives -split-input-file | FileCheck %s --check-prefix=COST

// A row-parallel layer: its partial product's only use is the all-reduce, so
// the pair becomes one kb.matmul_all_reduce. Forced, at the given count; by
// the cost model, at the count it estimates fastest (the ring of 128 rows is
// worth hiding behind this gemm). The bias is added after it, as before.
module attributes {kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @row_parallel
  // FORCED: %[[Y:.*]] = kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 4 : (tensor<128x256xf16, {{.*}}>, tensor<256x512xf16, {{.*}}>) -> tensor<128x512xf16, {{.*}}>
  // FORCED-NOT: kb.all_reduce
  // FORCED: kb.add %[[Y]]
  // COST-LABEL: func.func @row_parallel
  // COST: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks {{[234]}}
  // COST-NOT: kb.all_reduce
  func.func @row_parallel(%x: tensor<128x1024xf16>, %w: tensor<1024x512xf16>, %b: tensor<512xf16>) -> tensor<128x512xf16> {
    %y = kb.row_parallel_linear %x, %w bias %b : (tensor<128x1024xf16>, tensor<1024x512xf16>, tensor<512xf16>) -> tensor<128x512xf16>
    return %y : tensor<128x512xf16>
  }
}

// -----

// Rows that the chunk count does not divide are left alone when forced; the
// cost model tries every count up to it that divides them (here 2, 3 and 6,
// up to the default 8) and takes 6 on this ideal device; one
// row (a decode step) cannot be cut at all.
module attributes {kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @rows_not_dividing
  // FORCED: kb.matmul
  // FORCED: kb.all_reduce
  // FORCED-NOT: kb.matmul_all_reduce
  // COST-LABEL: func.func @rows_not_dividing
  // COST: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 6
  func.func @rows_not_dividing(%x: tensor<6x64xf32>, %w: tensor<64x32xf32>) -> tensor<6x32xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<6x64xf32>, tensor<64x32xf32>) -> tensor<6x32xf32>
    return %y : tensor<6x32xf32>
  }
  // FORCED-LABEL: func.func @one_row
  // FORCED: kb.all_reduce
  // COST-LABEL: func.func @one_row
  // COST: kb.all_reduce
  func.func @one_row(%x: tensor<1x64xf32>, %w: tensor<64x32xf32>) -> tensor<1x32xf32> {
    %y = kb.row_parallel_linear %x, %w : (tensor<1x64xf32>, tensor<64x32xf32>) -> tensor<1x32xf32>
    return %y : tensor<1x32xf32>
  }
}

// -----

// Four rows against a 1024 x 4096 weight slab: every row band reads the whole
// slab again, so a band costs as much PE time as the whole gemm and cutting
// cannot pay; the cost model leaves it alone, forced it is cut.
module attributes {kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @weight_bound
  // FORCED: kb.matmul_all_reduce <sum> %{{.*}}, %{{.*}} chunks 4
  // COST-LABEL: func.func @weight_bound
  // COST: kb.matmul
  // COST: kb.all_reduce
  // COST-NOT: kb.matmul_all_reduce
  func.func @weight_bound(%x: tensor<4x4096xf16>, %w: tensor<4096x4096xf16>) -> tensor<4x4096xf16> {
    %y = kb.row_parallel_linear %x, %w : (tensor<4x4096xf16>, tensor<4096x4096xf16>) -> tensor<4x4096xf16>
    return %y : tensor<4x4096xf16>
  }
}

// -----

// A partial product read by something besides its all-reduce must exist
// whole, unreduced: left alone.
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @partial_read_twice
  // FORCED: kb.matmul
  // FORCED: kb.all_reduce
  // FORCED-NOT: kb.matmul_all_reduce
  func.func @partial_read_twice(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
    %p = kb.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
    %y = kb.all_reduce <sum> %p : tensor<8x8xf32>
    return %y, %p : tensor<8x8xf32>, tensor<8x8xf32>
  }
}

// -----

// A result the cubes compute in shares of a replicated piece (kb-place's
// rule for a tensor that feeds a gemm's lhs) has no cube that owns whole
// columns: left alone.
#rep = #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, num_pes = 1>
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  // FORCED-LABEL: func.func @replicated_result
  // FORCED: kb.all_reduce
  // FORCED-NOT: kb.matmul_all_reduce
  func.func @replicated_result(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> tensor<8x8xf32, #rep> {
    %p = kb.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32, #rep>
    %y = kb.all_reduce <sum> %p : tensor<8x8xf32, #rep>
    return %y : tensor<8x8xf32, #rep>
  }
}
