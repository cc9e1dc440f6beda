"""The decoder layer's row ops and data moves on the device: programs with kb.RMSNorm,
kb.LayerNorm and kb.transformer's rope, kv_append and extract_slice, but no attention,
compile to gemm_tile (run(..., lower_to_device=True)), pass kb-run --check at TP = 1,
2, 4, 8 in f32, f16 and bf16 with odd token counts, and match the float64 references
of kb.reference."""
import numpy as np
import pytest

import kb
from kb import reference as ref
from kb.dtypes import round_to
from kb.parallel_state import initialize_model_parallel
from kb.transformer import extract_slice, kv_append, rope

# Relative to the output's largest magnitude: kb rounds each op's result to the dtype,
# the float64 references never round.
TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 4e-2}
CASES = [(1, "f32", 5), (2, "bf16", 3), (4, "f16", 7), (8, "f32", 9)]


def assert_close(got, expected, dtype, what="y"):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, what
    scale = np.max(np.abs(expected))
    error = np.max(np.abs(got - expected))
    assert error <= TOLERANCE[dtype] * scale, f"{what}: {error:.3g} of max |y| {scale:.3g}"


def run_on_device(p, inputs):
    result = p.run(inputs, check=True, lower_to_device=True)
    assert result.report["check"]["passed"]
    assert result.report["device_time_s"] > 0  # a device program ran
    return result


def f64(a):
    return np.asarray(a, np.float64)


@pytest.mark.parametrize("world, dtype, tokens", CASES)
def test_rmsnorm_swiglu_residual(world, dtype, tokens):
    """Llama's MLP half-layer: y = x + swiglu(rmsnorm(x))."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    norm = kb.RMSNorm(32, dtype=dtype)
    mlp = kb.SwiGLU(32, 64, dtype=dtype)
    with kb.Program("mlp_half") as p:
        x = p.input("x", (tokens, 32), dtype=dtype)
        p.output(x + mlp(norm(x)))
    x_value = round_to(np.random.default_rng(tokens).uniform(-1, 1, (tokens, 32)), dtype)
    got = run_on_device(p, {"x": x_value}).output
    n = ref.rmsnorm(x_value, f64(norm.weight))
    expected = x_value + (ref.silu(n @ f64(mlp.gate.weight)) * (n @ f64(mlp.up.weight))) \
        @ f64(mlp.down.weight)
    assert_close(got, expected, dtype)


@pytest.mark.parametrize("world, dtype, tokens", CASES)
def test_layernorm_gelu_block(world, dtype, tokens):
    """GPT-2's MLP half-block: y = x + mlp(layernorm(x)), biases throughout."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    norm = kb.LayerNorm(48, dtype=dtype)
    mlp = kb.ParallelMLP(48, 96, activation="gelu", bias=True, dtype=dtype)
    with kb.Program("ln_block") as p:
        x = p.input("x", (tokens, 48), dtype=dtype)
        p.output(x + mlp(norm(x)))
    x_value = round_to(np.random.default_rng(tokens).uniform(-2, 3, (tokens, 48)), dtype)
    got = run_on_device(p, {"x": x_value}).output
    n = ref.layernorm(x_value, f64(norm.weight), f64(norm.bias))
    expected = x_value + ref.gelu_tanh(n @ f64(mlp.fc.weight) + f64(mlp.fc.bias)) \
        @ f64(mlp.proj.weight) + f64(mlp.proj.bias)
    assert_close(got, expected, dtype)


@pytest.mark.parametrize("world, dtype, tokens", CASES)
def test_rope_on_a_q_projection(world, dtype, tokens):
    """RoPE of a column-parallel q projection (8 heads of 8) at positions 3, 4, ..."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    wq = kb.ColumnParallelLinear(32, 64, bias=False, dtype=dtype)
    with kb.Program("rope_q") as p:
        x = p.input("x", (tokens, 32), dtype=dtype)
        p.output(rope(wq(x), 8, offset=3))
    x_value = round_to(np.random.default_rng(tokens).uniform(-1, 1, (tokens, 32)), dtype)
    got = run_on_device(p, {"x": x_value}).output
    assert_close(got, ref.rope(x_value @ f64(wq.weight), 8, 3), dtype)


@pytest.mark.parametrize("world, dtype, position", [(1, "f32", 1), (2, "f16", 9),
                                                    (4, "bf16", 5), (8, "f32", 17)])
def test_kv_append_decode_step(world, dtype, position):
    """One decode step's keys: the new token's rotated k row appended to a cache of
    `position` rows (1, and counts that are no tile multiple)."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    wk = kb.ColumnParallelLinear(32, 32, bias=False, dtype=dtype)
    with kb.Program("kv_step") as p:
        x = p.input("x", (1, 32), dtype=dtype)
        cache = p.input("k_cache", (position, 32), dtype=dtype, after_parameters=True)
        k = rope(wk(x), 4, offset=position)
        p.output(kv_append(cache, k), k)
    rng = np.random.default_rng(position)
    x_value = round_to(rng.uniform(-1, 1, (1, 32)), dtype)
    cache_value = round_to(rng.uniform(-1, 1, (position, 32)), dtype)
    grown, k_new = run_on_device(p, {"x": x_value, "k_cache": cache_value}).outputs
    k_expected = ref.rope(x_value @ f64(wk.weight), 4, position)
    assert_close(k_new, k_expected, dtype, "k_new")
    np.testing.assert_array_equal(grown[:position], cache_value)  # copied, not computed
    np.testing.assert_array_equal(grown[position:], k_new)


@pytest.mark.parametrize("world, dtype, tokens", CASES)
def test_fused_qkv_slices(world, dtype, tokens):
    """Static slices of a fused [q | k | v] activation, as GPT-2 splits W_qkv."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    with kb.Program("qkv") as p:
        x = p.input("x", (tokens, 3 * 16), dtype=dtype)
        q, k, v = (extract_slice(x, (0, 16 * i), (tokens, 16)) for i in range(3))
        p.output(q + k, v)
    x_value = round_to(np.random.default_rng(tokens).uniform(-1, 1, (tokens, 48)), dtype)
    qk, v = run_on_device(p, {"x": x_value}).outputs
    assert_close(qk, x_value[:, :16] + x_value[:, 16:32], dtype, "q + k")
    np.testing.assert_array_equal(v, x_value[:, 32:])
