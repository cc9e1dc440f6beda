"""Checks a kb-run JSON report and Chrome trace: the keys the report promises, the ring
all-reduce at its bandwidth lower bound, and a loadable trace with a track per PE."""
import json
import sys

report_path, trace_path, world = sys.argv[1], sys.argv[2], int(sys.argv[3])
report = json.load(open(report_path))
for key in ("world_size", "device", "device_ideal", "device_time_s", "sips", "collectives",
            "collective_exposed_s", "collective_exposed_share", "check"):
    assert key in report, f"report lacks {key}"
assert report["world_size"] == world
assert report["device"]["cubes"] == 4 and report["device"]["link_gbps"] == 100
assert report["device_ideal"] is True  # the small device: no latencies
assert report["device_time_s"] > 0
assert len(report["sips"]) == world
for sip in report["sips"]:
    for key in ("rank", "compute_s", "dma_s", "collective_s", "flops", "dma_bytes",
                "link_bytes_sent"):
        assert key in sip, f"sip lacks {key}"
    assert sip["flops"] > 0 and sip["compute_s"] > 0
    # Exposed: the ring time no PE of the SIP hides.
    assert sip["collective_exposed_s"] == max(0.0, sip["collective_s"] - sip["collective_hidden_s"]), sip
# The share is the last SIP's (the first that ends at the device time).
last = max(report["sips"], key=lambda s: s["end_s"])
assert report["collective_exposed_s"] == last["collective_exposed_s"]
assert report["collective_exposed_share"] == last["collective_exposed_s"] / report["device_time_s"]
assert report["collectives"], "an MLP block has an all_reduce"
for c in report["collectives"]:
    assert c["op"] == "all_reduce"
    assert c["bytes_sent_per_rank"] == c["lower_bound_bytes_per_rank"], c
    assert c["lower_bound_bytes_per_rank"] == (world - 1) * (c["reduce_bytes"] + c["bytes"]) / world, c
    assert c["max_bytes_sent_by_a_rank"] >= c["bytes_sent_per_rank"], c
check = report["check"]
assert check["passed"] is True and check["max_rel_err"] <= check["tolerance"], check

trace = json.load(open(trace_path))
events = trace["traceEvents"]
spans = [e for e in events if e["ph"] == "X"]
assert spans and all(e["dur"] >= 0 and "ts" in e for e in spans)
names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
assert any(n.startswith("cube 0 / pe") for n in names), names
assert {e["pid"] for e in spans} == set(range(world))
print("report and trace ok")
