#!/usr/bin/env python3
"""kb-run's cost against the size of the device description: the smallest example
(examples/mlp_small_f32.mlir, W = 4, M 8, H 16, F 64) on devices of C cubes x P PEs
per SIP, compiled and run whole (kb-run compiles the global view), with numbers and
with --cost-only. The work of the program hardly grows with the device (8 rows share
out over at most 8 PEs a cube), so neither should kb-run's time or memory.
Prints wall and CPU seconds and peak RSS per device and their ratios to the default
device's (on a shared, loaded machine the CPU seconds are the steadier figure);
target: 4096 x 4096 in <= 2 s.

  device_scaling.py [--smoke] [--repeat N]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH

KB_RUN = kbtools.tool("kb-run")
EXAMPLE = os.path.join(kbtools.ROOT, "examples", "mlp_small_f32.mlir")

# One command in a fresh process: its wall seconds and peak RSS (RUSAGE_CHILDREN
# keeps the largest child's peak, so one child per measuring process).
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
"""


def measure(cmd, repeat):
    """Median wall and CPU seconds (user + system) and the largest peak RSS."""
    walls, cpus, peaks = [], [], []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", MEASURE] + cmd, check=True,
                              capture_output=True, text=True)
        wall, cpu, peak = done.stdout.split()
        walls.append(float(wall))
        cpus.append(float(cpu))
        peaks.append(int(peak))
    return statistics.median(walls), statistics.median(cpus), max(peaks)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="small devices, one run each")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    a = p.parse_args()
    devices = [(4, 8), (64, 64), (512, 512), (4096, 4096)]
    if a.smoke:
        devices, a.repeat = [(4, 8), (64, 64)], 1
    print(f"{'cubes x PEs':>12} {'mode':>9} {'wall s':>8} {'CPU s':>7} {'peak MiB':>9} "
          f"{'wall ratio':>10} {'CPU ratio':>9} {'RSS ratio':>9}")
    base = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cubes, pes in devices:
            device = os.path.join(tmp, f"device-{cubes}x{pes}.json")
            with open(device, "w") as f:
                json.dump({"cubes": cubes, "pes_per_cube": pes}, f)
            for mode, extra in (("numeric", []), ("cost-only", ["--cost-only"])):
                wall, cpu, peak = measure([KB_RUN, EXAMPLE, "--quiet", "--device", device]
                                          + extra, a.repeat)
                base.setdefault(mode, (wall, cpu, peak))
                print(f"{cubes:>5} x {pes:<4} {mode:>9} {wall:>8.3f} {cpu:>7.3f} "
                      f"{peak / 2**20:>9.1f} {wall / base[mode][0]:>10.2f} "
                      f"{cpu / max(base[mode][1], 1e-3):>9.2f} {peak / base[mode][2]:>9.2f}",
                      flush=True)
    print("target: 4096 x 4096 in <= 2 s")


if __name__ == "__main__":
    main()
