"""Breaks the first ring of a lowered program the way a bad edit would.

usage: edit_ring.py delete|duplicate|swap|drop-all-gather IN OUT
"""
import re
import sys

mode, source, target = sys.argv[1:4]
lines = open(source).read().split("\n")
steps = [i for i, l in enumerate(lines) if "gemm_tile.reduce_scatter_step" in l]
# A ring's buffers: one, or the pieces of a tensor in several cubes.
buffer = re.search(r"> (%\w+(?:, %\w+)*) step", lines[steps[0]]).group(1)
mine = [i for i in steps if re.search(r"> %s step" % re.escape(buffer), lines[i])]
if mode == "delete":
    del lines[mine[1]]
elif mode == "duplicate":
    lines.insert(mine[1], lines[mine[1]])
elif mode == "swap":
    lines[mine[1]], lines[mine[2]] = lines[mine[2]], lines[mine[1]]
elif mode == "drop-all-gather":
    pattern = re.compile(r"gemm_tile.all_gather_step %s step" % re.escape(buffer))
    lines = [l for l in lines if not pattern.search(l)]
else:
    sys.exit("unknown mode " + mode)
open(target, "w").write("\n".join(lines))
