"""The seed's vocabulary and checks: they fire where the layer is built, before any
program or tool exists."""
import subprocess

import numpy as np
import pytest

import kb
from kb.parallel_state import (get_tensor_model_parallel_world_size,
                               initialize_model_parallel, set_tensor_model_parallel_world_size)


@pytest.fixture
def no_tools(monkeypatch):
    """Fails the test if anything tries to start a process."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a tool was started: {args}")
    for name in ("run", "Popen", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, refuse)


def test_world_size_defaults_to_one_and_is_validated():
    assert get_tensor_model_parallel_world_size() == 1
    initialize_model_parallel(tensor_model_parallel_size=8)
    assert get_tensor_model_parallel_world_size() == 8
    set_tensor_model_parallel_world_size(2)
    assert get_tensor_model_parallel_world_size() == 2
    for bad in (0, -1, 2.0, True, "4"):
        with pytest.raises(ValueError, match="positive integer"):
            initialize_model_parallel(tensor_model_parallel_size=bad)


def test_column_out_features_not_divisible_raises_before_any_tool(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=4)
    with pytest.raises(ValueError) as e:
        kb.ColumnParallelLinear(16, 10)
    assert str(e.value) == "out_features (10) must be divisible by TP world size (4)"
    kb.ColumnParallelLinear(10, 16)  # in_features is not split: any size


def test_row_in_features_not_divisible_raises_before_any_tool(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=3)
    with pytest.raises(ValueError) as e:
        kb.RowParallelLinear(16, 9)
    assert str(e.value) == "in_features (16) must be divisible by TP world size (3)"
    kb.RowParallelLinear(9, 16)


def test_the_check_fires_in_a_program_too_before_any_tool(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("p") as p:
        x = p.input((8, 16))
        with pytest.raises(ValueError, match=r"^out_features \(10\) must be divisible"):
            kb.ColumnParallelLinear(16, 10)(x)
    assert p.ops == []


@pytest.mark.parametrize("dtype", ["f16", "bf16", "f32"])
def test_dtypes_are_accepted(no_tools, dtype):
    layer = kb.ColumnParallelLinear(4, 4, bias=True, dtype=dtype)
    assert layer.weight.dtype == (np.float16 if dtype == "f16" else np.float32)
    assert layer.bias.shape == (4,)


@pytest.mark.parametrize("dtype, name", [
    ("float16", "f16"), ("fp16", "f16"), ("F16", "f16"), ("half", "f16"),
    (np.float16, "f16"), (np.dtype("float16"), "f16"),
    ("bfloat16", "bf16"), ("BF16", "bf16"),
    ("float32", "f32"), ("fp32", "f32"), (np.float32, "f32"), (np.dtype("<f4"), "f32"),
])
def test_numpy_and_framework_spellings_of_a_dtype_are_accepted(no_tools, dtype, name):
    layer = kb.ColumnParallelLinear(4, 4, dtype=dtype)
    assert layer.dtype == name
    assert kb.RowParallelLinear(4, 4, dtype=dtype).dtype == name
    assert kb.Program("p").input((2, 2), dtype=dtype).dtype == name
    assert f"x{name}>" in kb.Program("p").input((2, 2), dtype=dtype).mlir_type


@pytest.mark.parametrize("dtype", ["f64", "float", "F8", np.float64, np.int32, 16])
def test_other_dtypes_are_value_errors(no_tools, dtype):
    with pytest.raises(ValueError, match="dtype must be one of f16, bf16, f32"):
        kb.ColumnParallelLinear(4, 4, dtype=dtype)
    with pytest.raises(ValueError, match="dtype must be one of f16, bf16, f32"):
        kb.RowParallelLinear(4, 4, dtype=dtype)
    if dtype is np.int32:
        # An input of int32 is token ids (i32), which only an embedding takes.
        assert kb.Program("p").input((2,), dtype=dtype).mlir_type == "tensor<2xi32>"
    else:
        with pytest.raises(ValueError, match="dtype must be one of f16, bf16, f32"):
            kb.Program("p").input((2, 2), dtype=dtype)


def test_features_must_be_positive_integers(no_tools):
    for bad in (0, -4, 4.0, True):
        with pytest.raises(ValueError, match="in_features must be a positive integer"):
            kb.ColumnParallelLinear(bad, 4)


def test_seed_signature_is_accepted(no_tools):
    """The seed passes torch=; kb needs none but takes it, so seed code ports as is."""
    layer = kb.RowParallelLinear(8, 4, bias=False, dtype="f16", torch=object())
    assert (layer.in_features, layer.out_features, layer.bias) == (8, 4, None)


def test_shape_and_dtype_checks_name_the_numbers(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("p") as p:
        x = p.input("x", (4, 8), dtype="f32")
        with pytest.raises(ValueError, match=r"takes \(M, 6\) or \(s, b, 6\) inputs, "
                                             r"got \(4, 8\)"):
            kb.ColumnParallelLinear(6, 4, dtype="f32")(x)
        with pytest.raises(ValueError, match="is f16, its input is f32"):
            kb.ColumnParallelLinear(8, 4, dtype="f16")(x)
        with pytest.raises(TypeError, match="takes a kb.Tensor"):
            kb.ColumnParallelLinear(8, 4, dtype="f32")(np.zeros((4, 8)))
        with pytest.raises(ValueError, match="add needs one dtype"):
            kb.add(x, p.input("y", (4, 8), dtype="f16"))
        with pytest.raises(ValueError, match=r"add needs b of shape \(4, 8\) or \(8,\)"):
            kb.add(x, p.input("z", (4,), dtype="f32"))


def test_a_layer_built_for_another_world_size_is_refused(no_tools):
    initialize_model_parallel(tensor_model_parallel_size=2)
    layer = kb.ColumnParallelLinear(8, 8, dtype="f32")
    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("p") as p:
        x = p.input((2, 8), dtype="f32")
        with pytest.raises(ValueError, match="built for TP world size 2, program 'p' has 4"):
            layer(x)


def test_layers_need_a_program(no_tools):
    x = kb.Program("outside").input("x", (2, 2), dtype="f32")
    with pytest.raises(RuntimeError, match="inside `with kb.Program"):
        kb.ColumnParallelLinear(2, 2, dtype="f32")(x)


def test_values_of_another_program_are_refused(no_tools):
    x = kb.Program("other").input((2, 2), dtype="f32")
    with kb.Program("p") as p:
        with pytest.raises(ValueError, match="is not a value of program 'p'"):
            kb.gelu(x)
        with pytest.raises(ValueError, match="is not a value of program 'p'"):
            p.output(x)


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
    with pytest.raises(ValueError, match=r"takes 1 input\(s\) \(x\), got 2"):
        p.argument_values([np.zeros((2, 4))] * 2)
    with pytest.raises(ValueError, match="must hold real numbers"):
        p.argument_values([np.full((2, 4), "a")])
    by_name = p.argument_values({"x": np.ones((2, 4))})
    assert np.array_equal(by_name[0], p.argument_values([np.ones((2, 4))])[0])
    assert np.array_equal(by_name[0], p.argument_values(np.ones((2, 4)))[0])


def test_input_names_are_identifiers(no_tools):
    p = kb.Program("p")
    for bad in ("0x", "a b", "", "%x"):
        with pytest.raises(ValueError, match="input name must be an identifier"):
            p.input(bad, (2, 2))
    with pytest.raises(ValueError, match="program name must be an identifier"):
        kb.Program("my model")
    with pytest.raises(ValueError, match="shape of positive integers"):
        p.input((2, 0))


def test_parameters_are_read_when_the_program_runs(no_tools):
    """A user's own weights may be set after the layer is applied."""
    with kb.Program("p") as p:
        layer = kb.ColumnParallelLinear(2, 2, bias=True, dtype="f32")
        p.output(layer(p.input((1, 2), dtype="f32")))
    layer.weight = np.eye(2)
    layer.bias = np.array([1.0, 2.0])
    values = p.argument_values([np.array([[3.0, 4.0]])])
    assert np.array_equal(values[1], np.eye(2, dtype=np.float32))
    assert p.reference([np.array([[3.0, 4.0]])])[0].tolist() == [[4.0, 6.0]]
    layer.weight = np.eye(3)
    with pytest.raises(ValueError, match=r"'w1' has shape \(3, 3\), the program expects \(2, 2\)"):
        p.argument_values([np.zeros((1, 2))])
