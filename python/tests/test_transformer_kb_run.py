"""The decoder-layer ops executed by kb-run's reference interpreter (the unsharded kb
ops on whole tensors) against the float64 references of kb.reference.

The programs here are written as local-view (kb.spmd) programs at world size 1, which
kb-run runs op by op on the same interpreter that `kb-run --check` uses for the global
view; the partitioned programs at larger W are tested through kb.transformer
(test_transformer_layers.py) and the examples (test_transformer_examples.py)."""
import math
import os

import numpy as np
import pytest

from kb import reference as ref
from kb.dtypes import round_to
from kb.tools import run_tool

# Largest error allowed, relative to the output's largest magnitude: about five times the
# error measured on these programs. kb rounds every op's result to the dtype, the
# references never round.
TOLERANCE = {"f32": 2e-6, "f16": 3e-3, "bf16": 2e-2}


def module(name, args, results, body):
    signature = ", ".join(f"%{n}: {t}" for n, t in args)
    return (f"module attributes {{kb.spmd, kb.world_size = 1 : i64}} {{\n"
            f"  func.func @{name}({signature}) -> ({', '.join(results)}) {{\n"
            + "".join(f"    {line}\n" for line in body) + "  }\n}\n")


def run_kb(tmp_path, text, values):
    path = tmp_path / "program.mlir"
    path.write_text(text)
    args = [path, "--output-dir", tmp_path, "--quiet"]
    for i, value in enumerate(values):
        np.save(tmp_path / f"arg{i}.npy", value)
        args += ["--input", tmp_path / f"arg{i}.npy"]
    run_tool("kb-run", args)
    outputs, i = [], 0
    while os.path.exists(tmp_path / f"result{i}.npy"):
        outputs.append(np.load(tmp_path / f"result{i}.npy").astype(np.float64))
        i += 1
    return outputs


def assert_close(got, expected, dtype):
    scale = np.max(np.abs(expected))
    error = np.max(np.abs(got - expected))
    assert got.shape == expected.shape
    assert error <= TOLERANCE[dtype] * scale, f"error {error:.3g} of max |y| {scale:.3g}"


HIDDEN, HEADS, KV_HEADS, HEAD_DIM = 48, 6, 2, 8


def attention_weights(dtype, seed):
    g = np.random.default_rng(seed)

    def w(*shape):
        return round_to(g.uniform(-1, 1, shape) * math.sqrt(3 / shape[0]), dtype)
    return [round_to(1 + 0.2 * g.uniform(-1, 1, HIDDEN), dtype),
            w(HIDDEN, HEADS * HEAD_DIM), w(HIDDEN, KV_HEADS * HEAD_DIM),
            w(HIDDEN, KV_HEADS * HEAD_DIM), w(HEADS * HEAD_DIM, HIDDEN)]


def llama_attention_block(x, norm_w, wq, wk, wv, wo, k_cache, v_cache):
    """h = x + attention(rope(n wq), rope(n wk), n wv) wo with n = rmsnorm(x), x at
    positions len(k_cache)...; also the new rows' rotated k and v."""
    position = len(k_cache)
    n = ref.rmsnorm(x, norm_w)
    q = ref.rope(n @ np.float64(wq), HEAD_DIM, position)
    k = ref.rope(n @ np.float64(wk), HEAD_DIM, position)
    v = n @ np.float64(wv)
    attn = ref.attention(q, np.concatenate([k_cache, k]), np.concatenate([v_cache, v]),
                         HEADS, KV_HEADS)
    return x + attn @ np.float64(wo), k, v


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("tokens", [1, 5])
def test_llama_attention_prefill(tmp_path, dtype, tokens):
    t = lambda *s: f"tensor<{'x'.join(map(str, s))}x{dtype}>"  # noqa: E731
    qc, kc = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    text = module("prefill", [("x", t(tokens, HIDDEN)), ("nw", t(HIDDEN)),
                              ("wq", t(HIDDEN, qc)), ("wk", t(HIDDEN, kc)),
                              ("wv", t(HIDDEN, kc)), ("wo", t(qc, HIDDEN))],
                  [t(tokens, HIDDEN)], [
        f"%n = kb.rms_norm %x, %nw : {t(tokens, HIDDEN)}, {t(HIDDEN)}",
        f"%q0 = kb.matmul %n, %wq : ({t(tokens, HIDDEN)}, {t(HIDDEN, qc)}) -> {t(tokens, qc)}",
        f"%k0 = kb.matmul %n, %wk : ({t(tokens, HIDDEN)}, {t(HIDDEN, kc)}) -> {t(tokens, kc)}",
        f"%v = kb.matmul %n, %wv : ({t(tokens, HIDDEN)}, {t(HIDDEN, kc)}) -> {t(tokens, kc)}",
        f"%q = kb.rope %q0 head_dim {HEAD_DIM} : {t(tokens, qc)}",
        f"%k = kb.rope %k0 head_dim {HEAD_DIM} : {t(tokens, kc)}",
        f"%a = kb.attention %q, %k, %v heads {HEADS} kv_heads {KV_HEADS} : "
        f"({t(tokens, qc)}, {t(tokens, kc)}, {t(tokens, kc)}) -> {t(tokens, qc)}",
        f"%o = kb.matmul %a, %wo : ({t(tokens, qc)}, {t(qc, HIDDEN)}) -> {t(tokens, HIDDEN)}",
        f"%h = kb.add %x, %o : {t(tokens, HIDDEN)}, {t(tokens, HIDDEN)}",
        f"return %h : {t(tokens, HIDDEN)}"])
    x = round_to(np.random.default_rng(1).uniform(-1, 1, (tokens, HIDDEN)), dtype)
    weights = attention_weights(dtype, 2)
    (got,) = run_kb(tmp_path, text, [x] + weights)
    empty = np.zeros((0, KV_HEADS * HEAD_DIM))
    expected, _, _ = llama_attention_block(np.float64(x), *weights, empty, empty)
    assert_close(got, expected, dtype)


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("position", [1, 7])
def test_llama_attention_decode(tmp_path, dtype, position):
    t = lambda *s: f"tensor<{'x'.join(map(str, s))}x{dtype}>"  # noqa: E731
    qc, kc, p = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM, position
    text = module("decode", [("x", t(1, HIDDEN)), ("nw", t(HIDDEN)),
                             ("wq", t(HIDDEN, qc)), ("wk", t(HIDDEN, kc)),
                             ("wv", t(HIDDEN, kc)), ("wo", t(qc, HIDDEN)),
                             ("k_cache", t(p, kc)), ("v_cache", t(p, kc))],
                  [t(1, HIDDEN), t(1, kc), t(1, kc)], [
        f"%n = kb.rms_norm %x, %nw : {t(1, HIDDEN)}, {t(HIDDEN)}",
        f"%q0 = kb.matmul %n, %wq : ({t(1, HIDDEN)}, {t(HIDDEN, qc)}) -> {t(1, qc)}",
        f"%k0 = kb.matmul %n, %wk : ({t(1, HIDDEN)}, {t(HIDDEN, kc)}) -> {t(1, kc)}",
        f"%v = kb.matmul %n, %wv : ({t(1, HIDDEN)}, {t(HIDDEN, kc)}) -> {t(1, kc)}",
        f"%q = kb.rope %q0 head_dim {HEAD_DIM} offset {p} : {t(1, qc)}",
        f"%k = kb.rope %k0 head_dim {HEAD_DIM} offset {p} : {t(1, kc)}",
        f"%ks = kb.kv_append %k_cache, %k : {t(p, kc)}, {t(1, kc)} -> {t(p + 1, kc)}",
        f"%vs = kb.kv_append %v_cache, %v : {t(p, kc)}, {t(1, kc)} -> {t(p + 1, kc)}",
        f"%a = kb.attention %q, %ks, %vs heads {HEADS} kv_heads {KV_HEADS} : "
        f"({t(1, qc)}, {t(p + 1, kc)}, {t(p + 1, kc)}) -> {t(1, qc)}",
        f"%o = kb.matmul %a, %wo : ({t(1, qc)}, {t(qc, HIDDEN)}) -> {t(1, HIDDEN)}",
        f"%h = kb.add %x, %o : {t(1, HIDDEN)}, {t(1, HIDDEN)}",
        f"return %h, %k, %v : {t(1, HIDDEN)}, {t(1, kc)}, {t(1, kc)}"])
    g = np.random.default_rng(3)
    x = round_to(g.uniform(-1, 1, (1, HIDDEN)), dtype)
    k_cache = round_to(g.uniform(-1, 1, (p, kc)), dtype)
    v_cache = round_to(g.uniform(-1, 1, (p, kc)), dtype)
    weights = attention_weights(dtype, 4)
    got = run_kb(tmp_path, text, [x] + weights + [k_cache, v_cache])
    expected = llama_attention_block(np.float64(x), *weights, np.float64(k_cache),
                                     np.float64(v_cache))
    assert len(got) == 3
    for a, b in zip(got, expected):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_gpt2_attention_with_layer_norm(tmp_path, dtype):
    """GPT-2's attention half with q, k, v weights apart (the fused w_qkv is their
    concatenation): h = x + attention(ln(x) wq + bq, ...) wo + bo, 4 heads, no RoPE."""
    t = lambda *s: f"tensor<{'x'.join(map(str, s))}x{dtype}>"  # noqa: E731
    s, hid = 7, 32
    args = [("x", t(s, hid)), ("lw", t(hid)), ("lb", t(hid))]
    for name in "qkv":
        args += [(f"w{name}", t(hid, hid)), (f"b{name}", t(hid))]
    args += [("wo", t(hid, hid)), ("bo", t(hid))]
    body = [f"%n = kb.layer_norm %x, %lw, %lb : {t(s, hid)}, {t(hid)}, {t(hid)}"]
    for name in "qkv":
        body += [f"%{name}0 = kb.matmul %n, %w{name} : ({t(s, hid)}, {t(hid, hid)}) -> "
                 f"{t(s, hid)}",
                 f"%{name} = kb.add %{name}0, %b{name} : {t(s, hid)}, {t(hid)}"]
    body += [f"%a = kb.attention %q, %k, %v heads 4 kv_heads 4 : "
             f"({t(s, hid)}, {t(s, hid)}, {t(s, hid)}) -> {t(s, hid)}",
             f"%o0 = kb.matmul %a, %wo : ({t(s, hid)}, {t(hid, hid)}) -> {t(s, hid)}",
             f"%o = kb.add %o0, %bo : {t(s, hid)}, {t(hid)}",
             f"%h = kb.add %x, %o : {t(s, hid)}, {t(s, hid)}",
             f"return %h : {t(s, hid)}"]
    g = np.random.default_rng(5)
    values = [round_to(g.uniform(-1, 1, (s, hid)) * 3 + 1, dtype),
              round_to(1 + 0.2 * g.uniform(-1, 1, hid), dtype),
              round_to(0.2 * g.uniform(-1, 1, hid), dtype)]
    for _ in range(4):
        values += [round_to(g.uniform(-1, 1, (hid, hid)) * math.sqrt(3 / hid), dtype),
                   round_to(0.2 * g.uniform(-1, 1, hid), dtype)]
    (got,) = run_kb(tmp_path, module("gpt2_attention", args, [t(s, hid)], body), values)
    x, lw, lb, wq, bq, wk, bk, wv, bv, wo, bo = [np.float64(v) for v in values]
    n = ref.layernorm(x, lw, lb)
    expected = x + ref.attention(n @ wq + bq, n @ wk + bk, n @ wv + bv, 4, 4) @ wo + bo
    assert_close(got, expected, dtype)
