"""The numpy reference against a naive, loop-by-loop computation of the same model in
Python floats, with the roundings written independently (struct for f16, bit
arithmetic on integers for bf16)."""
import math
import struct

import numpy as np
import pytest

import kb
from kb.dtypes import round_to
from kb.parallel_state import initialize_model_parallel


def naive_gelu(v):
    return 0.5 * v * (1 + math.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3)))


def naive_bf16(v):
    """The bf16 nearest to float32(v), ties to even, from the two candidates."""
    bits = struct.unpack("<I", struct.pack("<f", v))[0]
    low = bits & 0xFFFF0000
    candidates = [struct.unpack("<f", struct.pack("<I", b))[0] for b in (low, low + 0x10000)]
    f32 = struct.unpack("<f", struct.pack("<f", v))[0]
    if math.isinf(f32):
        return f32
    d0, d1 = abs(f32 - candidates[0]), abs(candidates[1] - f32)
    if d0 != d1:
        return candidates[0] if d0 < d1 else candidates[1]
    return candidates[0] if (low >> 16) % 2 == 0 else candidates[1]


NAIVE_ROUND = {
    "f32": lambda v: struct.unpack("<f", struct.pack("<f", v))[0],
    "f16": lambda v: struct.unpack("<e", struct.pack("<e", v))[0],
    "bf16": naive_bf16,
}
# One unit in the last place: the naive loops accumulate in double, the reference in
# f32, so a rounding may land on the neighbouring value.
ULP = {"f32": 2 ** -20, "f16": 2 ** -10, "bf16": 2 ** -7}


def naive_mlp(xv, col, row, r):
    out = []
    for i in range(len(xv)):
        h = [r(r(sum(float(xv[i][k]) * float(col.weight[k][j]) for k in range(col.in_features)))
               + float(col.bias[j])) for j in range(col.out_features)]
        g = [r(naive_gelu(v)) for v in h]
        out.append([r(r(sum(g[k] * float(row.weight[k][j]) for k in range(row.in_features)))
                      + float(row.bias[j])) for j in range(row.out_features)])
    return out


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_reference_matches_naive_loops(dtype):
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("mlp") as p:
        x = p.input("x", (3, 4), dtype=dtype)
        col = kb.ColumnParallelLinear(4, 6, bias=True, dtype=dtype)
        row = kb.RowParallelLinear(6, 2, bias=True, dtype=dtype)
        p.output(row(kb.gelu(col(x))))
    xv = round_to(np.arange(12).reshape(3, 4) / 7 - 0.8, dtype)
    got = kb.reference.run(p, {"x": xv})[0]
    assert got.dtype == (np.float16 if dtype == "f16" else np.float32)
    expected = naive_mlp(xv, col, row, NAIVE_ROUND[dtype])
    for i in range(3):
        for j in range(2):
            assert abs(float(got[i][j]) - expected[i][j]) <= ULP[dtype] * (
                abs(expected[i][j]) + 1e-3), (i, j, got[i][j], expected[i][j])


def test_every_value_is_rounded_to_the_dtype():
    """Results of bf16 programs hold only bf16 values (the low 16 bits are zero)."""
    with kb.Program("p") as p:
        x = p.input((4, 8), dtype="bf16")
        p.output(kb.gelu(kb.ColumnParallelLinear(8, 8, dtype="bf16")(x)))
    out = p.reference([np.random.default_rng(0).uniform(-1, 1, (4, 8))])[0]
    assert not np.any(out.view(np.uint32) & 0xFFFF)


def test_bf16_rounding_is_to_nearest_even():
    values = np.array([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.14159, -1 - 2 ** -8, 1e-40,
                       np.inf, -np.inf, 3.3895e38], dtype=np.float32)
    rounded = round_to(values, "bf16")
    assert list(rounded[:3]) == [1.0, 1.0, 1 + 2 ** -6]
    assert abs(rounded[3] - 3.140625) < 1e-7
    assert rounded[4] == -1.0
    for v, r in zip(values, rounded):
        assert r == naive_bf16(float(v))
    assert np.isnan(round_to(np.array([np.nan], np.float32), "bf16")[0])


def test_gelu_is_the_tanh_approximation():
    xs = np.linspace(-4, 4, 33, dtype=np.float32)
    assert np.allclose(kb.reference.gelu(xs), [naive_gelu(float(v)) for v in xs], atol=1e-6)


def test_bias_broadcast_and_program_method_agree():
    with kb.Program("p") as p:
        x = p.input((2, 3), dtype="f16")
        b = p.input("b", (3,), dtype="f16")
        p.output(kb.add(x, b), kb.add(x, x))
    inputs = {"x": np.ones((2, 3)), "b": np.array([1.0, 2.0, 3.0])}
    summed, doubled = p.reference(inputs)
    assert summed.dtype == np.float16 and summed.tolist() == [[2, 3, 4], [2, 3, 4]]
    assert doubled.tolist() == [[2] * 3] * 2
    assert np.array_equal(kb.reference.run(p, inputs)[0], summed)


def test_silu_is_x_times_sigmoid_and_saturates():
    xs = np.concatenate([np.linspace(-30, 30, 61), [-1e4, 1e4]]).astype(np.float32)
    expected = [v / (1 + math.exp(-v)) if v > -700 else -0.0 for v in map(float, xs)]
    assert np.allclose(kb.reference.silu(xs), expected, rtol=1e-6, atol=1e-30)


def naive_swiglu(xv, gate, up, down, r):
    out = []
    for i in range(len(xv)):
        g = [r(sum(float(xv[i][k]) * float(gate.weight[k][j]) for k in range(gate.in_features)))
             for j in range(gate.out_features)]
        u = [r(sum(float(xv[i][k]) * float(up.weight[k][j]) for k in range(up.in_features)))
             for j in range(up.out_features)]
        h = [r(r(r(a / (1 + math.exp(-a))) * b) * 0.5) for a, b in zip(g, u)]
        out.append([r(sum(h[k] * float(down.weight[k][j]) for k in range(down.in_features)))
                    for j in range(down.out_features)])
    return out


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_swiglu_reference_matches_naive_loops(dtype):
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("swiglu") as p:
        x = p.input("x", (3, 4), dtype=dtype)
        gate = kb.ColumnParallelLinear(4, 6, dtype=dtype)
        up = kb.ColumnParallelLinear(4, 6, dtype=dtype)
        down = kb.RowParallelLinear(6, 2, dtype=dtype)
        p.output(down(0.5 * (kb.silu(gate(x)) * up(x))))
    xv = round_to(np.arange(12).reshape(3, 4) / 5 - 1.1, dtype)
    got = kb.reference.run(p, {"x": xv})[0]
    expected = naive_swiglu(xv, gate, up, down, NAIVE_ROUND[dtype])
    for i in range(3):
        for j in range(2):
            assert abs(float(got[i][j]) - expected[i][j]) <= 2 * ULP[dtype] * (
                abs(expected[i][j]) + 1e-3), (i, j, got[i][j], expected[i][j])
