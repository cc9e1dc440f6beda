"""Checks that a local-view program kb-run compiled for the device ran as its global
view does: the same device time, the same kernels with the same times, each on the
device (time > 0, a per-op table), each checked against its own reference.

usage: compare_local_global.py LOCAL_REPORT GLOBAL_REPORT
Exits non-zero, naming the difference, when the two runs differ.
"""
import json
import sys

local = json.load(open(sys.argv[1]))
glob = json.load(open(sys.argv[2]))

for name, report, view, reference in (
        ("local", local, "local view", "the local view, run on the host"),
        ("global", glob, "global view", "the unsharded global program")):
    assert report["input_view"] == view, (name, report["input_view"])
    assert report["view"] == "lowered gemm_tile program", (name, report["view"])
    assert report["device_time_s"] > 0, (name, report["device_time_s"])
    assert report["ops"], f"the {name} report has no per-op table"
    assert report["check"] and report["check"]["passed"], (name, report["check"])
    assert report["check"]["reference"] == reference, (name, report["check"])

# The same partition compiles to the same device program: equal device times (the
# cost model is deterministic; 1e-9 allows for nothing but float printing) and the
# same kernels taking the same time (their layers and lines may be named differently:
# the local view's locations are its own file's).
t_local, t_global = local["device_time_s"], glob["device_time_s"]
assert abs(t_local - t_global) <= 1e-9 * t_global, \
    f"device time {t_local} s as local view, {t_global} s as global view"
assert local["world_size"] == glob["world_size"], (local["world_size"], glob["world_size"])


def kernels(report):
    return sorted((row["op"], round(row["time_s"] * 1e15)) for row in report["ops"])


assert kernels(local) == kernels(glob), (kernels(local), kernels(glob))
assert local["sips"] == glob["sips"], "the SIPs' figures differ"
print(f"same device program: {t_local * 1e6:.3f} us, {len(local['ops'])} kernels")
