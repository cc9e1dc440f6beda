"""Checks the per-op table of a kb-run report and the names, categories, args and
flows of its trace.

usage: check_op_table.py REPORT TRACE WORLD [SIP,SIP,...]
The last argument is the --trace-ranks the trace was written with (default: all).
"""
import json
import sys

report = json.load(open(sys.argv[1]))
trace = json.load(open(sys.argv[2]))["traceEvents"]
world = int(sys.argv[3])
shown = {int(r) for r in sys.argv[4].split(",")} if len(sys.argv) > 4 else set(range(world))

# The table: rows with their keys, every row located at a layer and a line of
# the program, and the times summing to the device time (within 1%).
device = report["device_time_s"]
rows = report["ops"]
assert rows, "the report has no per-op table"
for row in rows:
    for key in ("op", "layer", "loc", "flops", "dma_bytes", "link_bytes", "pe_busy_s",
                "dma_busy_s", "ring_busy_s", "time_s", "share"):
        assert key in row, f"row lacks {key}: {row}"
    assert row["op"] and row["layer"] and ".mlir:" in row["loc"], row
    assert row["time_s"] >= 0 and abs(row["share"] - row["time_s"] / device) < 1e-9, row
total = sum(row["time_s"] for row in rows)
assert abs(total - device) <= 0.01 * device, (total, device)
assert abs(sum(row["share"] for row in rows) - 1) <= 0.01
assert rows == sorted(rows, key=lambda r: -r["time_s"]), "rows are not largest first"
# The work adds up to the profiled SIP's.
sip = report["sips"][report["ops_sip"]]
assert abs(sum(r["flops"] for r in rows) - sip["flops"]) <= 1e-6 * sip["flops"]
assert sum(r["dma_bytes"] for r in rows) == sip["dma_bytes"]
assert sum(r["link_bytes"] for r in rows) == sip["link_bytes_sent"]
layers = {r["layer"] for r in rows}
assert {"ColumnParallelLinear", "RowParallelLinear"} <= layers, layers
reduce_rows = [r for r in rows if "all_reduce" in r["op"]]
assert reduce_rows and all(r["layer"] == "RowParallelLinear" and r["link_bytes"] > 0
                           and r["ring_busy_s"] > 0 for r in reduce_rows), reduce_rows

# The trace: slices named "op (layer file:line)", a category and args.
slices = [e for e in trace if e["ph"] == "X"]
assert {e["pid"] for e in slices} == shown, ({e["pid"] for e in slices}, shown)
by_category = {}
for e in slices:
    args = e["args"]
    assert e["name"] == f'{args["op"]} ({args["layer"]} {args["loc"].rsplit("/", 1)[-1]})', e
    assert e["cat"] in ("compute", "dma", "collective"), e
    by_category.setdefault(e["cat"], []).append(e)
    assert args["tile"] and args["flops"] >= 0 and args["bytes"] >= 0, e
    if e["cat"] == "compute":
        assert len(args["tile"]) == 2, e
        assert args["flops"] > 0 or args["device_op"] != "matmul", e
    else:
        assert args["bytes"] > 0, e
assert set(by_category) == {"compute", "dma", "collective"}, set(by_category)

# Flows: each ring step's send from SIP r arrives at SIP r + 1, both shown.
starts = {e["id"]: e for e in trace if e["ph"] == "s"}
ends = {e["id"]: e for e in trace if e["ph"] == "f"}
assert starts.keys() == ends.keys()
expected = sum(1 for e in by_category["collective"] if (e["pid"] + 1) % world in shown)
assert len(starts) == expected and expected > 0, (len(starts), expected)
steps = {(e["pid"], e["ts"]) for e in by_category["collective"]}
for i, s in starts.items():
    f = ends[i]
    assert f["pid"] == (s["pid"] + 1) % world and f["pid"] in shown, (s, f)
    assert (s["pid"], s["ts"]) in steps and (f["pid"], f["ts"]) in steps, (s, f)
print(f"op table of {len(rows)} rows and trace of {len(slices)} slices ok")
