"""kb.RMSNorm, kb.LayerNorm, kb.ParallelAttention, kb.ParallelMLP / kb.SwiGLU,
kb.LlamaDecoderLayer and kb.GPT2Block: the IR they record (the examples' argument
orders), their runs through kb-run --check against the unsharded program at several
TP world sizes, dtypes and odd token counts, and their results against the float64
references of kb.reference; decode with a KV cache against prefill. Everything runs
down to the device program (LOWER); LOWER = False runs the same tests at the local
view, a check of the partition alone."""
import numpy as np
import pytest

import kb
from kb import reference as ref
from kb.dtypes import round_to
from kb.parallel_state import initialize_model_parallel

LOWER = True  # run(..., lower_to_device=LOWER)
# Relative to the output's largest magnitude: kb rounds each op's result to the dtype,
# the float64 references never round.
TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 4e-2}

HIDDEN, HEADS, KV_HEADS, FFN = 32, 4, 2, 48


def assert_close(got, expected, dtype, what="y"):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, what
    scale = np.max(np.abs(expected))
    error = np.max(np.abs(got - expected))
    assert error <= TOLERANCE[dtype] * scale, f"{what}: {error:.3g} of max |y| {scale:.3g}"


def llama_program(layer, tokens, dtype, cache=None, return_kv=False):
    with kb.Program("llama") as p:
        x = p.input("x", (tokens, HIDDEN), dtype=dtype)
        if cache is None:
            out = layer(x, return_kv=return_kv)
            p.output(*(out if isinstance(out, tuple) else (out,)))
        else:
            caches = [p.input(name, (cache, KV_HEADS * HIDDEN // HEADS), dtype=dtype,
                              after_parameters=True) for name in ("k_cache", "v_cache")]
            p.output(*layer(x, *caches))
    return p


def test_llama_arguments_are_the_examples():
    initialize_model_parallel(tensor_model_parallel_size=2)
    layer = kb.LlamaDecoderLayer(HIDDEN, HEADS, KV_HEADS, FFN, dtype="f32")
    weights = ["attn_norm_w", "wq", "wk", "wv", "wo", "mlp_norm_w", "w_gate", "w_up",
               "w_down"]
    prefill = llama_program(layer, 5, "f32")
    assert [t.name for t in prefill.arguments] == ["x"] + weights
    decode = llama_program(layer, 1, "f32", cache=3)
    assert [t.name for t in decode.arguments] == ["x"] + weights + ["k_cache", "v_cache"]
    assert [t.shape for t in decode.outputs] == [(1, HIDDEN), (1, 16), (1, 16)]
    text = decode.to_mlir()
    assert "kb.rope %1 head_dim 8 offset 3 : tensor<1x32xf32>" in text
    assert "kb.kv_append %k_cache, %5 : tensor<3x16xf32>, tensor<1x16xf32> -> " \
           "tensor<4x16xf32>" in text
    assert "heads 4 kv_heads 2 : (tensor<1x32xf32>, tensor<4x16xf32>, " \
           "tensor<4x16xf32>) -> tensor<1x32xf32>" in text
    # Inputs are still given in declaration order.
    values = decode.argument_values([np.zeros((1, HIDDEN)), np.ones((3, 16)),
                                     np.full((3, 16), 2.0)])
    assert values[-2].max() == 1 and values[-1].max() == 2


@pytest.mark.parametrize("world, dtype, tokens", [(1, "f32", 5), (2, "f16", 7),
                                                  (2, "bf16", 3), (2, "f32", 1)])
def test_llama_prefill(world, dtype, tokens):
    initialize_model_parallel(tensor_model_parallel_size=world)
    layer = kb.LlamaDecoderLayer(HIDDEN, HEADS, KV_HEADS, FFN, dtype=dtype, seed=world)
    p = llama_program(layer, tokens, dtype)
    x = np.random.default_rng(tokens).uniform(-1, 1, (tokens, HIDDEN))
    result = p.run({"x": x}, check=True, lower_to_device=LOWER)
    assert result.report["check"]["passed"] and result.report["world_size"] == world
    expected = ref.llama_decoder_layer(round_to(x, dtype), *layer.weights,
                                       num_heads=HEADS, num_kv_heads=KV_HEADS)
    assert_close(result.output, expected, dtype)
    assert_close(p.reference({"x": x})[0], expected, dtype, "kb.reference.run")


def test_gqa_world_size_four_llama3_theta():
    initialize_model_parallel(tensor_model_parallel_size=4)
    layer = kb.LlamaDecoderLayer(64, 8, 4, 96, theta=500000.0, eps=1e-6, dtype="f32")
    with kb.Program("gqa") as p:
        x = p.input("x", (6, 64), dtype="f32")
        p.output(layer(x))
    assert "{theta = 5.000000e+05 : f64}" in p.to_mlir()
    assert "{eps = 1.000000e-06 : f32}" in p.to_mlir()
    x_value = np.random.default_rng(2).uniform(-1, 1, (6, 64))
    got = p.run(x_value, check=True, lower_to_device=LOWER).output
    expected = ref.llama_decoder_layer(x_value, *layer.weights, num_heads=8, num_kv_heads=4,
                                       eps=1e-6, theta=500000.0)
    assert_close(got, expected, "f32")


@pytest.mark.parametrize("world, kv_heads, dtype", [(4, 2, "f32"), (4, 1, "f16"),
                                                    (8, 2, "f16")])
def test_gqa_fewer_kv_heads_than_ranks(world, kv_heads, dtype):
    """nKV < W: each KV head is replicated over W / nKV ranks (Megatron's GQA
    partition). Prefill and decode (caches in, k_new and v_new out) on the device
    with --check, against the float64 references; k_new and v_new are gathered
    from one rank per group, so their values are exactly the reference's."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    hidden, heads, ffn, cached = 64, 8, 48, 5
    head_dim = hidden // heads
    layer = kb.LlamaDecoderLayer(hidden, heads, kv_heads, ffn, dtype=dtype, seed=world)
    rng = np.random.default_rng(world + kv_heads)
    with kb.Program("gqa_prefill") as p:
        p.output(layer(p.input("x", (3, hidden), dtype=dtype)))
    x = rng.uniform(-1, 1, (3, hidden))
    result = p.run(x, check=True, lower_to_device=LOWER)
    assert result.report["check"]["passed"] and result.report["world_size"] == world
    expected = ref.llama_decoder_layer(round_to(x, dtype), *layer.weights,
                                       num_heads=heads, num_kv_heads=kv_heads)
    assert_close(result.output, expected, dtype)

    kv_cols = kv_heads * head_dim
    with kb.Program("gqa_decode") as d:
        x1 = d.input("x", (1, hidden), dtype=dtype)
        caches = [d.input(name, (cached, kv_cols), dtype=dtype, after_parameters=True)
                  for name in ("k_cache", "v_cache")]
        d.output(*layer(x1, *caches))
    inputs = [rng.uniform(-1, 1, (1, hidden)), rng.uniform(-1, 1, (cached, kv_cols)),
              rng.uniform(-1, 1, (cached, kv_cols))]
    result = d.run(inputs, check=True, lower_to_device=LOWER)
    assert result.report["check"]["passed"]
    expected = ref.llama_decoder_layer_decode(*[round_to(v, dtype) for v in inputs[:1]],
                                              *layer.weights,
                                              *[round_to(v, dtype) for v in inputs[1:]],
                                              num_heads=heads, num_kv_heads=kv_heads)
    for got, want, what in zip(result.outputs, expected, ("y", "k_new", "v_new")):
        assert_close(got, want, dtype, what)


@pytest.mark.parametrize("position, world", [(1, 2), (7, 2), (7, 4)])
def test_llama_decode_is_row_p_of_prefill(position, world):
    """The caches come from kb itself: a prefill over P tokens returns its rotated
    keys and values; decode of token P with them gives row P of a prefill over P + 1
    tokens (f16, P = 1 and a P that is no tile multiple; at W = 4 the 2 KV heads are
    each replicated over 2 ranks)."""
    initialize_model_parallel(tensor_model_parallel_size=world)
    dtype = "f16"
    layer = kb.LlamaDecoderLayer(HIDDEN, HEADS, KV_HEADS, FFN, dtype=dtype)
    tokens = round_to(np.random.default_rng(position).uniform(-1, 1,
                                                              (position + 1, HIDDEN)), dtype)
    prefix = llama_program(layer, position, dtype, return_kv=True)
    _, k_cache, v_cache = prefix.run(tokens[:position], lower_to_device=LOWER).outputs
    decode = llama_program(layer, 1, dtype, cache=position)
    y, k_new, v_new = decode.run([tokens[position:], k_cache, v_cache],
                                 lower_to_device=LOWER).outputs
    full = llama_program(layer, position + 1, dtype, return_kv=True)
    rows, keys, values = full.run(tokens, lower_to_device=LOWER).outputs
    assert_close(y, rows[position:], dtype, "decode against the prefill's row P")
    assert_close(k_new, keys[position:], dtype, "k_new")
    assert_close(v_new, values[position:], dtype, "v_new")
    expected = ref.llama_decoder_layer_decode(tokens[position:], *layer.weights, k_cache,
                                              v_cache, num_heads=HEADS,
                                              num_kv_heads=KV_HEADS)
    for got, want, what in zip((y, k_new, v_new), expected, ("y", "k_new", "v_new")):
        assert_close(got, want, dtype, what)


def test_parallel_attention_and_swiglu_alone():
    initialize_model_parallel(tensor_model_parallel_size=2)
    norm = kb.RMSNorm(HIDDEN, dtype="f32", name="norm")
    attention = kb.ParallelAttention(HIDDEN, HEADS, rope=False, bias=True, dtype="f32")
    mlp = kb.SwiGLU(HIDDEN, FFN, dtype="f32")
    with kb.Program("block") as p:
        x = p.input("x", (5, HIDDEN), dtype="f32")
        p.output(mlp(attention(norm(x))))
    assert [t.name for t in p.arguments] == ["x", "norm_w", "wq", "bq", "wk", "bk", "wv",
                                             "bv", "wo", "bo", "w_gate", "w_up", "w_down"]
    assert "kb.rope" not in p.to_mlir()
    x_value = np.random.default_rng(3).uniform(-1, 1, (5, HIDDEN))
    got = p.run(x_value, lower_to_device=LOWER).output
    n = ref.rmsnorm(x_value, norm.weight)
    a = attention
    q, k, v = (n @ np.float64(l.weight) + l.bias for l in (a.q_proj, a.k_proj, a.v_proj))
    o = ref.attention(q, k, v, HEADS, HEADS) @ np.float64(a.o_proj.weight) + a.o_proj.bias
    expected = (ref.silu(o @ mlp.gate.weight) * (o @ mlp.up.weight)) @ mlp.down.weight
    assert_close(got, expected, "f32")


def test_gelu_mlp_with_layer_norm_runs_on_the_device():
    """A LayerNorm-free GELU MLP has no decoder op: it still goes down to the device."""
    initialize_model_parallel(tensor_model_parallel_size=2)
    mlp = kb.ParallelMLP(HIDDEN, 4 * HIDDEN, activation="gelu", bias=True, dtype="f32")
    with kb.Program("mlp") as p:
        x = p.input("x", (3, HIDDEN), dtype="f32")
        p.output(mlp(x))
    x_value = np.random.default_rng(4).uniform(-1, 1, (3, HIDDEN))
    result = p.run(x_value, check=True)
    assert result.report["device_time_s"] > 0
    expected = ref.gelu_tanh(x_value @ mlp.fc.weight + mlp.fc.bias) @ mlp.proj.weight \
        + mlp.proj.bias
    assert_close(result.output, expected, "f32")


def gpt2_program(world=2, dtype="f32"):
    initialize_model_parallel(tensor_model_parallel_size=world)
    block = kb.GPT2Block(HIDDEN, HEADS, dtype=dtype)
    with kb.Program("gpt2") as p:
        x = p.input("x", (5, HIDDEN), dtype=dtype)
        p.output(block(x))
    return block, p


def test_gpt2_arguments_and_reference():
    block, p = gpt2_program()
    assert [t.name for t in p.arguments] == [
        "x", "ln1_w", "ln1_b", "w_qkv", "b_qkv", "w_o", "b_o", "ln2_w", "ln2_b", "w_fc",
        "b_fc", "w_proj", "b_proj"]
    text = p.to_mlir()
    assert ("tensor.extract_slice %w_qkv[0, 32] [32, 32] [1, 1] : tensor<32x96xf32> to "
            "tensor<32x32xf32>") in text
    assert "tensor.extract_slice %b_qkv[64] [32] [1] : tensor<96xf32> to tensor<32xf32>" in text
    x_value = np.random.default_rng(5).uniform(-1, 1, (5, HIDDEN))
    expected = ref.gpt2_block(x_value, *block.weights, num_heads=HEADS)
    assert_close(p.reference(x_value)[0], expected, "f32", "kb.reference.run")


def test_gpt2_block_runs():
    block, p = gpt2_program(world=2, dtype="f16")
    x_value = np.random.default_rng(6).uniform(-1, 1, (5, HIDDEN))
    got = p.run(x_value, check=True, lower_to_device=LOWER).output
    expected = ref.gpt2_block(round_to(x_value, "f16"), *block.weights, num_heads=HEADS)
    assert_close(got, expected, "f16")


def test_errors():
    initialize_model_parallel(tensor_model_parallel_size=4)
    with pytest.raises(ValueError, match=r"num_kv_heads \(6\) must be divisible by TP "
                                         r"world size \(4\)"):
        kb.ParallelAttention(48, 12, 6)
    with pytest.raises(ValueError, match=r"num_kv_heads \(3\) is below TP world size "
                                         r"\(4\) and must divide it"):
        kb.ParallelAttention(48, 12, 3)
    with pytest.raises(ValueError, match=r"num_heads \(6\) must be divisible by TP world "
                                         r"size \(4\)"):
        kb.ParallelAttention(48, 6)
    with pytest.raises(ValueError, match=r"hidden_size \(30\) must be divisible by "
                                         r"num_heads \(4\)"):
        kb.ParallelAttention(30, 4)
    with pytest.raises(ValueError, match=r"num_heads \(8\) must be divisible by "
                                         r"num_kv_heads \(3\)"):
        kb.ParallelAttention(48, 8, 3)
    with pytest.raises(ValueError, match="RoPE needs an even head_dim, got 5"):
        kb.ParallelAttention(20, 4)
    with pytest.raises(ValueError, match="activation must be 'gelu' or 'swiglu'"):
        kb.ParallelMLP(HIDDEN, FFN, activation="relu")
    attention = kb.ParallelAttention(HIDDEN, HEADS, dtype="f32")
    with kb.Program("bad") as p:
        x3 = p.input("x3", (2, 3, HIDDEN), dtype="f32")
        with pytest.raises(ValueError, match=r"takes \[tokens, 32\] inputs, got \(2, 3, 32\)"):
            attention(x3)
        x = p.input("x", (3, HIDDEN), dtype="f32")
        cache = p.input("cache", (4, HIDDEN), dtype="f32")
        with pytest.raises(ValueError, match="needs both k_cache and v_cache"):
            attention(x, cache)
        wrong = p.input("wrong", (4, 8), dtype="f32")
        with pytest.raises(ValueError, match=r"caches of \[P, 32\]"):
            attention(x, wrong, wrong)
        with pytest.raises(ValueError, match=r"RMSNorm\(16\) \(f32\) takes \[\.\.\., 16\]"):
            kb.RMSNorm(16, dtype="f32")(x)
