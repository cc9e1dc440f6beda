"""Checks the collectives[] of a kb-run report of along-dim-collectives.mlir.

Usage: check_along_dim_report.py REPORT.json W

Every all_gather and reduce_scatter must send, from every rank, exactly its
ring lower bound (W-1)/W of the whole tensor's bytes, and name its op and
dimension; at W = 1 there is no collective at all.
"""
import json
import sys

report, w = json.load(open(sys.argv[1])), int(sys.argv[2])
entries = report["collectives"]
if w == 1:
    assert entries == [], entries
    print("no collectives at W = 1")
    sys.exit(0)
# In program order: the two reduce-scatters of the partial sum, the two
# gathers of their gelus, and the gather of the first column layer's output.
seen = sorted((c["op"], c["dim"]) for c in entries)
expected = sorted([("reduce_scatter", 0), ("all_gather", 0),
                   ("reduce_scatter", 1), ("all_gather", 1),
                   ("all_gather", 1)])
assert seen == expected, seen
for c in entries:
    whole = 24 * 48 * 2  # f16 bytes of the tensor gathered or scattered
    bound = (w - 1) * whole / w
    assert c["bytes"] == whole, c
    assert c["lower_bound_bytes_per_rank"] == bound, (c, bound)
    assert c["bytes_sent_per_rank"] == bound, (c, bound)
    assert c["max_bytes_sent_by_a_rank"] == bound, (c, bound)
    assert c["reduce_bytes"] == (whole if c["op"] == "reduce_scatter" else 0), c
total = sum(s["link_bytes_sent"] for s in report["sips"]) / w
assert total == 5 * (w - 1) * 24 * 48 * 2 / w, total
print("%d collectives at their lower bound" % len(entries))
