#!/usr/bin/env python3
"""Executor speed: kb-run on the lowered TP MLP against numpy (OpenBLAS) computing the
same unsharded MLP, at the same thread count, side by side in one run.

The model: M = 512 tokens, hidden 1024, ffn 4096, TP = 4, f32 (column-parallel ->
gelu -> row-parallel, with biases). Both sides are whole processes on the same .npy
inputs, timed from start to exit: kb-run reads them, compiles with the kb pipeline,
runs the W ranks' device program and writes its result; a Python process imports
numpy, reads them, computes x @ W1 + b1, gelu, @ W2 + b2 and writes its result.
Medians of --repeat runs (default 5); the ratio kb-run / numpy is the figure of merit
(target <= 1.3 at 1 and 2 threads). numpy's compute alone is printed too.

  executor_speed.py [--repeat 5] [--threads 1,2] [--smoke]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KB_RUN = kbtools.tool("kb-run")

MODEL = """module attributes {{kb.world_size = {w} : i64}} {{
  func.func @mlp(%x: tensor<{m}x{h}xf32>, %w1: tensor<{h}x{f}xf32>, %b1: tensor<{f}xf32>,
                 %w2: tensor<{f}x{h}xf32>, %b2: tensor<{h}xf32>) -> tensor<{m}x{h}xf32> {{
    %a = kb.column_parallel_linear %x, %w1 bias %b1 : (tensor<{m}x{h}xf32>, tensor<{h}x{f}xf32>, tensor<{f}xf32>) -> tensor<{m}x{f}xf32>
    %g = kb.gelu %a : tensor<{m}x{f}xf32>
    %y = kb.row_parallel_linear %g, %w2 bias %b2 : (tensor<{m}x{f}xf32>, tensor<{f}x{h}xf32>, tensor<{h}xf32>) -> tensor<{m}x{h}xf32>
    return %y : tensor<{m}x{h}xf32>
  }}
}}
"""

NUMPY_MLP = r"""
import sys, time, numpy as np
d = sys.argv[1]
x, w1, b1, w2, b2 = (np.load(f"{d}/arg{i}.npy") for i in range(5))
def gelu(v):
    return 0.5 * v * (1 + np.tanh(np.float32(0.7978845608028654) * (v + np.float32(0.044715) * v ** 3)))
start = time.perf_counter()
y = gelu(x @ w1 + b1) @ w2 + b2
print(time.perf_counter() - start)
np.save(f"{d}/numpy_result.npy", y)
"""


def blas_library():
    """Which BLAS numpy loaded (the benchmark needs OpenBLAS, not the reference BLAS)."""
    a = np.ones((64, 64), np.float32)
    a @ a
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line or "lapack" in line}
    return ", ".join(sorted(libs)) or "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args()
    m, h, f, w = (64, 128, 512, 4) if a.smoke else (512, 1024, 4096, 4)
    repeat = 1 if a.smoke else a.repeat
    if not os.access(KB_RUN, os.X_OK):
        sys.exit(f"executor_speed: {KB_RUN} not found (build kb first: scripts/build.sh)")
    print(f"numpy BLAS: {blas_library()}")
    print(f"model: M={m} H={h} F={f} TP={w} f32; median of {repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "mlp.mlir")
        with open(src, "w") as out:
            out.write(MODEL.format(m=m, h=h, f=f, w=w))
        # One run writes the inputs both sides use.
        subprocess.run([KB_RUN, src, "--quiet", "--output-dir", tmp, "--save-inputs"], check=True)
        inputs = []
        for i in range(5):
            inputs += ["--input", os.path.join(tmp, f"arg{i}.npy")]
        print(f"{'threads':>7} {'kb-run s':>10} {'numpy s':>10} {'ratio':>7} "
              f"{'numpy compute s':>16}")
        for threads in [int(t) for t in a.threads.split(",")]:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                       OPENBLAS_NUM_THREADS=str(threads))
            # Current OpenBLAS runs best with its own core detection (see bench/README.md).
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
            kb_times, np_times, np_compute = [], [], []
            for _ in range(repeat):
                start = time.perf_counter()
                subprocess.run([KB_RUN, src, "--quiet", "--output-dir", tmp,
                                "--host-threads", str(threads)] + inputs, check=True, env=env)
                kb_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                done = subprocess.run([sys.executable, "-c", NUMPY_MLP, tmp], check=True,
                                      env=env, capture_output=True, text=True)
                np_times.append(time.perf_counter() - start)
                np_compute.append(float(done.stdout))
            kb_s, np_s = statistics.median(kb_times), statistics.median(np_times)
            print(f"{threads:>7} {kb_s:>10.4f} {np_s:>10.4f} {kb_s / np_s:>7.2f} "
                  f"{statistics.median(np_compute):>16.4f}")
        same = np.allclose(np.load(os.path.join(tmp, "result0.npy")),
                           np.load(os.path.join(tmp, "numpy_result.npy")), rtol=1e-3, atol=1e-3)
        print(f"kb-run's result matches numpy's: {same}")
    print("target: ratio <= 1.3 at 1 and 2 threads")


if __name__ == "__main__":
    main()
