"""The unsharded model in numpy, written independently of kb's C++, so that comparing
kb-run's outputs with it checks the whole compiler (partition, placement, tiling, the
ring all-reduce), not just the executor against itself.

Arithmetic: products accumulate in f32 and each op's result is rounded to the model's
dtype (f16 by numpy's float16, bf16 to nearest-even; see kb.dtypes). A linear layer
with a bias is two roundings, as a TP program does it: the product is rounded (on the
device it is a gemm result, for a row-parallel layer the all-reduced sum), then the bias
is added and the sum is rounded. GELU is the tanh approximation.
"""
import numpy as np

from .dtypes import round_to

SQRT_2_OVER_PI = 0.7978845608028654


def gelu(x):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in f32."""
    x = np.asarray(x, dtype=np.float32)
    return 0.5 * x * (1.0 + np.tanh(np.float32(SQRT_2_OVER_PI) *
                                    (x + np.float32(0.044715) * x * x * x)))


def run(program, inputs=None):
    """Runs `program` on `inputs` (as Program.run takes them); one array per output,
    float16 for f16 and float32 (rounded) for bf16 and f32."""
    return run_values(program, program.argument_values(inputs))


def run_values(program, argument_values):
    """Runs `program` on every argument's value, in the program's argument order."""
    values = {t: np.asarray(v, dtype=np.float32)
              for t, v in zip(program.arguments, argument_values)}

    def rounded(array, dtype):
        return round_to(array, dtype).astype(np.float32)

    for kind, operands, result in program.ops:
        xs = [values[o] for o in operands]
        if kind in ("column_parallel_linear", "row_parallel_linear"):
            y = rounded(np.matmul(xs[0], xs[1], dtype=np.float32), result.dtype)
            if len(xs) == 3:
                y = y + xs[2]
        elif kind == "gelu":
            y = gelu(xs[0])
        elif kind == "silu":
            y = silu(xs[0])
        elif kind == "scale":
            y = xs[0] * np.float32(program.attributes(result)["factor"])
        elif kind in ("all_gather", "reduce_scatter"):
            y = xs[0]  # the identity on the global view's logical value
        elif kind == "add":
            y = xs[0] + xs[1]
        elif kind == "mul":
            y = xs[0] * xs[1]
        elif kind in _TRANSFORMER_OPS:
            y = _TRANSFORMER_OPS[kind](xs, program.attributes(result))
        else:
            raise AssertionError(f"unknown op kind {kind!r}")
        values[result] = rounded(y, result.dtype)
    return [round_to(values[t], t.dtype) for t in program.outputs]


def _extract_slice(xs, attrs):
    index = tuple(slice(o, o + n) for o, n in zip(attrs["offsets"], attrs["sizes"]))
    return xs[0][index]


# The decoder-layer ops of a Program, computed in float64 by the references below from
# operands already rounded to the dtype; `run_values` rounds each result, as kb does.
_TRANSFORMER_OPS = {
    "rms_norm": lambda xs, a: rmsnorm(xs[0], xs[1], a["eps"]),
    "layer_norm": lambda xs, a: layernorm(xs[0], xs[1], xs[2], a["eps"]),
    "rope": lambda xs, a: rope(xs[0], a["head_dim"], a["offset"], a["theta"]),
    "attention": lambda xs, a: attention(xs[0], xs[1], xs[2], a["heads"], a["kv_heads"]),
    "kv_append": lambda xs, a: np.concatenate([xs[0], xs[1]]),
    "extract_slice": _extract_slice,
}


# Transformer layers, in float64 (docs/Transformer.md, the math of Hugging Face's Llama
# and GPT-2). These are the independent references the decoder-layer programs are checked
# against: no rounding to the model's dtype anywhere, so comparisons need a tolerance of
# the dtype's precision relative to the output's largest magnitude. Activations are
# [tokens, features] and weights in x out (y = x @ W), as everywhere in kb; heads sit side
# by side in the feature axis ([S, nH*hd]).

def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def rmsnorm(v, w, eps=1e-5):
    """v / sqrt(mean(v^2, last axis) + eps) * w."""
    v, w = _f64(v, w)
    return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + eps) * w


def layernorm(v, w, b, eps=1e-5):
    """(v - mean) / sqrt(var + eps) * w + b over the last axis, biased variance."""
    v, w, b = _f64(v, w, b)
    centered = v - np.mean(v, axis=-1, keepdims=True)
    variance = np.mean(centered * centered, axis=-1, keepdims=True)
    return centered / np.sqrt(variance + eps) * w + b


def silu(z):
    """z / (1 + e^-z) in float64; e^-z overflows to infinity for very negative z,
    which gives the exact limit 0."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore"):
        return z / (1.0 + np.exp(-z))


def gelu_tanh(z):
    """0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * z * (1.0 + np.tanh(SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)))


def rope(x, head_dim, position_offset=0, theta=10000.0):
    """Hugging Face's rotate_half RoPE of x [S, n*head_dim], row s at position
    position_offset + s: rot(v) = v*cos + rotate_half(v)*sin per head, with
    inv_freq[i] = theta^(-2i/head_dim) and cos, sin repeated over both halves."""
    (x,) = _f64(x)
    if head_dim % 2 or x.shape[-1] % head_dim:
        raise ValueError(f"head_dim ({head_dim}) must be even and divide {x.shape[-1]}")
    tokens, half = x.shape[0], head_dim // 2
    inv_freq = theta ** (-2.0 * np.arange(half) / head_dim)
    angle = (position_offset + np.arange(tokens, dtype=np.float64))[:, None] * inv_freq
    cos = np.concatenate([np.cos(angle)] * 2, axis=-1)[:, None, :]  # [S, 1, hd]
    sin = np.concatenate([np.sin(angle)] * 2, axis=-1)[:, None, :]
    heads = x.reshape(tokens, -1, head_dim)
    rotated = np.concatenate([-heads[..., half:], heads[..., :half]], axis=-1)
    return (heads * cos + rotated * sin).reshape(x.shape)


def attention(q, k, v, num_heads, num_kv_heads):
    """Causal grouped-query attention: q [S, nH*hd], k and v [T, nKV*hd], T >= S; query
    s sits at position T - S + s and sees keys 0..T - S + s; query head h uses KV head
    h // (nH / nKV). softmax(q_h k_g^T / sqrt(hd) + mask) v_g with the row maximum
    subtracted, heads concatenated: [S, nH*hd]."""
    q, k, v = _f64(q, k, v)
    if num_heads % num_kv_heads:
        raise ValueError(f"num_kv_heads ({num_kv_heads}) must divide num_heads ({num_heads})")
    queries, keys = q.shape[0], k.shape[0]
    if keys < queries:
        raise ValueError(f"{keys} keys cannot serve {queries} causal queries")
    head_dim = q.shape[1] // num_heads
    group = num_heads // num_kv_heads
    qh = q.reshape(queries, num_heads, head_dim)
    kh = np.repeat(k.reshape(keys, num_kv_heads, head_dim), group, axis=1)
    vh = np.repeat(v.reshape(keys, num_kv_heads, head_dim), group, axis=1)
    scores = np.einsum("shd,thd->hst", qh, kh) / np.sqrt(head_dim)
    future = np.arange(keys)[None, :] > (keys - queries + np.arange(queries))[:, None]
    scores = np.where(future[None], -np.inf, scores)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probabilities = scores / scores.sum(axis=-1, keepdims=True)
    return np.einsum("hst,thd->shd", probabilities, vh).reshape(queries, num_heads * head_dim)


def llama_decoder_layer(x, attn_norm_w, wq, wk, wv, wo, mlp_norm_w, w_gate, w_up, w_down,
                        *, num_heads, num_kv_heads, eps=1e-5, theta=10000.0,
                        return_kv=False):
    """A Llama decoder layer in prefill over x [S, H] (positions 0..S-1), arguments in
    the order of examples/llama2_7b_layer.mlir. Returns y [S, H], or with return_kv
    (y, k, v): the rotated keys and the values [S, nKV*hd], a decode step's cache."""
    empty = np.zeros((0, np.shape(wk)[1]))
    y, k, v = llama_decoder_layer_decode(
        x, attn_norm_w, wq, wk, wv, wo, mlp_norm_w, w_gate, w_up, w_down, empty, empty,
        num_heads=num_heads, num_kv_heads=num_kv_heads, eps=eps, theta=theta)
    return (y, k, v) if return_kv else y


def llama_decoder_layer_decode(x, attn_norm_w, wq, wk, wv, wo, mlp_norm_w, w_gate, w_up,
                               w_down, k_cache, v_cache, *, num_heads, num_kv_heads,
                               eps=1e-5, theta=10000.0):
    """A Llama decode step: x [1, H] is the token at position P = len(k_cache), with
    k_cache (keys already rotated) and v_cache [P, nKV*hd]; arguments in the order of
    examples/llama2_7b_decode.mlir. Returns (y [1, H], k_new, v_new [1, nKV*hd]) with
    k_new rotated at position P. Several rows of x are tokens P, P+1, ..."""
    x, k_cache, v_cache = _f64(x, k_cache, v_cache)
    wq, wk, wv, wo, w_gate, w_up, w_down = _f64(wq, wk, wv, wo, w_gate, w_up, w_down)
    head_dim = wq.shape[1] // num_heads
    position = k_cache.shape[0]
    n = rmsnorm(x, attn_norm_w, eps)
    q = rope(n @ wq, head_dim, position, theta)
    k_new = rope(n @ wk, head_dim, position, theta)
    v_new = n @ wv
    keys = np.concatenate([k_cache, k_new])
    values = np.concatenate([v_cache, v_new])
    h = x + attention(q, keys, values, num_heads, num_kv_heads) @ wo
    m = rmsnorm(h, mlp_norm_w, eps)
    y = h + (silu(m @ w_gate) * (m @ w_up)) @ w_down
    return y, k_new, v_new


def gpt2_block(x, ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_fc, b_fc, w_proj,
               b_proj, *, num_heads, eps=1e-5):
    """A GPT-2 block (pre-LayerNorm) over x [S, H], arguments in the order of
    examples/gpt2_block.mlir: the fused qkv = layernorm(x) @ w_qkv + b_qkv split as
    [q | k | v], causal multi-head attention without RoPE, h = x + attn @ w_o + b_o,
    y = h + gelu_tanh(layernorm(h) @ w_fc + b_fc) @ w_proj + b_proj."""
    x, w_qkv, b_qkv, w_o, b_o = _f64(x, w_qkv, b_qkv, w_o, b_o)
    w_fc, b_fc, w_proj, b_proj = _f64(w_fc, b_fc, w_proj, b_proj)
    hidden = x.shape[1]
    qkv = layernorm(x, ln1_w, ln1_b, eps) @ w_qkv + b_qkv
    q, k, v = qkv[:, :hidden], qkv[:, hidden:2 * hidden], qkv[:, 2 * hidden:]
    h = x + attention(q, k, v, num_heads, num_heads) @ w_o + b_o
    return h + gelu_tanh(layernorm(h, ln2_w, ln2_b, eps) @ w_fc + b_fc) @ w_proj + b_proj
