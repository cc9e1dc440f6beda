#!/usr/bin/env python3
"""kb-run's peak memory against the bytes of the tensors it must hold.

kb-run holds, as f32, the global inputs and results and every rank's device buffers
(the lowered program's arguments and allocations: nothing is freed before the end, as on
the device). Their sum is the live tensor bytes; the peak RSS of `kb-run` (from
getrusage of the child) divided by it is the figure of merit (target <= 1.5).

  memory.py [--smoke]
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile

import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = kbtools.tools_dir()

MODEL = """module attributes {{kb.world_size = {w} : i64}} {{
  func.func @mlp(%x: tensor<{m}x{h}xf32>, %w1: tensor<{h}x{f}xf32>, %w2: tensor<{f}x{h}xf32>) -> tensor<{m}x{h}xf32> {{
    %a = kb.column_parallel_linear %x, %w1 : (tensor<{m}x{h}xf32>, tensor<{h}x{f}xf32>) -> tensor<{m}x{f}xf32>
    %g = kb.gelu %a : tensor<{m}x{f}xf32>
    %y = kb.row_parallel_linear %g, %w2 : (tensor<{m}x{f}xf32>, tensor<{f}x{h}xf32>) -> tensor<{m}x{h}xf32>
    return %y : tensor<{m}x{h}xf32>
  }}
}}
"""


def elements(shape):
    n = 1
    for d in shape.split("x"):
        n *= int(d)
    return n


def live_bytes(lowered, world, global_shapes):
    """f32 bytes of every rank's buffers plus the global inputs and results."""
    # Count buffers where they are defined: the signature and each alloc.
    defs = re.findall(r"(?:%arg\d+: |gemm_tile\.alloc : )memref<([0-9x]+)x(?:f16|bf16|f32)", lowered)
    per_rank = sum(elements(s) for s in defs)
    return 4 * (per_rank * world + sum(elements(s) for s in global_shapes))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args()
    sizes = [(64, 128, 512, 4)] if a.smoke else [(512, 1024, 4096, 4), (512, 4096, 16384, 8)]
    print(f"{'model':<28} {'live MiB':>9} {'peak RSS MiB':>13} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for m, h, f, w in sizes:
            src = os.path.join(tmp, "mlp.mlir")
            with open(src, "w") as out:
                out.write(MODEL.format(m=m, h=h, f=f, w=w))
            # Counted on the inline form, where each buffer is defined once in the
            # entry; kb-run expands the kernel calls of the default form into it.
            lowered = subprocess.run([os.path.join(BIN, "kb-opt"),
                                      "--kb-pipeline=outline-ops=false", src],
                                     check=True, capture_output=True, text=True).stdout
            live = live_bytes(lowered, w, [f"{m}x{h}", f"{h}x{f}", f"{f}x{h}", f"{m}x{h}"])
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            subprocess.run([os.path.join(BIN, "kb-run"), src, "--quiet"], check=True)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
            if before * 1024 >= peak:
                print("warning: an earlier child had a larger peak", file=sys.stderr)
            print(f"M{m} H{h} F{f} TP{w}".ljust(28) +
                  f" {live / 2**20:>9.1f} {peak / 2**20:>13.1f} {peak / live:>6.2f}")
    print("target: ratio <= 1.5")


if __name__ == "__main__":
    main()
