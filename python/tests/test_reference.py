"""The numpy reference against a naive, loop-by-loop computation of the same model."""
import math

import numpy as np

import kb
from kb.dtypes import round_to
from kb.parallel_state import initialize_model_parallel


def naive_gelu(v):
    return 0.5 * v * (1 + math.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3)))


def test_reference_matches_naive_loops():
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("mlp") as p:
        x = p.input("x", (3, 4), dtype="f32")
        col = kb.ColumnParallelLinear(4, 6, bias=True, dtype="f32")
        row = kb.RowParallelLinear(6, 2, bias=True, dtype="f32")
        p.output(row(kb.gelu(col(x))))
    xv = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    got = p.reference({"x": xv})[0]
    for i in range(3):
        h = [sum(xv[i][k] * col.weight[k][j] for k in range(4)) + col.bias[j] for j in range(6)]
        g = [naive_gelu(v) for v in h]
        for j in range(2):
            y = sum(g[k] * row.weight[k][j] for k in range(6)) + row.bias[j]
            assert abs(got[i][j] - y) < 1e-5


def test_bf16_rounding_is_to_nearest_even():
    values = np.array([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.14159], dtype=np.float32)
    rounded = round_to(values, "bf16")
    assert list(rounded[:3]) == [1.0, 1.0, 1 + 2 ** -6]
    assert abs(rounded[3] - 3.140625) < 1e-7


def test_f16_outputs_are_float16():
    with kb.Program("p") as p:
        x = p.input("x", (2, 2), dtype="f16")
        p.output(kb.add(x, x))
    out = p.reference({"x": np.ones((2, 2))})[0]
    assert out.dtype == np.float16 and out[0, 0] == 2
