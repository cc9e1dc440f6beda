// RUN: kb-opt %s -split-input-file -verify-diagnostics

func.func @float_ids(%ids: tensor<9xf32>, %t: tensor<64x32xf16>) -> tensor<9x32xf16> {
  // expected-error@+1 {{operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %x = kb.embedding %ids, %t : tensor<9xf32>, tensor<64x32xf16> -> tensor<9x32xf16>
  return %x : tensor<9x32xf16>
}

// -----

func.func @ids_rank(%ids: tensor<3x3xi32>, %t: tensor<64x32xf16>) -> tensor<9x32xf16> {
  // expected-error@+1 {{expects ids of rank 1 (one id per token), got 'tensor<3x3xi32>'}}
  %x = kb.embedding %ids, %t : tensor<3x3xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
  return %x : tensor<9x32xf16>
}

// -----

func.func @table_rank(%ids: tensor<9xi32>, %t: tensor<64xf16>) -> tensor<9x32xf16> {
  // expected-error@+1 {{expects a table of rank 2 (vocabulary × hidden), got 'tensor<64xf16>'}}
  %x = kb.embedding %ids, %t : tensor<9xi32>, tensor<64xf16> -> tensor<9x32xf16>
  return %x : tensor<9x32xf16>
}

// -----

func.func @result_shape(%ids: tensor<9xi32>, %t: tensor<64x32xf16>) -> tensor<8x32xf16> {
  // expected-error@+1 {{expects a 9x32 result (tokens × the table's hidden size), got 'tensor<8x32xf16>'}}
  %x = kb.embedding %ids, %t : tensor<9xi32>, tensor<64x32xf16> -> tensor<8x32xf16>
  return %x : tensor<8x32xf16>
}

// -----

func.func @result_type(%ids: tensor<9xi32>, %t: tensor<64x32xf16>) -> tensor<9x32xf32> {
  // expected-error@+1 {{expects the result to have the table's element type 'f16', got 'f32'}}
  %x = kb.embedding %ids, %t : tensor<9xi32>, tensor<64x32xf16> -> tensor<9x32xf32>
  return %x : tensor<9x32xf32>
}

// -----

func.func @empty(%ids: tensor<9xi32>, %t: tensor<0x32xf16>) -> tensor<9x32xf16> {
  // expected-error@+1 {{has an empty vocabulary (a table of 0 rows)}}
  %x = kb.embedding %ids, %t : tensor<9xi32>, tensor<0x32xf16> -> tensor<9x32xf16>
  return %x : tensor<9x32xf16>
}

// -----

func.func @dynamic(%ids: tensor<?xi32>, %t: tensor<64x32xf16>) -> tensor<9x32xf16> {
  // expected-error@+1 {{expects ids to have a static shape of at most 2^63 - 1 bytes, got 'tensor<?xi32>'}}
  %x = kb.embedding %ids, %t : tensor<?xi32>, tensor<64x32xf16> -> tensor<9x32xf16>
  return %x : tensor<9x32xf16>
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @partial_form(%ids: tensor<9xi32>, %t: tensor<16x32xf16>) -> tensor<9x32xf16> {
    // expected-error@+1 {{takes the rank, 'vocab_size' and 'shard_rows' together (the local form) or none of them}}
    %x = kb.embedding %ids, %t {vocab_size = 64 : i64} : tensor<9xi32>, tensor<16x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

module attributes {kb.world_size = 4 : i64} {
  func.func @local_in_global(%ids: tensor<9xi32>, %t: tensor<16x32xf16>, %r: index) -> tensor<9x32xf16> {
    // expected-error@+1 {{with a rank is a local-view (SPMD) op: the enclosing module must carry 'kb.spmd'}}
    %x = kb.embedding %ids, %t [%r] vocab 64 shard 16 : tensor<9xi32>, tensor<16x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @wrong_shard(%ids: tensor<9xi32>, %t: tensor<15x32xf16>) -> tensor<9x32xf16> {
    %r = kb.tp_rank : index
    // expected-error@+1 {{has shards of 15 ids, but a vocabulary of 61 over TP world size 4 has shards of 16}}
    %x = kb.embedding %ids, %t [%r] vocab 61 shard 15 : tensor<9xi32>, tensor<15x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @wrong_table(%ids: tensor<9xi32>, %t: tensor<20x32xf16>) -> tensor<9x32xf16> {
    %r = kb.tp_rank : index
    // expected-error@+1 {{has a table of 20 rows, neither the shard (16 rows) nor the whole vocabulary (61)}}
    %x = kb.embedding %ids, %t [%r] vocab 61 shard 16 : tensor<9xi32>, tensor<20x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

module attributes {kb.spmd} {
  func.func @no_world(%ids: tensor<9xi32>, %t: tensor<16x32xf16>, %r: index) -> tensor<9x32xf16> {
    // expected-error@+1 {{needs the TP world size: the enclosing module has no 'kb.world_size' attribute}}
    %x = kb.embedding %ids, %t [%r] vocab 64 shard 16 : tensor<9xi32>, tensor<16x32xf16> -> tensor<9x32xf16>
    return %x : tensor<9x32xf16>
  }
}

// -----

func.func @head_hidden(%x: tensor<9x32xf16>, %t: tensor<64x31xf16>) -> tensor<9x64xf16> {
  // expected-error@+1 {{multiplies an input of 32 columns by a table of hidden size 31; they must be equal}}
  %l = kb.lm_head %x, %t : tensor<9x32xf16>, tensor<64x31xf16> -> tensor<9x64xf16>
  return %l : tensor<9x64xf16>
}

// -----

func.func @head_rank(%x: tensor<9x32xf16>, %t: tensor<64xf16>) -> tensor<9x64xf16> {
  // expected-error@+1 {{expects table of rank 2, got 'tensor<64xf16>'}}
  %l = kb.lm_head %x, %t : tensor<9x32xf16>, tensor<64xf16> -> tensor<9x64xf16>
  return %l : tensor<9x64xf16>
}

// -----

func.func @head_types(%x: tensor<9x32xf32>, %t: tensor<64x32xf16>) -> tensor<9x64xf16> {
  // expected-error@+1 {{expects one element type, got input 'f32', table 'f16' and result 'f16'}}
  %l = kb.lm_head %x, %t : tensor<9x32xf32>, tensor<64x32xf16> -> tensor<9x64xf16>
  return %l : tensor<9x64xf16>
}

// -----

func.func @head_rows(%x: tensor<9x32xf16>, %t: tensor<64x32xf16>) -> tensor<8x64xf16> {
  // expected-error@+1 {{expects a result of 9 rows (one per input row), got 8}}
  %l = kb.lm_head %x, %t : tensor<9x32xf16>, tensor<64x32xf16> -> tensor<8x64xf16>
  return %l : tensor<8x64xf16>
}

// -----

func.func @head_too_few_logits(%x: tensor<9x32xf16>, %t: tensor<61x32xf16>) -> tensor<9x60xf16> {
  // expected-error@+1 {{has 60 logits for a vocabulary of 61 ids; the result needs V columns or more (the vocabulary, padded)}}
  %l = kb.lm_head %x, %t : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x60xf16>
  return %l : tensor<9x60xf16>
}

// -----

module attributes {kb.world_size = 4 : i64, kb.spmd} {
  func.func @head_shard_logits(%x: tensor<9x32xf16>, %t: tensor<61x32xf16>) -> tensor<9x15xf16> {
    %r = kb.tp_rank : index
    // expected-error@+1 {{has shards of 16 ids but a result of 15 logits per rank}}
    %l = kb.lm_head %x, %t [%r] vocab 61 shard 16 : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x15xf16>
    return %l : tensor<9x15xf16>
  }
}

// -----

module attributes {kb.world_size = 4 : i64, kb.spmd} {
  func.func @head_short_shards(%x: tensor<9x32xf16>, %t: tensor<61x32xf16>) -> tensor<9x15xf16> {
    %r = kb.tp_rank : index
    // expected-error@+1 {{has shards of 15 ids, which over TP world size 4 cover only 60 of the 61 ids}}
    %l = kb.lm_head %x, %t [%r] vocab 61 shard 15 : tensor<9x32xf16>, tensor<61x32xf16> -> tensor<9x15xf16>
    return %l : tensor<9x15xf16>
  }
}

// -----

module attributes {kb.world_size = 4 : i64, kb.spmd} {
  func.func @head_table(%x: tensor<9x32xf16>, %t: tensor<16x32xf16>) -> tensor<9x16xf16> {
    %r = kb.tp_rank : index
    // expected-error@+1 {{has a table of 16 rows, neither the whole vocabulary (61) nor a shard of 16 rows of it}}
    %l = kb.lm_head %x, %t [%r] vocab 61 shard 16 : tensor<9x32xf16>, tensor<16x32xf16> -> tensor<9x16xf16>
    return %l : tensor<9x16xf16>
  }
}

