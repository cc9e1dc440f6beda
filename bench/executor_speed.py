#!/usr/bin/env python3
"""Executor speed: kb-run on the lowered TP MLP against numpy (OpenBLAS) computing the
same unsharded MLP, at the same thread count, side by side in one run.

Four shapes (bench/shapes.py): the training-like MLP (M 512, f32), a GPT-3 layer's MLP
decoding 4 tokens (f16 weights, 2.4 GB), Llama-2-7B's MLP on a 2048-token prompt (f16)
and its whole decoder layer (attention included) on a 2048-token prompt (f16). Both sides are whole processes on the same .npy inputs, timed from start to exit:
kb-run reads them, compiles with the kb pipeline, runs the W ranks' device program and
writes its result; a Python process imports numpy, reads them, computes in f32 and writes
its result. numpy runs with OpenBLAS's own core detection (OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from its environment only) and the kernel it picked is printed.
Medians of --repeat runs (default 5), the thread counts alternating within each repeat;
the ratio kb-run / numpy is the figure of merit, and kb-run's speed-up at 2 threads.

  executor_speed.py [--shapes mlp,gpt3-decode,llama-prefill,llama-layer-prefill] [--repeat 5] [--threads 1,2]
                    [--smoke]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH
import shapes

import numpy as np

KB_RUN = kbtools.tool("kb-run")
TARGETS = {"mlp": 0.8, "gpt3-decode": 1.0, "llama-prefill": 1.0, "llama-layer-prefill": 1.0}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--shapes", default=",".join(shapes.SHAPES))
    p.add_argument("--smoke", action="store_true", help="small sizes, one run each")
    a = p.parse_args()
    repeat = 1 if a.smoke else a.repeat
    print(f"numpy BLAS: {shapes.openblas_kernel()}")
    print(f"median of {repeat}; kb-run --host-threads N, numpy OPENBLAS_NUM_THREADS=N")
    print(f"{'shape':<14} {'threads':>7} {'kb-run s':>10} {'numpy s':>10} {'ratio':>7} "
          f"{'numpy compute s':>16} {'match':>6}")
    for name in a.shapes.split(","):
        m, h, f, w = shapes.dims(name, a.smoke)
        with tempfile.TemporaryDirectory() as tmp:
            src, paths, kind, _ = shapes.write(name, a.smoke, tmp)
            inputs = [arg for path in paths for arg in ("--input", path)]
            thread_counts = [int(t) for t in a.threads.split(",")]
            # The thread counts alternate within each repeat, kb-run then numpy at each:
            # the VM's speed drifts within minutes, and the 2-thread speed-up is a ratio
            # of kb-run to itself, so its runs are taken side by side too.
            kb_times = {t: [] for t in thread_counts}
            np_times = {t: [] for t in thread_counts}
            np_compute = {t: [] for t in thread_counts}
            same = {}
            for _ in range(repeat):
                for threads in thread_counts:
                    start = time.perf_counter()
                    subprocess.run([KB_RUN, src, "--quiet", "--output-dir", tmp,
                                    "--host-threads", str(threads)] + inputs, check=True)
                    kb_times[threads].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    done = subprocess.run(
                        [sys.executable, "-c", shapes.NUMPY, tmp, kind, str(len(paths))],
                        check=True, env=shapes.numpy_env(threads), capture_output=True,
                        text=True)
                    np_times[threads].append(time.perf_counter() - start)
                    np_compute[threads].append(float(done.stdout))
                    kb = np.load(os.path.join(tmp, "result0.npy")).astype(np.float64)
                    ref = np.load(os.path.join(tmp, "numpy_result.npy")).astype(np.float64)
                    tol = 1e-3 if shapes.SHAPES[name][3] == "f32" else 2e-2
                    same[threads] = same.get(threads, True) and bool(np.allclose(
                        kb, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max())))
            kb_by_threads = {}
            for threads in thread_counts:
                kb_s = statistics.median(kb_times[threads])
                np_s = statistics.median(np_times[threads])
                kb_by_threads[threads] = kb_s
                print(f"{name:<14} {threads:>7} {kb_s:>10.4f} {np_s:>10.4f} "
                      f"{kb_s / np_s:>7.2f} {statistics.median(np_compute[threads]):>16.4f} "
                      f"{str(same[threads]):>6}", flush=True)
            for threads, kb_s in kb_by_threads.items():
                if threads > 1 and 1 in kb_by_threads:
                    target = " (target >= 1.6)" if name == "mlp" and threads == 2 else ""
                    print(f"{name:<14} kb-run at {threads} threads: "
                          f"{kb_by_threads[1] / kb_s:.2f}x its 1-thread speed{target}",
                          flush=True)
    print("target: ratio <= " + ", ".join(f"{v} ({k})" for k, v in TARGETS.items()) +
          " at 1 and 2 threads")


if __name__ == "__main__":
    main()
