"""The float64 transformer references (kb.reference) against independent formulations:
explicit per-token, per-head loops in Python floats, RoPE as a complex rotation, and the
identities the layers must satisfy (decode of token P is row P of a prefill over P+1
tokens, GQA with repeated KV heads is MHA, causality, norm relations)."""
import cmath
import math

import numpy as np
import pytest

from kb import reference as ref


def rng(seed):
    return np.random.default_rng(seed)


# Naive formulations, one scalar at a time.

def loop_matmul(a, b):
    return [[sum(a[i][p] * b[p][j] for p in range(len(b))) for j in range(len(b[0]))]
            for i in range(len(a))]


def loop_rmsnorm(row, w, eps=1e-5):
    scale = 1 / math.sqrt(sum(v * v for v in row) / len(row) + eps)
    return [v * scale * w[i] for i, v in enumerate(row)]


def loop_layernorm(row, w, b, eps=1e-5):
    mean = sum(row) / len(row)
    var = sum((v - mean) ** 2 for v in row) / len(row)
    return [(v - mean) / math.sqrt(var + eps) * w[i] + b[i] for i, v in enumerate(row)]


def complex_rope(row, head_dim, position, theta=10000.0):
    """RoPE as multiplication of the pairs (v[i], v[i + hd/2]) by e^(i angle)."""
    half, out = head_dim // 2, list(row)
    for start in range(0, len(row), head_dim):
        for i in range(half):
            z = complex(row[start + i], row[start + i + half]) * cmath.exp(
                1j * position * theta ** (-2 * i / head_dim))
            out[start + i], out[start + i + half] = z.real, z.imag
    return out


def loop_attention(q, k, v, num_heads, num_kv_heads):
    queries, keys = len(q), len(k)
    hd = len(q[0]) // num_heads
    out = [[0.0] * len(q[0]) for _ in range(queries)]
    for h in range(num_heads):
        g = h // (num_heads // num_kv_heads)
        for i in range(queries):
            visible = keys - queries + i + 1
            scores = [sum(q[i][h * hd + d] * k[t][g * hd + d] for d in range(hd)) / math.sqrt(hd)
                      for t in range(visible)]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            total = sum(weights)
            for d in range(hd):
                out[i][h * hd + d] = sum(weights[t] / total * v[t][g * hd + d]
                                         for t in range(visible))
    return out


def loop_llama(x, weights, num_heads, num_kv_heads, k_cache=(), v_cache=()):
    norm_w, wq, wk, wv, wo, mlp_w, w_gate, w_up, w_down = weights
    hd = len(wq[0]) // num_heads
    position = len(k_cache)
    n = [loop_rmsnorm(row, norm_w) for row in x]
    q = [complex_rope(row, hd, position + s) for s, row in enumerate(loop_matmul(n, wq))]
    k_new = [complex_rope(row, hd, position + s) for s, row in enumerate(loop_matmul(n, wk))]
    v_new = loop_matmul(n, wv)
    attn = loop_attention(q, list(k_cache) + k_new, list(v_cache) + v_new, num_heads,
                          num_kv_heads)
    h = [[a + b for a, b in zip(xr, orow)] for xr, orow in zip(x, loop_matmul(attn, wo))]
    m = [loop_rmsnorm(row, mlp_w) for row in h]
    gate, up = loop_matmul(m, w_gate), loop_matmul(m, w_up)
    act = [[g / (1 + math.exp(-g)) * u for g, u in zip(gr, ur)] for gr, ur in zip(gate, up)]
    y = [[a + b for a, b in zip(hr, dr)] for hr, dr in zip(h, loop_matmul(act, w_down))]
    return y, k_new, v_new


def llama_weights(seed, hidden, num_heads, num_kv_heads, head_dim, ffn):
    g = rng(seed)
    return [1 + 0.1 * g.standard_normal(hidden),
            g.standard_normal((hidden, num_heads * head_dim)) / math.sqrt(hidden),
            g.standard_normal((hidden, num_kv_heads * head_dim)) / math.sqrt(hidden),
            g.standard_normal((hidden, num_kv_heads * head_dim)) / math.sqrt(hidden),
            g.standard_normal((num_heads * head_dim, hidden)) / math.sqrt(hidden),
            1 + 0.1 * g.standard_normal(hidden),
            g.standard_normal((hidden, ffn)) / math.sqrt(hidden),
            g.standard_normal((hidden, ffn)) / math.sqrt(hidden),
            g.standard_normal((ffn, hidden)) / math.sqrt(ffn)]


def tolist(arrays):
    return [np.asarray(a).tolist() for a in arrays]


# Norms.

def test_norms_match_loops():
    x = rng(1).standard_normal((3, 7)) * 3 + 0.5
    w, b = rng(2).standard_normal(7), rng(3).standard_normal(7)
    np.testing.assert_allclose(ref.rmsnorm(x, w), [loop_rmsnorm(r, w) for r in x.tolist()],
                               rtol=1e-12)
    np.testing.assert_allclose(ref.layernorm(x, w, b),
                               [loop_layernorm(r, w, b) for r in x.tolist()], rtol=1e-12)


def test_layernorm_of_a_centered_row_is_rmsnorm():
    x = rng(4).standard_normal((4, 9))
    x -= x.mean(axis=-1, keepdims=True)
    w = rng(5).standard_normal(9)
    np.testing.assert_allclose(ref.layernorm(x, w, np.zeros(9)), ref.rmsnorm(x, w),
                               rtol=1e-12, atol=1e-12)


def test_layernorm_ignores_a_shift_and_rmsnorm_a_scale():
    x = rng(6).standard_normal((2, 11))
    w, b = rng(7).standard_normal(11), rng(8).standard_normal(11)
    np.testing.assert_allclose(ref.layernorm(x + 40.0, w, b), ref.layernorm(x, w, b),
                               atol=1e-10)
    # eps = 0 makes rmsnorm exactly scale-invariant; with eps it is nearly so.
    np.testing.assert_allclose(ref.rmsnorm(7.0 * x, w, eps=0), ref.rmsnorm(x, w, eps=0),
                               rtol=1e-12)
    assert not np.allclose(ref.rmsnorm(x + 1.0, w), ref.rmsnorm(x, w))


# RoPE.

@pytest.mark.parametrize("position", [0, 1, 7, 4095])
@pytest.mark.parametrize("theta", [10000.0, 500000.0])
def test_rope_is_a_complex_rotation(position, theta):
    x = rng(9).standard_normal((3, 24))
    got = ref.rope(x, 8, position, theta)
    expected = [complex_rope(row, 8, position + s, theta) for s, row in enumerate(x.tolist())]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_rope_scores_depend_only_on_relative_position():
    q, k = rng(10).standard_normal((1, 16)), rng(11).standard_normal((1, 16))

    def score(m, n):
        return float(ref.rope(q, 16, m) @ ref.rope(k, 16, n).T)
    assert score(5, 2) == pytest.approx(score(103, 100), rel=1e-9)
    assert score(5, 2) != pytest.approx(score(5, 3), rel=1e-3)


def test_rope_rejects_an_odd_head_dim():
    with pytest.raises(ValueError, match="head_dim"):
        ref.rope(np.zeros((1, 6)), 3)


# Attention.

@pytest.mark.parametrize("queries,keys,num_heads,num_kv_heads,head_dim", [
    (1, 1, 1, 1, 2), (5, 5, 4, 2, 3), (7, 7, 6, 1, 4), (1, 9, 4, 4, 5), (3, 8, 6, 3, 2)])
def test_attention_matches_per_head_loops(queries, keys, num_heads, num_kv_heads, head_dim):
    g = rng(queries * 100 + keys)
    q = g.standard_normal((queries, num_heads * head_dim)) * 2
    k = g.standard_normal((keys, num_kv_heads * head_dim)) * 2
    v = g.standard_normal((keys, num_kv_heads * head_dim))
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads, num_kv_heads),
                               loop_attention(*tolist([q, k, v]), num_heads, num_kv_heads),
                               rtol=1e-10, atol=1e-12)


def test_attention_is_stable_for_large_scores():
    q = np.full((2, 4), 400.0)
    k = np.array([[1.0] * 4, [2.0] * 4])
    out = ref.attention(q, k, np.array([[1.0] * 4, [3.0] * 4]), 1, 1)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [[1.0] * 4, [3.0] * 4])  # query 0 sees key 0 only


def test_gqa_with_repeated_kv_heads_is_mha():
    g = rng(12)
    num_heads, num_kv_heads, hd = 6, 2, 4
    q = g.standard_normal((5, num_heads * hd))
    k = g.standard_normal((5, num_kv_heads * hd))
    v = g.standard_normal((5, num_kv_heads * hd))

    def repeat(t):  # each KV head copied for the query heads of its group
        return np.repeat(t.reshape(5, num_kv_heads, hd), num_heads // num_kv_heads,
                         axis=1).reshape(5, -1)
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads, num_kv_heads),
                               ref.attention(q, repeat(k), repeat(v), num_heads, num_heads),
                               rtol=1e-12)


# Layers.

def test_llama_prefill_matches_loops():
    weights = llama_weights(13, hidden=16, num_heads=4, num_kv_heads=2, head_dim=4, ffn=10)
    x = rng(14).standard_normal((5, 16))
    y, k, v = ref.llama_decoder_layer(x, *weights, num_heads=4, num_kv_heads=2,
                                      return_kv=True)
    ly, lk, lv = loop_llama(x.tolist(), tolist(weights), 4, 2)
    np.testing.assert_allclose(y, ly, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(k, lk, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(v, lv, rtol=1e-9, atol=1e-12)
    assert np.array_equal(ref.llama_decoder_layer(x, *weights, num_heads=4, num_kv_heads=2), y)


def test_llama_decode_matches_loops():
    weights = llama_weights(15, hidden=16, num_heads=4, num_kv_heads=1, head_dim=4, ffn=6)
    g = rng(16)
    x, k_cache, v_cache = g.standard_normal((1, 16)), g.standard_normal((3, 4)), \
        g.standard_normal((3, 4))
    got = ref.llama_decoder_layer_decode(x, *weights, k_cache, v_cache, num_heads=4,
                                         num_kv_heads=1)
    expected = loop_llama(x.tolist(), tolist(weights), 4, 1, k_cache.tolist(),
                          v_cache.tolist())
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("position", [1, 5, 16])
@pytest.mark.parametrize("num_kv_heads", [4, 2])
def test_decode_of_token_p_is_row_p_of_a_prefill(position, num_kv_heads):
    weights = llama_weights(17, hidden=32, num_heads=4, num_kv_heads=num_kv_heads,
                            head_dim=8, ffn=24)
    x = rng(18).standard_normal((position + 1, 32))
    y, k, v = ref.llama_decoder_layer(x, *weights, num_heads=4, num_kv_heads=num_kv_heads,
                                      return_kv=True)
    _, k_cache, v_cache = ref.llama_decoder_layer(
        x[:position], *weights, num_heads=4, num_kv_heads=num_kv_heads, return_kv=True)
    y_p, k_p, v_p = ref.llama_decoder_layer_decode(
        x[position:], *weights, k_cache, v_cache, num_heads=4, num_kv_heads=num_kv_heads)
    np.testing.assert_allclose(y_p, y[position:], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k_p, k[position:], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(v_p, v[position:], rtol=1e-12, atol=1e-12)


def gpt2_weights(seed, hidden):
    g = rng(seed)

    def n(*shape):
        return g.standard_normal(shape) / math.sqrt(shape[0])
    return [1 + 0.1 * g.standard_normal(hidden), 0.1 * g.standard_normal(hidden),
            n(hidden, 3 * hidden), 0.1 * g.standard_normal(3 * hidden),
            n(hidden, hidden), 0.1 * g.standard_normal(hidden),
            1 + 0.1 * g.standard_normal(hidden), 0.1 * g.standard_normal(hidden),
            n(hidden, 4 * hidden), 0.1 * g.standard_normal(4 * hidden),
            n(4 * hidden, hidden), 0.1 * g.standard_normal(hidden)]


def loop_gpt2(x, weights, num_heads):
    ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_fc, b_fc, w_proj, b_proj = weights
    hidden = len(x[0])

    def linear(a, w, b):
        return [[v + b[j] for j, v in enumerate(row)] for row in loop_matmul(a, w)]
    qkv = linear([loop_layernorm(r, ln1_w, ln1_b) for r in x], w_qkv, b_qkv)
    q = [r[:hidden] for r in qkv]
    k = [r[hidden:2 * hidden] for r in qkv]
    v = [r[2 * hidden:] for r in qkv]
    attn = linear(loop_attention(q, k, v, num_heads, num_heads), w_o, b_o)
    h = [[a + b for a, b in zip(xr, ar)] for xr, ar in zip(x, attn)]

    def gelu(z):
        return 0.5 * z * (1 + math.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    fc = linear([loop_layernorm(r, ln2_w, ln2_b) for r in h], w_fc, b_fc)
    proj = linear([[gelu(z) for z in r] for r in fc], w_proj, b_proj)
    return [[a + b for a, b in zip(hr, pr)] for hr, pr in zip(h, proj)]


def test_gpt2_block_matches_loops():
    weights = gpt2_weights(19, hidden=12)
    x = rng(20).standard_normal((4, 12))
    np.testing.assert_allclose(ref.gpt2_block(x, *weights, num_heads=3),
                               loop_gpt2(x.tolist(), tolist(weights), 3), rtol=1e-9,
                               atol=1e-12)


def test_gpt2_block_is_causal():
    weights = gpt2_weights(21, hidden=16)
    x = rng(22).standard_normal((6, 16))
    y = ref.gpt2_block(x, *weights, num_heads=4)
    for s in range(6):
        np.testing.assert_allclose(ref.gpt2_block(x[:s + 1], *weights, num_heads=4)[-1],
                                   y[s], rtol=1e-12, atol=1e-12)
    # Changing a later token changes nothing before it.
    x2 = x.copy()
    x2[4] += 1.0
    y2 = ref.gpt2_block(x2, *weights, num_heads=4)
    np.testing.assert_array_equal(y2[:4], y[:4])
    assert not np.allclose(y2[4], y[4])
