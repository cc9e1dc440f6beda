#!/usr/bin/env python3
"""kb-run's peak memory against the bytes of its inputs in their own dtype.

For each shape of bench/shapes.py (default: the GPT-3 layer's MLP decoding 4 tokens,
f16, 2.4 GB of weights), numpy writes the .npy inputs and kb-run runs the lowered TP
program on them, writing its result (`--input ... --output-dir`), then again with
`--check` (the reference interpreter's run on the same inputs). The peak RSS of each
kb-run (getrusage of the child, one child per measuring process) divided by the input
bytes is the figure of merit (targets: <= 1.25, <= 1.5 with --check).

  memory.py [--shapes gpt3-decode,...] [--smoke]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile

import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH
import shapes

KB_RUN = kbtools.tool("kb-run")

# Runs one command and prints its peak RSS in bytes: a fresh process per measurement,
# since RUSAGE_CHILDREN keeps the largest child's peak.
PEAK = r"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def peak_rss(cmd):
    done = subprocess.run([sys.executable, "-c", PEAK] + cmd, check=True,
                          capture_output=True, text=True)
    return int(done.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default="gpt3-decode")
    p.add_argument("--smoke", action="store_true", help="small sizes")
    a = p.parse_args()
    print(f"{'shape':<28} {'inputs MiB':>10} {'peak MiB':>9} {'ratio':>6} "
          f"{'--check MiB':>11} {'ratio':>6}")
    for name in a.shapes.split(","):
        m, h, f, w = shapes.dims(name, a.smoke)
        with tempfile.TemporaryDirectory() as tmp:
            src, paths, _, total = shapes.write(name, a.smoke, tmp)
            cmd = [KB_RUN, src, "--quiet", "--output-dir", tmp]
            cmd += [arg for path in paths for arg in ("--input", path)]
            run = peak_rss(cmd)
            check = peak_rss(cmd + ["--check"])
            label = f"{name} M{m} H{h} F{f} TP{w}"
            print(f"{label:<28} {total / 2**20:>10.1f} {run / 2**20:>9.1f} "
                  f"{run / total:>6.2f} {check / 2**20:>11.1f} {check / total:>6.2f}",
                  flush=True)
    print("target: ratio <= 1.25, <= 1.5 with --check (gpt3-decode)")


if __name__ == "__main__":
    main()
