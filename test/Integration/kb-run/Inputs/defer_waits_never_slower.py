"""Lowers every example (*.mlir in a directory) for each device with kb-opt's kb-pipeline,
with gemm-tile-defer-waits and without (defer-waits=false), runs both with kb-run
--cost-only and checks that the pass made none slower (it only moves waits later,
docs/design/0021-deferred-copy-waits.md). Prints one line per example and device with
both device times and a summary; exits 1 on the first example it made slower.

  defer_waits_never_slower.py EXAMPLES_DIR KB_OPT KB_RUN WORK_DIR DEVICE...
"""
import glob
import json
import os
import subprocess
import sys

examples, kb_opt, kb_run, work = sys.argv[1:5]
devices = sys.argv[5:]
paths = sorted(glob.glob(os.path.join(examples, "*.mlir")))
if not paths or not devices:
    sys.exit(f"defer-waits: no example (*.mlir) in {examples} or no device")
os.makedirs(work, exist_ok=True)


def device_time(path, device, defer):
    lowered = os.path.join(work, f"{os.path.basename(path)}.{device}.{defer}.mlir")
    subprocess.run([kb_opt, path, f"--kb-device={device}",
                    f"--kb-pipeline=defer-waits={defer}", "-o", lowered], check=True)
    report = lowered + ".report.json"
    subprocess.run([kb_run, lowered, "--cost-only", "--quiet", "--report", report],
                   check=True)
    # The report's seconds, exactly: not the three decimals kb-run prints.
    with open(report) as f:
        return json.load(f)["device_time_s"]


faster = 0
for path in paths:
    for device in devices:
        off = device_time(path, device, "false")
        on = device_time(path, device, "true")
        print(f"{os.path.basename(path)} {device}: {off * 1e6:.3f} -> {on * 1e6:.3f} us")
        if on > off:
            sys.exit(f"defer-waits: {os.path.basename(path)} on {device} got slower")
        faster += on < off
print(f"defer-waits: {len(paths) * len(devices)} runs, none slower, {faster} faster")
