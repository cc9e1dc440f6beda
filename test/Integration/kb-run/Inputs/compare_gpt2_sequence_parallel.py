"""Compares GPT-2 with and without sequence parallelism: the logits, the link bytes
each rank sends (kb-run's report) and the activation bytes each rank holds in the
norms and residual adds (the [tokens, hidden] values between the projections, read
from each local-view program, kb-opt --kb-tp-partition).

Usage: compare_gpt2_sequence_parallel.py HIDDEN ON_DIR OFF_DIR ON.json OFF.json
           ON.local.mlir OFF.local.mlir
"""
import json
import re
import sys

import numpy as np

hidden = int(sys.argv[1])
on_dir, off_dir, on_json, off_json, on_local, off_local = sys.argv[2:8]
on = np.load(on_dir + "/result0.npy").astype(np.float64)
off = np.load(off_dir + "/result0.npy").astype(np.float64)
assert on.shape == off.shape, (on.shape, off.shape)
scale = max(np.abs(off).max(), 1e-30)
diff = np.abs(on - off).max() / scale
assert diff <= 1e-2, diff

link = [json.load(open(f))["sips"][0]["link_bytes_sent"] for f in (on_json, off_json)]
BYTES = {"f16": 2, "bf16": 2, "f32": 4}


def activation_bytes(path):
    total = 0
    for line in open(path):
        # A residual add (two [tokens, hidden] operands) or a norm; not a bias add.
        m = re.search(r"kb\.(add .* : tensor<(\d+)x(\d+)x(\w+)>, tensor<\d+x\d+x|"
                      r"layer_norm .* : tensor<(\d+)x(\d+)x(\w+)>)", line)
        if not m:
            continue
        rows, cols, dtype = (m.group(2, 3, 4) if m.group(2) else m.group(5, 6, 7))
        if int(cols) == hidden:
            total += int(rows) * hidden * BYTES[dtype]
    return total


act = [activation_bytes(p) for p in (on_local, off_local)]
assert act[0] < act[1], act
print("same logits within %.1e of the largest magnitude; per rank: link bytes %d with "
      "sequence parallelism, %d without; norm and residual activation bytes %d with, %d "
      "without" % (diff, link[0], link[1], act[0], act[1]))
