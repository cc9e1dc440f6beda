"""GPT-2 with tied embeddings in float64, written from the model's math
(docs/Transformer.md, "GPT-2 model"), independent of kb's own reference.

Usage:
  gpt2_reference.py inputs DIR LAYERS HIDDEN HEADS VOCAB N_CTX TOKENS SEED
      writes arg0.npy .. argN.npy in the program's argument order: ids [S] int32,
      wte [V,H], wpe [n_ctx,H], each layer's 12 block weights, ln_f_w, ln_f_b; f16
      weights drawn as GPT-2 initializes them (normal, std 0.02; LayerNorm weights
      1 + 0.02 N, biases 0.02 N; wpe std 0.01).
  gpt2_reference.py fan-in DIR LAYERS
      checks kb-run's own random inputs (--save-inputs into DIR): each layer's fused
      w_qkv and b_qkv are scaled by 1/sqrt(H), as every linear layer's weights.
  gpt2_reference.py check DIR LAYERS HEADS [RESULT]
      computes the logits from DIR's inputs and compares them with RESULT
      (DIR/result0.npy): the largest difference must be within 1e-2 of the largest
      |logit|.
"""
import math
import sys

import numpy as np


def layernorm(v, w, b, eps=1e-5):
    mean = v.mean(axis=-1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)  # biased
    return (v - mean) / np.sqrt(var + eps) * w + b


def gelu_tanh(z):
    return 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))


def causal_attention(q, k, v, heads):
    s, hidden = q.shape
    hd = hidden // heads
    out = np.empty_like(q)
    mask = np.triu(np.full((s, s), -np.inf), 1)
    for h in range(heads):
        cols = slice(h * hd, (h + 1) * hd)
        scores = q[:, cols] @ k[:, cols].T / math.sqrt(hd) + mask
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=-1, keepdims=True)
        out[:, cols] = p @ v[:, cols]
    return out


def block(x, w, heads):
    ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_fc, b_fc, w_proj, b_proj = w
    hidden = x.shape[1]
    qkv = layernorm(x, ln1_w, ln1_b) @ w_qkv + b_qkv
    q, k, v = qkv[:, :hidden], qkv[:, hidden:2 * hidden], qkv[:, 2 * hidden:]
    h = x + causal_attention(q, k, v, heads) @ w_o + b_o
    return h + gelu_tanh(layernorm(h, ln2_w, ln2_b) @ w_fc + b_fc) @ w_proj + b_proj


def gpt2(args, layers, heads):
    ids, wte, wpe = args[0], args[1], args[2]
    x = wte[ids] + wpe[: ids.shape[0]]
    for i in range(layers):
        x = block(x, args[3 + 12 * i: 3 + 12 * (i + 1)], heads)
    ln_f_w, ln_f_b = args[3 + 12 * layers], args[4 + 12 * layers]
    return layernorm(x, ln_f_w, ln_f_b) @ wte.T


def make_inputs(d, layers, hidden, heads, vocab, n_ctx, tokens, seed):
    g = np.random.default_rng(seed)
    f16 = np.float16
    normal = lambda shape, std: (std * g.standard_normal(shape)).astype(f16)
    one = lambda n: (1 + 0.02 * g.standard_normal(n)).astype(f16)
    args = [g.integers(0, vocab, tokens).astype(np.int32), normal((vocab, hidden), 0.02),
            normal((n_ctx, hidden), 0.01)]
    for _ in range(layers):
        args += [one(hidden), normal(hidden, 0.02),
                 normal((hidden, 3 * hidden), 0.02), normal(3 * hidden, 0.02),
                 normal((hidden, hidden), 0.02), normal(hidden, 0.02),
                 one(hidden), normal(hidden, 0.02),
                 normal((hidden, 4 * hidden), 0.02), normal(4 * hidden, 0.02),
                 normal((4 * hidden, hidden), 0.02), normal(hidden, 0.02)]
    args += [one(hidden), normal(hidden, 0.02)]
    for i, a in enumerate(args):
        np.save(f"{d}/arg{i}.npy", a)
    print(" ".join(f"--input {d}/arg{i}.npy" for i in range(len(args))))


def check(d, layers, heads, result):
    n = 3 + 12 * layers + 2
    args = [np.load(f"{d}/arg{i}.npy") for i in range(n)]
    args = [args[0]] + [a.astype(np.float64) for a in args[1:]]
    expected = gpt2(args, layers, heads)
    got = np.load(result).astype(np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    largest = np.abs(expected).max()
    err = np.abs(got - expected).max() / largest
    ok = err <= 1e-2
    print("gpt2 logits %s float64 reference: %dx%d, largest |logit| %.3g, max difference "
          "%.2e of it (tolerance 1e-2)" % ("match the" if ok else "DIFFER from the",
                                            got.shape[0], got.shape[1], largest, err))
    return 0 if ok else 1


if __name__ == "__main__":
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "inputs":
        make_inputs(d, *map(int, sys.argv[3:10]))
        sys.exit(0)
    if mode == "fan-in":
        for i in range(int(sys.argv[3])):
            w_qkv, b_qkv = (np.load(f"{d}/arg{5 + 12 * i + j}.npy") for j in (0, 1))
            bound = 1 / math.sqrt(w_qkv.shape[0]) * 1.001
            assert w_qkv.shape[1] == 3 * w_qkv.shape[0], w_qkv.shape
            assert np.abs(w_qkv).max() <= bound and np.abs(b_qkv).max() <= bound
        print("w_qkv and b_qkv within 1/sqrt(%d)" % w_qkv.shape[0])
        sys.exit(0)
    layers, heads = int(sys.argv[3]), int(sys.argv[4])
    result = sys.argv[5] if len(sys.argv) > 5 else f"{d}/result0.npy"
    sys.exit(check(d, layers, heads, result))
