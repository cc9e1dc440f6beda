"""Compares kb-run's outputs and reports with and without sequence parallelism.

Usage: compare_sequence_parallel.py ON_DIR OFF_DIR ON.json OFF.json
"""
import json
import sys

import numpy as np

on_dir, off_dir, on_json, off_json = sys.argv[1:5]
on = np.load(on_dir + "/result0.npy").astype(np.float64)
off = np.load(off_dir + "/result0.npy").astype(np.float64)
assert on.shape == off.shape, (on.shape, off.shape)
scale = max(np.abs(off).max(), 1e-30)
assert np.abs(on - off).max() <= 1e-2 * scale, np.abs(on - off).max() / scale
link = [json.load(open(f))["sips"][0]["link_bytes_sent"] for f in (on_json, off_json)]
assert link[0] < link[1], link
print("same result within 0.01 of the largest magnitude; link bytes per rank "
      "%d with sequence parallelism, %d without" % tuple(link))
