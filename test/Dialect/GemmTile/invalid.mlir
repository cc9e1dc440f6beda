// RUN: kb-opt %s -split-input-file -verify-diagnostics

func.func @pe_range(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{runs on PE 8, but a cube has 8 PEs}}
  %t = gemm_tile.map "gelu" pe 8 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @cross_cube(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{runs on a PE of cube 0 (where lhs is), but rhs is in cube 1; a PE only reaches its own cube's memory (use gemm_tile.dma)}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %a [0, 0] sizes [4, 4, 4] k_chunk 4 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @out_of_bounds(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads or writes input[2 : 2 + 4] in dimension 0, outside its size 4}}
  %t = gemm_tile.map "gelu" pe 0 %a [2, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @region_rank(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects 2 offsets and sizes for input, got 1 offsets and 2 sizes}}
  %t = gemm_tile.map "gelu" pe 0 %a [0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @zero_size(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects positive sizes, got 0 in dimension 1 of input}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 0] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @no_cube(%a: memref<4x4xf32>) {
  // expected-error@+1 {{expects input in a cube's memory (#gemm_tile.cube<c>), got 'memref<4x4xf32>'}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32>, memref<4x4xf32>
  return
}

// -----

func.func @cube_range(%a: memref<4x4xf32, #gemm_tile.cube<16>>) {
  // expected-error@+1 {{input is in cube 16, but the device has 16 cubes}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<16>>, memref<4x4xf32, #gemm_tile.cube<16>>
  return
}

// -----

func.func @dynamic(%a: memref<?x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects input to be a static, identity-layout buffer, got 'memref<?x4xf32, #gemm_tile.cube<0>>'}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<?x4xf32, #gemm_tile.cube<0>>, memref<?x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @gelu_types(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads 'f32' and writes 'f16'; they must match}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %b [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @matmul_sizes(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects sizes [m, n, k], got 2 sizes}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %a [0, 0] to %a [0, 0] sizes [4, 4] k_chunk 4 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @matmul_types(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{multiplies 'f32' by 'f16'; lhs and rhs must have one element type}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %a [0, 0] sizes [4, 4, 4] k_chunk 4 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf16, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @matmul_out_type(%a: memref<4x4xf16, #gemm_tile.cube<0>>, %o: memref<4x4xbf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{writes 'bf16'; out must be 'f16' or f32}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %a [0, 0] to %o [0, 0] sizes [4, 4, 4] k_chunk 4 : memref<4x4xf16, #gemm_tile.cube<0>>, memref<4x4xf16, #gemm_tile.cube<0>>, memref<4x4xbf16, #gemm_tile.cube<0>>
  return
}

// -----

func.func @k_chunk(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{k_chunk must be in [1, 4], got 5}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %a [0, 0] to %a [0, 0] sizes [4, 4, 4] k_chunk 5 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

module attributes {gemm_tile.device = #gemm_tile.device<pe_buffer_kib = 1>} {
  func.func @pe_buffer(%a: memref<64x64xf32, #gemm_tile.cube<0>>) {
    // expected-error@+1 {{needs 81920 bytes of PE buffer for a 64x64 tile with k_chunk 64, but a PE has 1024}}
    %t = gemm_tile.matmul pe 0 %a [0, 0], %a [0, 0] to %a [0, 0] sizes [64, 64, 64] k_chunk 64 : memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>, memref<64x64xf32, #gemm_tile.cube<0>>
    return
  }
}

// -----

func.func @add_types(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf16, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{expects one element type, got 'f32', 'f16' and 'f32'}}
  %t = gemm_tile.zip "add" pe 0 %a [0, 0], %b [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf16, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @bias_bounds(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{reads or writes rhs (a bias)[2 : 2 + 4] in dimension 0, outside its size 4}}
  %t = gemm_tile.zip "add" pe 0 %a [0, 0], %b [2] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @dma_types(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf16, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{copies 'f32' into 'f16'; DMA does not convert}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf16, #gemm_tile.cube<1>>
  return
}

// -----

func.func @dma_after_compute(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  // expected-error@+1 {{is ordered after token 0 of 'gemm_tile.map': 'after' names copies (gemm_tile.dma) only}}
  %c = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] after %t : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  gemm_tile.wait %t, %c
  return
}

// -----

func.func @dma_stride(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{expects 2 rank_stride entries, got 1}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] rank_stride [4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @dma_negative_stride(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{expects a non-negative rank_stride}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] rank_stride [0, -4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @dma_replicas_without_stride(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{has rank_replicas 2 but no rank_stride for it to scale}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] rank_replicas 2 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @dma_zero_shards(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{expects rank_shards of at least 1, got 0}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] rank_stride [0, 4] rank_shards 0 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @ring_size(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{needs a ring of at least 2 SIPs, got 1}}
  gemm_tile.all_gather_step %a step 0 of 1 : memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @ring_step(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{is step 3 of a ring of 4, which has steps 0 to 2}}
  gemm_tile.reduce_scatter_step <sum> %a step 3 of 4 : memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @wait_nothing() {
  // expected-error@+1 {{waits on nothing; give it at least one token}}
  gemm_tile.wait
  return
}

// -----

module attributes {gemm_tile.device = #gemm_tile.device<cube_memory_mib = 1>} {
  func.func @alloc_too_big() {
    // expected-error@+1 {{allocates 4194304 bytes, more than a cube's 1048576 bytes of memory}}
    %b = gemm_tile.alloc : memref<1024x1024xf32, #gemm_tile.cube<0>>
    return
  }
}

// -----

// expected-error@+1 {{cube index must be non-negative, got -1}}
func.func private @negative_cube(memref<4xf32, #gemm_tile.cube<-1>>)

// -----

// expected-error@+1 {{device field 'cubes' must be positive, got 0}}
module attributes {gemm_tile.device = #gemm_tile.device<cubes = 0>} {}

// -----

// expected-error@+1 {{device description is beyond any AHBM machine}}
module attributes {gemm_tile.device = #gemm_tile.device<pes_per_cube = 100000>} {}

// -----

// A switch needs its port's rate.
// expected-error@+1 {{device field 'switch_mibps' must be positive when 'switch_round_trip_ns' selects switch collectives}}
module attributes {gemm_tile.device = #gemm_tile.device<switch_round_trip_ns = 180>} {}

// -----

// expected-error@+1 {{device field 'flit_payload_bytes' (300) exceeds 'flit_bytes' (256)}}
module attributes {gemm_tile.device = #gemm_tile.device<flit_payload_bytes = 300>} {}

// -----

// expected-error@+1 {{'gemm_tile.device' must be a #gemm_tile.device or the name of a built-in one on a builtin.module}}
module attributes {gemm_tile.device = 4 : i64} {}

// -----

// expected-error@+1 {{'gemm_tile.device' names no built-in device: "large" (known: ahbm, small)}}
module attributes {gemm_tile.device = "large"} {}

// -----

// expected-error@+1 {{device field 'memory_efficiency_permille' is a share of the peak rate, at most 1000 per mille, got 1200}}
module attributes {gemm_tile.device = #gemm_tile.device<memory_efficiency_permille = 1200>} {}

// -----

// expected-error@+1 {{device field 'ring_step_latency_ns' must be at least 0, got -1}}
module attributes {gemm_tile.device = #gemm_tile.device<ring_step_latency_ns = -1>} {}

// -----

// expected-error@+1 {{unknown gemm_tile attribute 'gemm_tile.devices' on 'builtin.module'}}
module attributes {gemm_tile.devices = 4 : i64} {}

// -----

// expected-error@+1 {{'gemm_tile.piece' on argument 0 has 1 offsets for a rank-2 buffer}}
func.func @piece_rank(%a: memref<4x4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0]>}) {
  return
}

// -----

// expected-error@+1 {{'gemm_tile.piece' on result 0 has a negative index or offset}}
func.func @piece_negative(%a: memref<4xf32, #gemm_tile.cube<0>>) -> (memref<4xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = -1, offsets = [0]>}) {
  return %a : memref<4xf32, #gemm_tile.cube<0>>
}

// -----

// expected-error@+1 {{'gemm_tile.piece' on argument 0 needs a memref, got 'tensor<4xf32>'}}
func.func @piece_type(%a: tensor<4xf32> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0]>}) {
  return
}

// -----

// expected-error@+1 {{unknown gemm_tile attribute 'gemm_tile.foo' on argument 0}}
func.func @unknown_arg_attr(%x: memref<4xf32, #gemm_tile.cube<0>> {gemm_tile.foo = 1 : i64}) {
  return
}

// -----

// Byte counts past int64 saturate; the message says so instead of wrapping.

func.func @alloc_past_int64() {
  // expected-error@+1 {{allocates more than 2^63 - 1 bytes, more than a cube's 17179869184 bytes of memory}}
  %b = gemm_tile.alloc : memref<4611686018427387904x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @pe_buffer_past_int64(%a: memref<4294967296x4294967296xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{needs more than 2^63 - 1 bytes of PE buffer for a 4294967296x4294967296 tile with k_chunk 1, but a PE has 524288}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %a [0, 0] to %a [0, 0] sizes [4294967296, 4294967296, 4294967296] k_chunk 1 : memref<4294967296x4294967296xf32, #gemm_tile.cube<0>>, memref<4294967296x4294967296xf32, #gemm_tile.cube<0>>, memref<4294967296x4294967296xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @dma_target_stride(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{expects 2 target_rank_stride entries, got 1}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] target_rank_stride [4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @dma_negative_target_stride(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{expects a non-negative target_rank_stride}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] target_rank_stride [-1, 0] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @ring_along_range(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{cuts its chunks along dimension 2 of a rank-2 buffer}}
  gemm_tile.all_gather_step %a step 0 of 2 along 2 : memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @ring_along_divisible(%a: memref<4x6xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{cuts dimension 1 (size 6) into 4 chunks; it must be divisible by the ring size}}
  gemm_tile.reduce_scatter_step <sum> %a step 0 of 4 along 1 : memref<4x6xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @ring_along_two_buffers(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{cuts chunks along dimension 0 of one buffer, but has 2}}
  gemm_tile.all_gather_step %a, %b step 0 of 2 along 0 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @ring_element_types(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf16, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{expects one element type, but buffer #0 holds 'f32' and buffer #1 'f16'}}
  gemm_tile.reduce_scatter_step <sum> %a, %b step 0 of 2 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf16, #gemm_tile.cube<1>>
  return
}

// -----

func.func @ring_no_buffer() {
  // expected-error@+1 {{needs at least one buffer}}
  "gemm_tile.all_gather_step"() {step = 0 : i64, ring_size = 2 : i64} : () -> ()
  return
}

// -----

func.func @map_kernel_unknown(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{names no registered map kernel: 'softmax' (registered: gelu, silu, scale)}}
  %t = gemm_tile.map "softmax" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @map_kernel_of_two_operands(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{names no registered map kernel: 'add' (registered: gelu, silu, scale)}}
  %t = gemm_tile.map "add" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @map_factor_not_finite(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{factor must be finite, got INF}}
  %t = gemm_tile.map "scale" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] times 0x7FF0000000000000 : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @zip_kernel_unknown(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{names no registered zip kernel: 'gelu' (registered: add, mul)}}
  %t = gemm_tile.zip "gelu" pe 0 %a [0, 0], %a [0, 0] to %a [0, 0] sizes [4, 4] : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @continues_collective_not_first_step(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.continues_collective' must be a unit attribute on step 0 of a ring}}
  gemm_tile.reduce_scatter_step <sum> %a step 1 of 4 {gemm_tile.continues_collective} : memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @continues_collective_not_a_ring(%a: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // expected-error@+1 {{'gemm_tile.continues_collective' must be a unit attribute on step 0 of a ring}}
  %t = gemm_tile.map "gelu" pe 0 %a [0, 0] to %a [0, 0] sizes [4, 4] {gemm_tile.continues_collective} : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}

// -----

func.func @dma_clip_without_stride(%a: memref<4x4xf32, #gemm_tile.cube<0>>, %b: memref<4x4xf32, #gemm_tile.cube<1>>) {
  // expected-error@+1 {{has 'clip' but no rank_stride: a region that does not move with the rank is checked whole}}
  %t = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 4] clip : memref<4x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<1>>
  return
}

// -----

func.func @matmul_transposed_rhs_bounds(%a: memref<4x8xf32, #gemm_tile.cube<0>>, %b: memref<8x4xf32, #gemm_tile.cube<0>>, %c: memref<4x4xf32, #gemm_tile.cube<0>>) {
  // A transposed rhs is read as n × k = 4 × 8: beyond the 8x4 buffer's columns.
  // expected-error@+1 {{reads or writes rhs[0 : 0 + 8] in dimension 1, outside its size 4}}
  %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [4, 4, 8] k_chunk 8 transpose_rhs : memref<4x8xf32, #gemm_tile.cube<0>>, memref<8x4xf32, #gemm_tile.cube<0>>, memref<4x4xf32, #gemm_tile.cube<0>>
  return
}
