// RUN: kb-opt %s -split-input-file -verify-diagnostics

module attributes {kb.world_size = 4 : i64} {
  func.func @out_features_not_divisible(%x: tensor<8x16xf16>, %w: tensor<16x10xf16>) -> tensor<8x10xf16> {
    // expected-error@+1 {{'kb.column_parallel_linear' op out_features (10) must be divisible by TP world size (4)}}
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x10xf16>) -> tensor<8x10xf16>
    return %y : tensor<8x10xf16>
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @in_features_not_divisible(%x: tensor<8x6xf16>, %w: tensor<6x16xf16>) -> tensor<8x16xf16> {
    // expected-error@+1 {{'kb.row_parallel_linear' op in_features (6) must be divisible by TP world size (4)}}
    %y = kb.row_parallel_linear %x, %w : (tensor<8x6xf16>, tensor<6x16xf16>) -> tensor<8x16xf16>
    return %y : tensor<8x16xf16>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @contraction_mismatch(%x: tensor<8x16xf32>, %w: tensor<12x8xf32>) -> tensor<8x8xf32> {
    // expected-error@+1 {{contracts input dimension 1 (size 16) with weight dimension 0 (size 12); they must be equal}}
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf32>, tensor<12x8xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @result_shape(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> tensor<4x8xf32> {
    // expected-error@+1 {{expects a 8x8 result, got 4x8}}
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    return %y : tensor<4x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @dtype_mismatch(%x: tensor<8x16xf16>, %w: tensor<16x8xf32>) -> tensor<8x8xf16> {
    // expected-error@+1 {{expects one element type, but input has 'f16' and weight has 'f32'}}
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf16>, tensor<16x8xf32>) -> tensor<8x8xf16>
    return %y : tensor<8x8xf16>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @bias_size(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>, %b: tensor<4xf32>) -> tensor<8x8xf32> {
    // expected-error@+1 {{expects a bias of out_features (8) elements, got 4}}
    %y = kb.row_parallel_linear %x, %w bias %b : (tensor<8x16xf32>, tensor<16x8xf32>, tensor<4xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @bias_rank(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>, %b: tensor<1x8xf32>) -> tensor<8x8xf32> {
    // expected-error@+1 {{expects bias of rank 1, got 'tensor<1x8xf32>'}}
    %y = kb.row_parallel_linear %x, %w bias %b : (tensor<8x16xf32>, tensor<16x8xf32>, tensor<1x8xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @input_rank(%x: tensor<2x8x16xf32>, %w: tensor<16x8xf32>) -> tensor<8x8xf32> {
    // expected-error@+1 {{expects input of rank 2, got 'tensor<2x8x16xf32>'}}
    %y = kb.column_parallel_linear %x, %w : (tensor<2x8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @dynamic(%x: tensor<?x16xf32>, %w: tensor<16x8xf32>) -> tensor<?x8xf32> {
    // expected-error@+1 {{expects input to have a static shape, got 'tensor<?x16xf32>'}}
    %y = kb.column_parallel_linear %x, %w : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

func.func @no_world_size(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> tensor<8x8xf32> {
  // expected-error@+1 {{needs the TP world size: the enclosing module has no 'kb.world_size' attribute}}
  %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @element_type(%x: tensor<8x16xi32>, %w: tensor<16x8xi32>) -> tensor<8x8xi32> {
    // expected-error@+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values}}
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xi32>, tensor<16x8xi32>) -> tensor<8x8xi32>
    return %y : tensor<8x8xi32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @global_op_in_spmd(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> tensor<8x8xf32> {
    // expected-error@+1 {{is a global-view op, but the module is already partitioned ('kb.spmd')}}
    %y = kb.column_parallel_linear %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
    return %y : tensor<8x8xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @local_op_in_global(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
    // expected-error@+1 {{is a local-view (SPMD) op: the enclosing module must carry 'kb.spmd'}}
    %y = kb.all_reduce <sum> %x : tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}

// -----

module attributes {kb.world_size = 2 : i64} {
  func.func @rank_in_global() -> index {
    // expected-error@+1 {{is a local-view (SPMD) op}}
    %r = kb.tp_rank : index
    return %r : index
  }
}

// -----

func.func @matmul_shapes(%a: tensor<8x16xf32>, %b: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error@+1 {{contracts lhs dimension 1 (size 16) with rhs dimension 0 (size 8); they must be equal}}
  %c = kb.matmul %a, %b : (tensor<8x16xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

func.func @matmul_dtype(%a: tensor<8x16xf32>, %b: tensor<16x4xf16>) -> tensor<8x4xf32> {
  // expected-error@+1 {{expects one element type, but lhs has 'f32' and rhs has 'f16'}}
  %c = kb.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf16>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

func.func @add_shapes(%a: tensor<8x16xf32>, %b: tensor<8xf32>) -> tensor<8x16xf32> {
  // expected-error@+1 {{expects rhs to have lhs's shape or to be a rank-1 bias of lhs's last dimension (16), got 'tensor<8x16xf32>' and 'tensor<8xf32>'}}
  %c = kb.add %a, %b : tensor<8x16xf32>, tensor<8xf32>
  return %c : tensor<8x16xf32>
}

// -----

func.func @mul_shapes(%a: tensor<8x16xf16>, %b: tensor<16x8xf16>) -> tensor<8x16xf16> {
  // expected-error@+1 {{'kb.mul' op expects rhs to have lhs's shape or to be a rank-1 bias of lhs's last dimension (16), got 'tensor<8x16xf16>' and 'tensor<16x8xf16>'}}
  %c = kb.mul %a, %b : tensor<8x16xf16>, tensor<16x8xf16>
  return %c : tensor<8x16xf16>
}

// -----

func.func @mul_element_types(%a: tensor<8x16xf16>, %b: tensor<8x16xbf16>) -> tensor<8x16xf16> {
  // expected-error@+1 {{'kb.mul' op expects one element type, but lhs has 'f16' and rhs has 'bf16'}}
  %c = kb.mul %a, %b : tensor<8x16xf16>, tensor<8x16xbf16>
  return %c : tensor<8x16xf16>
}

// -----

func.func @scale_not_finite(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error@+1 {{'kb.scale' op expects a finite factor, got INF}}
  %c = kb.scale %a by 0x7FF0000000000000 : tensor<8x16xf32>
  return %c : tensor<8x16xf32>
}

// -----

func.func @silu_types(%a: tensor<8x16xf32>) -> tensor<8x16xf16> {
  // expected-error@+1 {{'kb.silu' op requires the same type for all operands and results}}
  %c = "kb.silu"(%a) : (tensor<8x16xf32>) -> tensor<8x16xf16>
  return %c : tensor<8x16xf16>
}

// -----

func.func @add_dtype(%a: tensor<8x16xf32>, %b: tensor<8x16xbf16>) -> tensor<8x16xf32> {
  // expected-error@+1 {{expects one element type, but lhs has 'f32' and rhs has 'bf16'}}
  %c = kb.add %a, %b : tensor<8x16xf32>, tensor<8x16xbf16>
  return %c : tensor<8x16xf32>
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_not_divisible(%x: tensor<8x6xf32>, %r: index) -> tensor<8x1xf32> {
    // expected-error@+1 {{slices dimension 1 (size 6) which must be divisible by TP world size (4)}}
    %s = kb.tp_slice %x[%r] along 1 : tensor<8x6xf32> -> tensor<8x1xf32>
    return %s : tensor<8x1xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 8 : i64} {
  func.func @slice_replicas_not_dividing(%x: tensor<8x6xf32>, %r: index) -> tensor<8x2xf32> {
    // expected-error@+1 {{gives each slice to 3 ranks (replicas), which must divide TP world size (8)}}
    %s = kb.tp_slice %x[%r] along 1 replicas 3 : tensor<8x6xf32> -> tensor<8x2xf32>
    return %s : tensor<8x2xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 8 : i64} {
  func.func @slice_shards_not_dividing(%x: tensor<8x6xf32>, %r: index) -> tensor<8x2xf32> {
    // expected-error@+1 {{cuts 3 slices (shards), which must divide the 4 groups of 2 ranks in TP world size (8)}}
    %s = kb.tp_slice %x[%r] along 1 replicas 2 shards 3 : tensor<8x6xf32> -> tensor<8x2xf32>
    return %s : tensor<8x2xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 8 : i64} {
  func.func @slice_groups_not_dividing(%x: tensor<8x6xf32>, %r: index) -> tensor<8x1xf32> {
    // expected-error@+1 {{slices dimension 1 (size 6) into 4 slices, which do not divide it}}
    %s = kb.tp_slice %x[%r] along 1 replicas 2 : tensor<8x6xf32> -> tensor<8x1xf32>
    return %s : tensor<8x1xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 8 : i64} {
  func.func @slice_groups_result(%x: tensor<8x8xf32>, %r: index) -> tensor<8x1xf32> {
    // expected-error@+1 {{expects a result of shape 'tensor<8x4xf32>' (1/2 of dimension 1), got 'tensor<8x1xf32>'}}
    %s = kb.tp_slice %x[%r] along 1 replicas 4 : tensor<8x8xf32> -> tensor<8x1xf32>
    return %s : tensor<8x1xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_result(%x: tensor<8x8xf32>, %r: index) -> tensor<8x4xf32> {
    // expected-error@+1 {{expects a result of shape 'tensor<8x2xf32>' (1/4 of dimension 1), got 'tensor<8x4xf32>'}}
    %s = kb.tp_slice %x[%r] along 1 : tensor<8x8xf32> -> tensor<8x4xf32>
    return %s : tensor<8x4xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_dim(%x: tensor<8x8xf32>, %r: index) -> tensor<8x2xf32> {
    // expected-error@+1 {{slices dimension 2 of a rank-2 tensor}}
    %s = kb.tp_slice %x[%r] along 2 : tensor<8x8xf32> -> tensor<8x2xf32>
    return %s : tensor<8x2xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_dtype(%x: tensor<8x8xf32>, %r: index) -> tensor<8x2xf16> {
    // expected-error@+1 {{expects one element type, but input has 'f32' and result has 'f16'}}
    %s = kb.tp_slice %x[%r] along 1 : tensor<8x8xf32> -> tensor<8x2xf16>
    return %s : tensor<8x2xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_window_past_the_end(%x: tensor<8x24xf32>, %r: index) -> tensor<8x2xf32> {
    // expected-error@+1 {{cuts 4 slices of 2 from offset 20 of dimension 1 (size 24), which runs past its end}}
    %s = kb.tp_slice %x[%r] along 1 offset 20 : tensor<8x24xf32> -> tensor<8x2xf32>
    return %s : tensor<8x2xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_window_absurd(%x: tensor<8x24xf32>, %r: index) -> tensor<8x4611686018427387904xf32> {
    // expected-error@+1 {{cuts 4 slices of 4611686018427387904 from offset 0 of dimension 1 (size 24), which runs past its end}}
    %s = kb.tp_slice %x[%r] along 1 offset 0 : tensor<8x24xf32> -> tensor<8x4611686018427387904xf32>
    return %s : tensor<8x4611686018427387904xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_window_other_dim(%x: tensor<8x24xf32>, %r: index) -> tensor<4x2xf32> {
    // expected-error@+1 {{expects a result of the input's shape but along dimension 1, got 'tensor<4x2xf32>' from 'tensor<8x24xf32>'}}
    %s = kb.tp_slice %x[%r] along 1 offset 8 : tensor<8x24xf32> -> tensor<4x2xf32>
    return %s : tensor<4x2xf32>
  }
}

// -----

// DPPolicy: checked wherever a tensor type carries it.

// expected-error@+1 {{DPPolicy cube shard of dimension 1 (size 10) does not divide by num_cubes (4)}}
func.func @policy_divisible(%x: tensor<8x10xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 4, num_pes = 1>>)

// -----

// expected-error@+1 {{DPPolicy pe shard of dimension 0 (size 8) does not divide by num_pes (3)}}
func.func @policy_pe_divisible(%x: tensor<8x12xf32, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 3>>)

// -----

// expected-error@+1 {{DPPolicy cube shards dimension 2 of a rank-2 tensor}}
func.func @policy_dim(%x: tensor<8x12xf32, #kb.dp<cube = shard(2), pe = replicate, num_cubes = 2, num_pes = 1>>)

// -----

// expected-error@+1 {{DPPolicy num_cubes must be at least 1, got 0}}
func.func @policy_cubes(%x: tensor<8x12xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 0, num_pes = 1>>)

// -----

// expected-error@+1 {{DPPolicy num_pes must be at least 1, got -2}}
func.func @policy_pes(%x: tensor<8x12xf32, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = -2>>)

// -----

// expected-error@+1 {{DPPolicy cube shard dimension must be non-negative, got -3}}
func.func @policy_negative_dim(%x: tensor<8x12xf32, #kb.dp<cube = shard(-3), pe = replicate, num_cubes = 1, num_pes = 1>>)

// -----

// expected-error@+1 {{DPPolicy pe shard dimension must be non-negative, got -5}}
func.func @policy_negative_pe_dim(%x: tensor<8x12xf32, #kb.dp<cube = replicate, pe = shard(-5), num_cubes = 1, num_pes = 1>>)

// -----

// expected-error@+1 {{expected 'shard'}}
func.func @policy_syntax(%x: tensor<8x12xf32, #kb.dp<cube = split(1), pe = replicate, num_cubes = 1, num_pes = 1>>)

// -----

// The world size: one positive i64 on the module.

// expected-error@+1 {{'kb.world_size' (the TP world size) must be positive, got 0}}
module attributes {kb.world_size = 0 : i64} {}

// -----

// expected-error@+1 {{'kb.world_size' (the TP world size) must be positive, got -4}}
module attributes {kb.world_size = -4 : i64} {}

// -----

// expected-error@+1 {{'kb.world_size' (the TP world size) must be at most 65536, got 1099511627776}}
module attributes {kb.world_size = 1099511627776 : i64} {}

// -----

// expected-error@+1 {{'kb.world_size' must be an i64 integer, got "four"}}
module attributes {kb.world_size = "four"} {}

// -----

// expected-error@+1 {{'kb.world_size' belongs on a builtin.module, not on 'func.func'}}
func.func @world_size_on_func() attributes {kb.world_size = 4 : i64} {
  return
}

// -----

// expected-error@+1 {{'kb.spmd' must be a unit attribute on a builtin.module}}
module attributes {kb.spmd = 1 : i64} {}

// -----

// expected-error@+1 {{unknown kb attribute 'kb.tp' on 'builtin.module'}}
module attributes {kb.tp = 4 : i64} {}

// -----

// expected-error@+1 {{'kb.split_dim' on argument 0 is 2, outside the tensor's rank 2}}
func.func @split_dim_range(%x: tensor<4x4xf32> {kb.split_dim = 2 : i64}) {
  return
}

// -----

// expected-error@+1 {{'kb.split_dim' on result 0 needs a ranked tensor, got 'i32'}}
func.func @split_dim_type(%x: i32) -> (i32 {kb.split_dim = 0 : i64}) {
  return %x : i32
}

// -----

// expected-error@+1 {{'kb.split_dim' on argument 0 must be an integer}}
func.func @split_dim_kind(%x: tensor<4x4xf32> {kb.split_dim = "one"}) {
  return
}

// -----

// expected-error@+1 {{unknown kb attribute 'kb.layout' on argument 0}}
func.func @unknown_arg_attr(%x: tensor<4x4xf32> {kb.layout = 1 : i64}) {
  return
}

// -----

// expected-error@+1 {{'kb.local_function_type' must be a function type on a function}}
func.func @local_type() attributes {kb.local_function_type = tensor<4xf32>} {
  return
}

// -----

// expected-error@+1 {{'kb.arg_split_dims' must be an array<i64> on a function}}
func.func @split_dims_kind() attributes {kb.arg_split_dims = [1, 2]} {
  return
}

// -----

// expected-error@+1 {{'kb.result_split_dims' holds dimensions or -1 (replicated)}}
func.func @split_dims_value() attributes {kb.result_split_dims = array<i64: -2>} {
  return
}

// -----

// expected-error@+1 {{'kb.split_replicas' on argument 0 must be a rank count of at least 1}}
func.func @split_replicas_zero(%x: tensor<4x4xf32> {kb.split_dim = 1 : i64, kb.split_replicas = 0 : i64}) {
  return
}

// -----

// expected-error@+1 {{'kb.split_replicas' on result 0 must be a rank count of at least 1}}
func.func @split_replicas_kind(%x: tensor<4x4xf32>) -> (tensor<4x4xf32> {kb.split_dim = 1 : i64, kb.split_replicas = "two"}) {
  return %x : tensor<4x4xf32>
}

// -----

// expected-error@+1 {{'kb.arg_split_replicas' must be an array<i64> on a function}}
func.func @split_replicas_array_kind() attributes {kb.arg_split_replicas = [1, 2]} {
  return
}

// -----

// expected-error@+1 {{'kb.result_split_replicas' holds rank counts, each at least 1}}
func.func @split_replicas_array_value() attributes {kb.result_split_replicas = array<i64: 0>} {
  return
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_dynamic(%x: tensor<?x8xf32>, %r: index) -> tensor<?x2xf32> {
    // expected-error@+1 {{expects a static input shape, got 'tensor<?x8xf32>'}}
    %s = kb.tp_slice %x[%r] along 1 : tensor<?x8xf32> -> tensor<?x2xf32>
    return %s : tensor<?x2xf32>
  }
}

// -----

// Sizes: MLIR accepts dimensions up to 2^63 - 1, but a tensor's bytes must fit
// in int64 (2^58 rows of 16 f32 are 2^64 bytes).

module attributes {kb.world_size = 4 : i64} {
  func.func @linear_bytes(%x: tensor<288230376151711744x16xf32>, %w: tensor<16x64xf32>) -> tensor<288230376151711744x64xf32> {
    // expected-error@+1 {{'kb.column_parallel_linear' op expects input of at most 2^63 - 1 bytes, got 'tensor<288230376151711744x16xf32>'}}
    %y = kb.column_parallel_linear %x, %w : (tensor<288230376151711744x16xf32>, tensor<16x64xf32>) -> tensor<288230376151711744x64xf32>
    return %y : tensor<288230376151711744x64xf32>
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @weight_bytes(%x: tensor<1x4xf16>, %w: tensor<4x4611686018427387904xf16>, %b: tensor<4611686018427387904xf16>) -> tensor<1x4611686018427387904xf16> {
    // expected-error@+1 {{'kb.column_parallel_linear' op expects weight of at most 2^63 - 1 bytes, got 'tensor<4x4611686018427387904xf16>'}}
    %y = kb.column_parallel_linear %x, %w bias %b : (tensor<1x4xf16>, tensor<4x4611686018427387904xf16>, tensor<4611686018427387904xf16>) -> tensor<1x4611686018427387904xf16>
    return %y : tensor<1x4611686018427387904xf16>
  }
}

// -----

func.func @matmul_k_bytes(%a: tensor<1x9223372036854775807xf16>, %b: tensor<9223372036854775807x1xf16>) -> tensor<1x1xf16> {
  // expected-error@+1 {{'kb.matmul' op expects lhs of at most 2^63 - 1 bytes, got 'tensor<1x9223372036854775807xf16>'}}
  %c = kb.matmul %a, %b : (tensor<1x9223372036854775807xf16>, tensor<9223372036854775807x1xf16>) -> tensor<1x1xf16>
  return %c : tensor<1x1xf16>
}

// -----

// Operands of 2^31 and 2^32 f32 elements, a result of 2^63 elements.
func.func @matmul_result_bytes(%a: tensor<2147483648x1xf32>, %b: tensor<1x4294967296xf32>) -> tensor<2147483648x4294967296xf32> {
  // expected-error@+1 {{'kb.matmul' op expects result of at most 2^63 - 1 bytes, got 'tensor<2147483648x4294967296xf32>'}}
  %c = kb.matmul %a, %b : (tensor<2147483648x1xf32>, tensor<1x4294967296xf32>) -> tensor<2147483648x4294967296xf32>
  return %c : tensor<2147483648x4294967296xf32>
}

// -----

func.func @add_bytes(%a: tensor<4611686018427387904x2xbf16>, %b: tensor<2xbf16>) -> tensor<4611686018427387904x2xbf16> {
  // expected-error@+1 {{'kb.add' op expects lhs of at most 2^63 - 1 bytes, got 'tensor<4611686018427387904x2xbf16>'}}
  %c = kb.add %a, %b : tensor<4611686018427387904x2xbf16>, tensor<2xbf16>
  return %c : tensor<4611686018427387904x2xbf16>
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @slice_bytes(%x: tensor<4x4611686018427387904xf32>, %r: index) -> tensor<4x1152921504606846976xf32> {
    // expected-error@+1 {{'kb.tp_slice' op expects input of at most 2^63 - 1 bytes, got 'tensor<4x4611686018427387904xf32>'}}
    %s = kb.tp_slice %x[%r] along 1 : tensor<4x4611686018427387904xf32> -> tensor<4x1152921504606846976xf32>
    return %s : tensor<4x1152921504606846976xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @all_reduce_bytes(%x: tensor<2305843009213693952x2xf16>) -> tensor<2305843009213693952x2xf16> {
    // expected-error@+1 {{'kb.all_reduce' op expects input of at most 2^63 - 1 bytes, got 'tensor<2305843009213693952x2xf16>'}}
    %y = kb.all_reduce <sum> %x : tensor<2305843009213693952x2xf16>
    return %y : tensor<2305843009213693952x2xf16>
  }
}

// -----

// expected-error@+1 {{DPPolicy places 'tensor<4611686018427387904x4xf32>', which has more than 2^63 - 1 bytes}}
func.func @policy_bytes(%x: tensor<4611686018427387904x4xf32, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 4, num_pes = 1>>)

// -----

// expected-error@+1 {{'kb.kernel' must be a unit attribute on a func.func}}
module attributes {kb.kernel} {}

// -----

func.func @keep_input_elsewhere(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error@+1 {{'kb.keep_input' must be a unit attribute on a kb.all_reduce}}
  %g = kb.gelu %x {kb.keep_input} : tensor<4x4xf32>
  return %g : tensor<4x4xf32>
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @gather_dim_range(%x: tensor<4x8xf32>) -> tensor<4x32xf32> {
    // expected-error@+1 {{'kb.all_gather' op works along dimension 2 of a rank-2 tensor}}
    %y = kb.all_gather %x along 2 : tensor<4x8xf32> -> tensor<4x32xf32>
    return %y : tensor<4x32xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @gather_result_shape(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
    // expected-error@+1 {{'kb.all_gather' op expects input of shape 'tensor<4x4xf32>' (1/4 of result 'tensor<4x16xf32>' along dimension 1), got 'tensor<4x8xf32>'}}
    %y = kb.all_gather %x along 1 : tensor<4x8xf32> -> tensor<4x16xf32>
    return %y : tensor<4x16xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @gather_dtype(%x: tensor<4x8xf32>) -> tensor<4x32xf16> {
    // expected-error@+1 {{'kb.all_gather' op expects one element type, but result has 'f16' and input has 'f32'}}
    %y = kb.all_gather %x along 1 : tensor<4x8xf32> -> tensor<4x32xf16>
    return %y : tensor<4x32xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @scatter_not_divisible(%x: tensor<6x8xf32>) -> tensor<1x8xf32> {
    // expected-error@+1 {{'kb.reduce_scatter' op splits dimension 0 (size 6) over the ranks; it must be divisible by TP world size (4)}}
    %y = kb.reduce_scatter <sum> %x along 0 : tensor<6x8xf32> -> tensor<1x8xf32>
    return %y : tensor<1x8xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @scatter_result_shape(%x: tensor<8x8xf32>) -> tensor<8x4xf32> {
    // expected-error@+1 {{'kb.reduce_scatter' op expects result of shape 'tensor<8x2xf32>' (1/4 of input 'tensor<8x8xf32>' along dimension 1), got 'tensor<8x4xf32>'}}
    %y = kb.reduce_scatter <sum> %x along 1 : tensor<8x8xf32> -> tensor<8x4xf32>
    return %y : tensor<8x4xf32>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @scatter_dynamic(%x: tensor<?x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{'kb.reduce_scatter' op expects static shapes, got input 'tensor<?x8xf32>' and result 'tensor<2x8xf32>'}}
    %y = kb.reduce_scatter <sum> %x along 0 : tensor<?x8xf32> -> tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @scatter_global_shape(%x: tensor<8x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{'kb.reduce_scatter' op expects result of shape 'tensor<8x8xf32>' (the same as input 'tensor<8x8xf32>' along dimension 0), got 'tensor<2x8xf32>'}}
    %y = kb.reduce_scatter <sum> %x along 0 : tensor<8x8xf32> -> tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @gather_global_not_divisible(%x: tensor<8x6xf32>) -> tensor<8x6xf32> {
    // expected-error@+1 {{'kb.all_gather' op splits dimension 1 (size 6) over the ranks; it must be divisible by TP world size (4)}}
    %y = kb.all_gather %x along 1 : tensor<8x6xf32> -> tensor<8x6xf32>
    return %y : tensor<8x6xf32>
  }
}

// -----

// Only the placement of a binary op's result may differ from its lhs's.
func.func @add_result_shape(%a: tensor<8x16xf32>, %b: tensor<8x16xf32>) -> tensor<16x8xf32> {
  // expected-error@+1 {{'kb.add' op expects a result of its first operand's shape and element type ('tensor<8x16xf32>'), got 'tensor<16x8xf32>'}}
  %c = kb.add %a, %b : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<16x8xf32>
  return %c : tensor<16x8xf32>
}
