"""Runs every example (*.mlir in a directory) with kb-run twice, with numbers and with
--cost-only, and compares the two reports and traces: the device time, every SIP's
figures, the collectives and the per-op table must be identical (exactly: the same
schedule on the same sizes), and so must the trace. Prints one line per example and a
summary; exits 1 on the first difference, naming it.

  compare_cost_only.py EXAMPLES_DIR KB_RUN WORK_DIR [--cost-threads N]
                       [--numeric-from DIR] [KB_RUN_ARGS...]

--cost-threads N runs the cost-only side on N host threads (--host-threads), which
simulate the ranks at once: the figures must not change with them. --numeric-from DIR
takes the numeric side from an earlier comparison's WORK_DIR instead of running it again.
"""
import glob
import json
import os
import subprocess
import sys

examples, kb_run, work = sys.argv[1], sys.argv[2], sys.argv[3]
extra = sys.argv[4:]
cost_extra = []
numeric_from = None
while extra[:1] in (["--cost-threads"], ["--numeric-from"]):
    if extra[0] == "--cost-threads":
        cost_extra = ["--host-threads", extra[1]]
    else:
        numeric_from = extra[1]
    extra = extra[2:]
# What only a numeric run has (its check) or that names the build, not the run.
IGNORED = {"check", "version"}
# Whole models take minutes per numeric run; their own tests run them.
ELSEWHERE = {"gpt2_small.mlir"}
paths = sorted(p for p in glob.glob(os.path.join(examples, "*.mlir"))
               if os.path.basename(p) not in ELSEWHERE)
if not paths:
    sys.exit(f"cost-only: no example (*.mlir) in {examples}")
os.makedirs(work, exist_ok=True)


def run(path, name, cost_only):
    report = os.path.join(work, f"{name}.{cost_only}.report.json")
    trace = os.path.join(work, f"{name}.{cost_only}.trace.json")
    if not cost_only and numeric_from:
        report = os.path.join(numeric_from, os.path.basename(report))
        trace = os.path.join(numeric_from, os.path.basename(trace))
        return json.load(open(report)), json.load(open(trace))
    cmd = [kb_run, path, "--quiet", "--report", report, "--trace", trace] + extra
    if cost_only:
        cmd += ["--cost-only"] + cost_extra
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cost-only: {' '.join(cmd)} failed:\n{done.stderr}")
    return json.load(open(report)), json.load(open(trace))


def first_difference(a, b, where=""):
    """The path of the first value that differs between two JSON values, or None."""
    if type(a) is not type(b):
        return where or "/"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key in IGNORED and not where:
                continue
            if key not in a or key not in b:
                return f"{where}/{key}"
            found = first_difference(a[key], b[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where} (length {len(a)} against {len(b)})"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where} ({a!r} against {b!r})"


for path in paths:
    name = os.path.splitext(os.path.basename(path))[0]
    numeric, numeric_trace = run(path, name, False)
    cost, cost_trace = run(path, name, True)
    if numeric["device_time_s"] <= 0:
        sys.exit(f"cost-only: {name}: the numeric run reports no device time")
    if cost["check"] is not None:
        sys.exit(f"cost-only: {name}: a cost-only report has a check")
    for what, a, b in (("report", numeric, cost), ("trace", numeric_trace, cost_trace)):
        found = first_difference(a, b)
        if found:
            sys.exit(f"cost-only: {name}: the {what}s differ at {found}")
    print(f"{name}: device time {numeric['device_time_s']!r} s, "
          f"{len(numeric_trace['traceEvents'])} trace events, identical")
print(f"cost-only: {len(paths)} examples, every report and trace identical")
