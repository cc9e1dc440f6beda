"""Checks kb-run's embedding result against numpy in float64.

Usage: check_embedding.py DIR VOCAB
DIR holds arg0.npy (ids), arg1.npy (wte), arg2.npy (wpe) and result0.npy, as
kb-run --save-inputs --output-dir writes them. The result must be
wte[ids] + wpe[:S] (one f16 rounding of the sum) and every id in [0, VOCAB).
"""
import sys

import numpy as np

d, vocab = sys.argv[1], int(sys.argv[2])
ids = np.load(d + "/arg0.npy")
wte = np.load(d + "/arg1.npy").astype(np.float64)
wpe = np.load(d + "/arg2.npy").astype(np.float64)
out = np.load(d + "/result0.npy").astype(np.float64)
assert ids.dtype == np.int32, ids.dtype
assert wte.shape[0] == vocab, wte.shape
assert ids.min() >= 0 and ids.max() < vocab, (ids.min(), ids.max())
expected = wte[ids] + wpe[: ids.shape[0]]
err = np.abs(out - expected).max() / max(np.abs(expected).max(), 1e-30)
assert err <= 1e-3, err
print("embedding matches numpy: %d distinct ids of %d, relative error %.1e"
      % (len(set(ids.tolist())), vocab, err))
