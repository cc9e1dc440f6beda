"""The seed's vocabulary and checks, and the IR the front end emits."""
import subprocess

import numpy as np
import pytest

import kb
from kb.parallel_state import get_tensor_model_parallel_world_size, initialize_model_parallel


@pytest.fixture
def no_tools(monkeypatch):
    """Fails the test if anything tries to start a process."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a tool was started: {args}")
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_world_size_defaults_to_one_and_is_validated():
    assert get_tensor_model_parallel_world_size() == 1
    initialize_model_parallel(tensor_model_parallel_size=8)
    assert get_tensor_model_parallel_world_size() == 8
    with pytest.raises(ValueError, match="positive integer"):
        initialize_model_parallel(tensor_model_parallel_size=0)


def test_column_out_features_not_divisible_raises_before_any_tool(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=4)
    with pytest.raises(ValueError) as e:
        kb.ColumnParallelLinear(16, 10)
    assert str(e.value) == "out_features (10) must be divisible by TP world size (4)"


def test_row_in_features_not_divisible_raises_before_any_tool(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=3)
    with pytest.raises(ValueError) as e:
        kb.RowParallelLinear(16, 9)
    assert str(e.value) == "in_features (16) must be divisible by TP world size (3)"


def test_dtype_and_policy_validation(no_tools):
    with pytest.raises(ValueError, match="dtype must be one of f16, bf16, f32"):
        kb.ColumnParallelLinear(4, 4, dtype="f64")
    with pytest.raises(ValueError, match="'replicate' or 'shard'"):
        kb.DPPolicy(cube="split")
    with pytest.raises(ValueError, match="num_pes must be a positive integer"):
        kb.DPPolicy(num_pes=0)
    policy = kb.DPPolicy(cube="shard", pe="shard", num_cubes=4, num_pes=8)
    assert policy.to_mlir() == "#kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>"
    with pytest.raises(ValueError, match=r"dimension 1 \(size 10\) does not divide by 4"):
        policy.check((16, 10))


def test_shape_checks_name_the_numbers(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("p") as p:
        x = p.input("x", (4, 8), dtype="f32")
        with pytest.raises(ValueError, match=r"takes \(M, 6\) inputs, got \(4, 8\)"):
            kb.ColumnParallelLinear(6, 4, dtype="f32")(x)
        with pytest.raises(ValueError, match="is f16, its input is f32"):
            kb.ColumnParallelLinear(8, 4, dtype="f16")(x)


def test_emits_the_global_view(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=4)
    policy = kb.DPPolicy()
    with kb.Program("mlp") as p:
        x = p.input("x", (8, 16), dtype="f16")
        h = kb.ColumnParallelLinear(16, 64, bias=True, dp=policy)(x)
        y = kb.RowParallelLinear(64, 16)(kb.gelu(h))
        p.output(y)
    ir = p.to_mlir()
    assert "module attributes {kb.world_size = 4 : i64}" in ir
    assert ("%col_parallel_w: tensor<16x64xf16, #kb.dp<cube = replicate, pe = replicate, "
            "num_cubes = 1, num_pes = 1>>") in ir
    assert "%col_parallel_b: tensor<64xf16>" in ir
    assert "kb.column_parallel_linear %x, %col_parallel_w bias %col_parallel_b" in ir
    assert "kb.gelu %col_parallel_out : tensor<8x64xf16>" in ir
    assert "kb.row_parallel_linear %gelu, %row_parallel_w : (tensor<8x64xf16>, tensor<64x16xf16>)" in ir
    assert ir.rstrip().endswith("}")
    names = [t.name for t, _, _ in p.arguments]
    assert names == ["x", "col_parallel_w", "col_parallel_b", "row_parallel_w"]


def test_layers_need_a_program(no_tools):
    x = kb.Program("outside").input("x", (2, 2), dtype="f32")
    with pytest.raises(RuntimeError, match="inside `with kb.Program"):
        kb.ColumnParallelLinear(2, 2, dtype="f32")(x)


def test_inputs_are_checked(no_tools):
    with kb.Program("p") as p:
        x = p.input("x", (2, 4), dtype="f32")
        p.output(kb.gelu(x))
    with pytest.raises(ValueError, match="missing input 'x'"):
        p.argument_values({})
    with pytest.raises(ValueError, match=r"has shape \(4, 2\), the program expects \(2, 4\)"):
        p.argument_values({"x": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="unknown inputs: y"):
        p.argument_values({"x": np.zeros((2, 4)), "y": 1})
