"""Megatron-LM's layer API (megatron/core/tensor_parallel/layers.py) beside the seed's:
its keywords with its meanings where kb can express them, a clear refusal where not,
a warning where a ported call would silently lose its bias; 3-D [s, b, h] activations."""
import warnings

import numpy as np
import pytest

import kb
from kb.parallel_state import initialize_model_parallel


class Config:
    """The parts of Megatron's ModelParallelConfig that kb reads."""

    def __init__(self, params_dtype="bf16", sequence_parallel=False):
        self.params_dtype, self.sequence_parallel = params_dtype, sequence_parallel


def no_warnings():
    return warnings.catch_warnings(record=True)


def test_megatron_call_with_bias_builds_megatrons_layer():
    initialize_model_parallel(tensor_model_parallel_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: bias is explicit
        col = kb.ColumnParallelLinear(input_size=16, output_size=64, bias=True,
                                      gather_output=False, dtype=np.float32)
        row = kb.RowParallelLinear(64, 16, bias=True, input_is_parallel=True,
                                   skip_bias_add=False, config=Config("fp32"),
                                   init_method=lambda w: w.fill(0.5))
    assert (col.in_features, col.out_features, col.dtype) == (16, 64, "f32")
    assert col.bias.shape == (64,) and row.bias.shape == (16,)
    assert row.dtype == "f32"  # from config.params_dtype
    assert np.all(row.weight == 0.5)  # init_method filled kb's (in, out) weight
    assert col.returns_bias and row.returns_bias
    with kb.Program("p") as p:
        x = p.input((8, 16), dtype="float32")
        h, h_bias = col(x)
        y, y_bias = row(kb.gelu(h))  # Megatron's forward: (output, output_bias)
        p.output(y)
    assert h_bias is None and y_bias is None  # skip_bias_add=False: bias already added
    assert "kb.column_parallel_linear %x, %w1 bias %b1" in p.to_mlir()
    assert "kb.row_parallel_linear %1, %w2 bias %b2" in p.to_mlir()


def test_skip_bias_add_returns_the_bias_for_the_caller_to_add():
    initialize_model_parallel(tensor_model_parallel_size=2)
    col = kb.ColumnParallelLinear(8, 16, bias=True, skip_bias_add=True, dtype="f32",
                                  config=Config("f32"), init_method=lambda w: None)
    with kb.Program("p") as p:
        out, bias = col(p.input((4, 8), dtype="f32"))
        p.output(kb.gelu(kb.add(out, bias)))  # the bias-gelu fusion Megatron defers to
    text = p.to_mlir()
    assert "kb.column_parallel_linear %x, %w1 :" in text  # no bias on the layer's op
    assert "kb.add %0, %b1 : tensor<4x16xf32>, tensor<16xf32>" in text
    x = np.random.default_rng(0).uniform(-1, 1, (4, 8))
    result = p.run(x, check=True)
    expected = p.reference(x)[0]
    assert np.allclose(result.output, expected, atol=1e-5)
    # An independent numpy of the same math, so a lost bias would show.
    want = x.astype(np.float32) @ col.weight + col.bias
    want = kb.reference.gelu(want)
    assert np.allclose(result.output, want, atol=1e-4)


def test_a_ported_call_that_leaves_bias_out_warns():
    initialize_model_parallel(tensor_model_parallel_size=2)
    with pytest.warns(UserWarning, match=r"ColumnParallelLinear\(8, 16\) has no bias: "
                                         r"Megatron-LM's bias defaults to True, kb's \(the "
                                         r"seed's\) to False") as caught:
        layer = kb.ColumnParallelLinear(input_size=8, output_size=16, gather_output=False)
    assert layer.bias is None
    assert caught[0].filename == __file__  # the warning points at the ported call
    with pytest.warns(UserWarning, match=r"RowParallelLinear\(16, 8\) has no bias"):
        kb.RowParallelLinear(16, 8, input_is_parallel=True)
    with pytest.warns(UserWarning, match="has no bias"):  # a no-effect keyword marks it too
        kb.ColumnParallelLinear(8, 16, tp_comm_buffer_name="fc1")


def test_the_seeds_signature_neither_warns_nor_returns_a_tuple():
    initialize_model_parallel(tensor_model_parallel_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        col = kb.ColumnParallelLinear(8, 16, False, "f16", object())  # the seed, positionally
        kb.ColumnParallelLinear(8, 16, bias=False, gather_output=False)  # explicit: no warning
    assert not col.returns_bias and col.bias is None
    with kb.Program("p") as p:
        y = col(p.input((2, 8)))
    assert isinstance(y, kb.Tensor)


@pytest.mark.parametrize("make, option", [
    (lambda: kb.RowParallelLinear(16, 8, bias=True, stride=2),
     r"RowParallelLinear\(stride=2\) is not supported"),
    (lambda: kb.ColumnParallelLinear(8, 16, bias=True, is_expert=True),
     r"ColumnParallelLinear\(is_expert=True\)"),
    (lambda: kb.ColumnParallelLinear(8, 16, bias=True, skip_weight_param_allocation=True),
     r"skip_weight_param_allocation=True"),
    (lambda: kb.ColumnParallelLinear(8, 16, bias=True, tp_group=object()),
     r"tp_group=\.\.\..*one TP group"),
])
def test_what_kb_cannot_express_is_refused_by_name(make, option):
    initialize_model_parallel(tensor_model_parallel_size=2)
    with pytest.raises(NotImplementedError, match=option):
        make()


def test_keyword_mistakes_are_type_errors():
    with pytest.raises(TypeError, match="got both in_features and input_size"):
        kb.ColumnParallelLinear(8, 16, input_size=8)
    with pytest.raises(TypeError, match="needs in_features and out_features"):
        kb.RowParallelLinear(input_size=8)
    with pytest.raises(TypeError):
        kb.RowParallelLinear(16, 8, gather_output=False)  # a column-only keyword
    with pytest.raises(TypeError):
        kb.ColumnParallelLinear(8, 16, input_is_parallel=True)  # a row-only keyword


def test_the_seeds_checks_hold_under_megatrons_names():
    initialize_model_parallel(tensor_model_parallel_size=4)
    with pytest.raises(ValueError, match=r"^out_features \(10\) must be divisible by TP "
                                         r"world size \(4\)$"):
        kb.ColumnParallelLinear(input_size=16, output_size=10, bias=True)


@pytest.mark.parametrize("input_is_parallel", [True, False])
def test_row_input_is_parallel_either_way_runs(input_is_parallel):
    """False: the input is whole and each rank takes its slice; True: it is a column
    output already split. Both are the same global-view program."""
    initialize_model_parallel(tensor_model_parallel_size=4)
    row = kb.RowParallelLinear(32, 8, bias=True, input_is_parallel=input_is_parallel,
                               dtype="fp32")
    with kb.Program("p") as p:
        y, _ = row(p.input((4, 32), dtype="f32"))
        p.output(y)
    x = np.random.default_rng(1).uniform(-1, 1, (4, 32))
    result = p.run(x, check=True)
    assert np.allclose(result.output, x.astype(np.float32) @ row.weight + row.bias,
                       atol=1e-4)


def test_3d_activations_are_flattened_and_restored():
    """Megatron's [s, b, h]: the IR holds (s*b, h); arrays go in and out as [s, b, h]."""
    initialize_model_parallel(tensor_model_parallel_size=2)
    s, b, h, ffn = 3, 2, 8, 16
    col = kb.ColumnParallelLinear(h, ffn, bias=True, dtype="float32")
    row = kb.RowParallelLinear(ffn, h, bias=True, dtype="float32")
    with kb.Program("p") as p:
        x = p.input("x", (s, b, h), dtype="f32")
        mid = kb.gelu(col(x))
        y = row(mid)
        p.output(y, mid)
    assert x.shape == (s, b, h) and mid.shape == (s, b, ffn) and y.shape == (s, b, h)
    text = p.to_mlir()
    assert "%x: tensor<6x8xf32>" in text
    assert "-> tensor<6x16xf32>" in text and "kb.gelu %0 : tensor<6x16xf32>" in text
    value = np.random.default_rng(2).uniform(-1, 1, (s, b, h)).astype(np.float32)
    result = p.run({"x": value}, check=True)
    assert result.outputs[0].shape == (s, b, h) and result.outputs[1].shape == (s, b, ffn)
    want_mid = kb.reference.gelu(value @ col.weight + col.bias)
    assert np.allclose(result.outputs[1], want_mid, atol=1e-4)
    assert np.allclose(result.output, want_mid @ row.weight + row.bias, atol=1e-4)
    assert [r.shape for r in p.reference({"x": value})] == [(s, b, h), (s, b, ffn)]
    with pytest.raises(ValueError, match=r"has shape \(6, 8\), the program expects "
                                         r"\(3, 2, 8\)"):
        p.run({"x": value.reshape(6, 8)})


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_column_gather_output_gives_every_rank_the_whole_output(world_size):
    """gather_output=True: the column slices are all-gathered, so a second
    column-parallel layer (which needs its input whole) can follow, and the result
    is the unsharded x @ W1 + b1 then @ W2 + b2."""
    initialize_model_parallel(tensor_model_parallel_size=world_size)
    first = kb.ColumnParallelLinear(input_size=16, output_size=32, bias=True,
                                    gather_output=True, dtype="fp32")
    second = kb.ColumnParallelLinear(input_size=32, output_size=8, bias=True,
                                     gather_output=True, dtype="fp32")
    assert first.gather_output
    with kb.Program("p") as p:
        h, _ = first(p.input((4, 16), dtype="f32"))
        y, _ = second(h)
        p.output(y)
    assert p.to_mlir().count("kb.all_gather") == 2
    x = np.random.default_rng(2).uniform(-1, 1, (4, 16))
    result = p.run(x, check=True)
    expected = (x @ first.weight + first.bias) @ second.weight + second.bias
    assert np.allclose(result.output, expected, atol=1e-4)


def test_sequence_parallel_gives_the_same_result_and_splits_tokens(tmp_path):
    """sequence_parallel=True (a keyword or Megatron's config) turns on kb's sequence
    parallelism for the program: the row-parallel sums are reduce-scattered along the
    tokens and gathered before the next column-parallel layer; the numbers do not
    change."""
    initialize_model_parallel(tensor_model_parallel_size=4)
    results = []
    for sp in (False, True):
        up = kb.ColumnParallelLinear(input_size=16, output_size=32, bias=True,
                                     sequence_parallel=sp, dtype="fp32", seed=5)
        down = kb.RowParallelLinear(input_size=32, output_size=16, bias=True,
                                    config=Config(sequence_parallel=sp), dtype="fp32",
                                    seed=6)
        with kb.Program("p") as p:
            x = p.input((8, 16), dtype="f32")
            h, _ = up(x)
            y, _ = down(kb.gelu(h))
            p.output(kb.add(y, x))
        text = p.to_mlir()
        assert ("kb.sequence_parallel" in text) == sp
        source = tmp_path / f"sp{int(sp)}.mlir"
        source.write_text(text)
        local = kb.tools.run_tool("kb-opt", ["-kb-tp-partition", source]).stdout
        assert ("kb.reduce_scatter <sum>" in local) == sp
        assert ("kb.all_reduce" in local) != sp
        results.append(p.run(np.random.default_rng(3).uniform(-1, 1, (8, 16)),
                             check=True).output)
    assert np.allclose(results[0], results[1], atol=1e-5)

