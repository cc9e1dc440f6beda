"""Asserts that each rank of a kb-run report sends exactly the forward pass's
communication volume of a transformer layer, 4 (W - 1) / W * X bytes with
X = tokens * hidden * bytes per element (Korthikanti et al., MLSys 2023): two
all-reduces with plain tensor parallelism, two all-gathers and two
reduce-scatters with sequence parallelism.

usage: check_comm_volume.py REPORT.json TOKENS HIDDEN ELEMENT_BYTES LABEL"""
import json
import sys

report_path, tokens, hidden, element_bytes, label = sys.argv[1:6]
report = json.load(open(report_path))
w = report["world_size"]
x = int(tokens) * int(hidden) * int(element_bytes)
want = 4 * (w - 1) * x // w
assert 4 * (w - 1) * x % w == 0, (w, x)
sent = [sip["link_bytes_sent"] for sip in report["sips"]]
ops = [c["op"] for c in report["collectives"]]
if sent != [want] * w:
    sys.exit(f"{label}: link bytes sent per rank {sent}, expected {want} "
             f"(4 (W - 1) / W * X, W = {w}, X = {x}); collectives {ops}")
print(f"{label}: W = {w}, X = {x} bytes: each rank sends {want} bytes "
      f"= 4 (W - 1) / W * X over {', '.join(ops)}")
