"""Checks kb-run's attention block result against numpy in float64.

Usage: check_attention_block.py DIR HEADS KV_HEADS TOLERANCE
DIR holds arg0..arg5.npy (x, ctx, wq, wk, wv, wo) and result0.npy, as kb-run
--save-inputs --output-dir writes them for Inputs/attention_block_template.mlir.
The result must be softmax(q_h k_g^T / sqrt(d) + causal mask) v_g, projected
by wo, with q = x wq, k = ctx wk, v = ctx wv (query i of S at position
T - S + i, head h on KV head h // (HEADS // KV_HEADS)), all in float64, to a
relative error (against the result's largest magnitude) of TOLERANCE.
"""
import sys

import numpy as np

d, heads, kv_heads, tol = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
x, ctx, wq, wk, wv, wo = (np.load("%s/arg%d.npy" % (d, i)).astype(np.float64) for i in range(6))
out = np.load(d + "/result0.npy").astype(np.float64)
q, k, v = x @ wq, ctx @ wk, ctx @ wv
S, T = q.shape[0], k.shape[0]
hd = q.shape[1] // heads
group = heads // kv_heads
a = np.zeros_like(q)
mask = np.arange(T)[None, :] <= (T - S + np.arange(S))[:, None]
for h in range(heads):
    g = h // group
    s = q[:, h * hd:(h + 1) * hd] @ k[:, g * hd:(g + 1) * hd].T / np.sqrt(hd)
    s = np.where(mask, s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    a[:, h * hd:(h + 1) * hd] = p @ v[:, g * hd:(g + 1) * hd]
expected = a @ wo
assert out.shape == expected.shape, (out.shape, expected.shape)
err = np.abs(out - expected).max() / max(np.abs(expected).max(), 1e-30)
if not err <= tol:
    sys.exit("attention block differs from numpy: relative error %.2e > %.0e" % (err, tol))
print("attention block matches numpy: %d x %d keys, relative error below %.0e" % (S, T, tol))
