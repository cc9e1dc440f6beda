"""The decoder-layer examples (examples/llama2_7b_layer.mlir, llama2_7b_decode.mlir,
llama3_gqa_layer.mlir, gpt2_block.mlir), given inputs in their documented argument
order as .npy, match the float64 references of kb.reference within 1e-2 of the
output's largest magnitude (f16); and decode of token P equals row P of a prefill
over P + 1 tokens.

They run down to the device program (RUN_MODE "device"; "local" runs the partition
alone: kb-tp-partition, then kb-run with --reference and --check). Weights are scaled
by 1/sqrt(fan_in) so that f16 does not overflow."""
import os
import re

import numpy as np
import pytest

from kb import reference as ref
from kb.dtypes import round_to
from kb.tools import run_tool

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
TOLERANCE = 1e-2  # f16, relative to the output's largest magnitude
# "local": kb-tp-partition + kb-run --reference (the device lowering of the decoder ops
# is not in kb yet); "device": kb-run on the global view (the whole pipeline).
RUN_MODE = "device"

H, F, HEADS, HEAD_DIM = 4096, 11008, 32, 128


def run_example(tmp_path, text, values, name="example"):
    """Runs the global-view program `text` on `values` (its arguments, in order) with
    --check; returns its results as float64 arrays."""
    source = tmp_path / f"{name}.mlir"
    source.write_text(text)
    args = []
    if RUN_MODE == "local":
        local = tmp_path / f"{name}.local.mlir"
        run_tool("kb-opt", ["--kb-tp-partition", source, "-o", local])
        args += [local, "--reference", source]
    else:
        args += [source]
    out = tmp_path / f"{name}.results"
    out.mkdir()
    args += ["--check", "--quiet", "--output-dir", out]
    for i, value in enumerate(values):
        path = tmp_path / f"{name}.arg{i}.npy"
        np.save(path, value)
        args += ["--input", path]
    run_tool("kb-run", args)
    results = sorted(out.glob("result*.npy"), key=lambda p: int(p.stem[6:]))
    return [np.load(p).astype(np.float64) for p in results]


def read(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return f.read()


def weight(rng, rows, cols):
    """Uniform with std 1/sqrt(3 rows): activations keep their scale through a product."""
    return round_to(rng.uniform(-1, 1, (rows, cols)) / np.sqrt(rows), "f16")


def vector(rng, n, around):
    return round_to(around + 0.1 * rng.uniform(-1, 1, n), "f16")


def llama_weights(rng, kv_heads, ffn):
    kv = kv_heads * HEAD_DIM
    return [vector(rng, H, 1), weight(rng, H, H), weight(rng, H, kv), weight(rng, H, kv),
            weight(rng, H, H), vector(rng, H, 1), weight(rng, H, ffn), weight(rng, H, ffn),
            weight(rng, ffn, H)]


def assert_close(got, expected, what):
    assert got.shape == expected.shape, what
    assert np.all(np.isfinite(got)), f"{what}: not finite"
    scale = np.max(np.abs(expected))
    error = np.max(np.abs(got - expected))
    assert error <= TOLERANCE * scale, f"{what}: error {error:.3g} of max |y| {scale:.3g}"


def f64(values):
    return [np.asarray(v, np.float64) for v in values]


def test_llama2_7b_layer(tmp_path):
    rng = np.random.default_rng(11)
    x = round_to(rng.uniform(-1, 1, (16, H)), "f16")
    weights = llama_weights(rng, HEADS, F)
    (y,) = run_example(tmp_path, read("llama2_7b_layer.mlir"), [x] + weights)
    expected = ref.llama_decoder_layer(*f64([x] + weights), num_heads=HEADS,
                                       num_kv_heads=HEADS)
    assert_close(y, expected, "y")


def test_llama3_gqa_layer(tmp_path):
    rng = np.random.default_rng(12)
    x = round_to(rng.uniform(-1, 1, (16, H)), "f16")
    weights = llama_weights(rng, 8, 14336)
    (y,) = run_example(tmp_path, read("llama3_gqa_layer.mlir"), [x] + weights)
    expected = ref.llama_decoder_layer(*f64([x] + weights), num_heads=HEADS,
                                       num_kv_heads=8, theta=500000.0)
    assert_close(y, expected, "y")
    # Llama-3's theta matters: the default theta's layer is measurably different.
    default_theta = ref.llama_decoder_layer(*f64([x] + weights), num_heads=HEADS,
                                            num_kv_heads=8)
    assert np.max(np.abs(default_theta - expected)) > TOLERANCE * np.max(np.abs(expected))


def test_llama2_7b_decode_is_row_p_of_prefill(tmp_path):
    """The decode example at P = 64: its y, k_new and v_new match the reference, and y
    equals row 64 of kb's own prefill over 65 tokens (the layer example at S = 65),
    with the cache holding the prefill's rotated keys and values of tokens 0..63."""
    rng = np.random.default_rng(13)
    tokens = round_to(rng.uniform(-1, 1, (65, H)), "f16")
    weights = llama_weights(rng, HEADS, F)
    _, k, v = ref.llama_decoder_layer(*f64([tokens] + weights), num_heads=HEADS,
                                      num_kv_heads=HEADS, return_kv=True)
    k_cache, v_cache = round_to(k[:64], "f16"), round_to(v[:64], "f16")
    x = tokens[64:]
    y, k_new, v_new = run_example(tmp_path, read("llama2_7b_decode.mlir"),
                                  [x] + weights + [k_cache, v_cache], "decode")
    expected = ref.llama_decoder_layer_decode(*f64([x] + weights + [k_cache, v_cache]),
                                              num_heads=HEADS, num_kv_heads=HEADS)
    for got, want, what in zip((y, k_new, v_new), expected, ("y", "k_new", "v_new")):
        assert_close(got, want, what)
    assert_close(k_new, k[64:], "k_new against the prefill's key of token 64")
    prefill = re.sub(r"tensor<16x", "tensor<65x", read("llama2_7b_layer.mlir"))
    (rows,) = run_example(tmp_path, prefill, [tokens] + weights, "prefill")
    assert_close(y, rows[64:], "decode of token 64 against row 64 of the prefill")


def test_gpt2_block(tmp_path):
    rng = np.random.default_rng(14)
    h = 768
    x = round_to(rng.uniform(-1, 1, (16, h)), "f16")
    values = [x, vector(rng, h, 1), vector(rng, h, 0), weight(rng, h, 3 * h),
              vector(rng, 3 * h, 0), weight(rng, h, h), vector(rng, h, 0),
              vector(rng, h, 1), vector(rng, h, 0), weight(rng, h, 4 * h),
              vector(rng, 4 * h, 0), weight(rng, 4 * h, h), vector(rng, h, 0)]
    (y,) = run_example(tmp_path, read("gpt2_block.mlir"), values)
    assert_close(y, ref.gpt2_block(*f64(values), num_heads=12), "y")
