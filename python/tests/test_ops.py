"""The op registry (kb.ops): every kind a layer records has its IR line and its numpy
meaning in one entry, and the registry refuses what it cannot mean."""
import numpy as np
import pytest

import kb
from kb import ops
from kb.parallel_state import initialize_model_parallel


def test_every_recorded_kind_is_registered():
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("all_kinds") as program:
        x = program.input((4, 8), dtype="f32")
        h = kb.ColumnParallelLinear(8, 16, bias=True, dtype="f32")(x)
        h = kb.mul(kb.silu(h), kb.gelu(h)) + h
        y = kb.RowParallelLinear(16, 8, dtype="f32")(0.5 * h)
        program.output(y)
    kinds = {kind for kind, _, _ in program.ops}
    assert kinds == {"column_parallel_linear", "silu", "gelu", "mul", "add", "scale",
                     "row_parallel_linear"}
    assert kinds <= set(ops.OPS)
    # The registry's meaning is the reference's: x -> the same numbers as numpy by hand.
    xv = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
    (got,) = program.reference({"x": xv})
    w1, b1, w2 = (getattr(layer, attr) for _, layer, attr in program.parameters)
    h = xv @ w1 + b1
    silu = h / (1 + np.exp(-h))
    gelu = 0.5 * h * (1 + np.tanh(0.7978845608028654 * (h + 0.044715 * h ** 3)))
    expected = (0.5 * (silu * gelu + h)) @ w2
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_a_kind_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        ops.register("gelu", None, None)


def test_an_unknown_kind_is_an_error():
    with pytest.raises(AssertionError, match="unknown op kind 'softmax'"):
        ops.lookup("softmax")


def test_elementwise_functions_check_their_operands():
    initialize_model_parallel(tensor_model_parallel_size=1)
    with kb.Program("bad") as program:
        a = program.input((4, 8), dtype="f32")
        b = program.input((4, 8), dtype="f16")
        with pytest.raises(TypeError, match="silu takes kb.Tensors"):
            kb.silu(np.zeros((4, 8)))
        with pytest.raises(ValueError, match="mul needs one dtype"):
            kb.mul(a, b)
    assert kb.gelu.__name__ == "gelu" and "GELU" in kb.gelu.__doc__
