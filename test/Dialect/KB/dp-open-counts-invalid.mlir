// RUN: kb-opt %s -split-input-file -verify-diagnostics

// The syntax of the counts: optional, num_cubes before num_pes, each once.

// expected-error@+1 {{expected `num_cubes` then `num_pes`, each at most once, got `num_cubes`}}
func.func private @order(tensor<8x8xf32, #kb.dp<cube = replicate, pe = replicate, num_pes = 1, num_cubes = 1>>)

// -----

// expected-error@+1 {{expected `num_cubes` then `num_pes`, each at most once, got `num_pes`}}
func.func private @twice(tensor<8x8xf32, #kb.dp<cube = replicate, pe = replicate, num_pes = 1, num_pes = 2>>)

// -----

// expected-error@+1 {{expected `num_cubes` then `num_pes`, each at most once, got `num_sips`}}
func.func private @sips(tensor<8x8xf32, #kb.dp<cube = replicate, pe = replicate, num_sips = 1>>)

// -----

// expected-error@+1 {{expected integer value}}
func.func private @none(tensor<8x8xf32, #kb.dp<cube = replicate, pe = replicate, num_pes = none>>)

// -----

// A given count must be positive, whichever other count is left open.
// expected-error@+1 {{DPPolicy num_cubes must be at least 1, got 0}}
func.func private @zero(tensor<8x8xf32, #kb.dp<cube = shard(1), pe = replicate, num_cubes = 0>>)

// -----

// expected-error@+1 {{DPPolicy num_pes must be at least 1, got -1}}
func.func private @negative(tensor<8x8xf32, #kb.dp<cube = replicate, pe = shard(0), num_pes = -1>>)

// -----

// A given count is still checked against the shape without a device.
// expected-error@+1 {{DPPolicy pe shard of dimension 0 (size 8) does not divide by num_pes (3)}}
func.func private @given_divides(tensor<8x8xf32, #kb.dp<cube = shard(1), pe = shard(0), num_pes = 3>>)
