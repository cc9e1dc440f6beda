"""Checks kb-run's tied-head logits against numpy in float64.

Usage: check_tied_head.py DIR VOCAB
       check_tied_head.py --padded-zero DIR VOCAB
DIR holds arg0.npy (ids), arg1.npy (wte [V, H]), arg2.npy (h [S, H]) and
result0.npy, as kb-run --save-inputs --output-dir writes them. The logits must
be (wte[ids] + h) · wteᵀ, [S, V], within 1e-2 of their largest magnitude (f16).
"""
import sys

import numpy as np

if sys.argv[1] == "--padded-zero":
    # Vocab-parallel logits: the padded columns past VOCAB are zero, the rest not.
    r = np.load(sys.argv[2] + "/result0.npy")
    vocab = int(sys.argv[3])
    assert not r[:, vocab:].any() and r[:, :vocab].any(), r
    print("padded logits zero: %d of %d columns" % (r.shape[1] - vocab, r.shape[1]))
    sys.exit(0)

d, vocab = sys.argv[1], int(sys.argv[2])
ids = np.load(d + "/arg0.npy")
wte = np.load(d + "/arg1.npy").astype(np.float64)
h = np.load(d + "/arg2.npy").astype(np.float64)
out = np.load(d + "/result0.npy").astype(np.float64)
assert wte.shape[0] == vocab, wte.shape
assert out.shape == (ids.shape[0], vocab), out.shape
expected = (wte[ids] + h) @ wte.T
err = np.abs(out - expected).max() / max(np.abs(expected).max(), 1e-30)
assert err <= 1e-2, err
print("tied head matches numpy: %dx%d logits, relative error %.1e"
      % (out.shape[0], vocab, err))
