#!/usr/bin/env python3
"""Device model against its bounds: for the examples and for large gemms, the time
kb-run's cost model gives the lowered program against the roofline bound of the same
work on the same device.

roofline = max(compute bound, memory bound) + ring bound, where
  compute bound = FLOPs of one SIP / (cubes x PEs x PE rate),
  memory bound  = bytes each SIP must read and write once / (cubes x cube-to-PE bandwidth),
  ring bound    = sum over all-reduces of 2(W-1)/W x bytes / link bandwidth.
The figure of merit is roofline / simulated (target >= 0.9 on large gemms).

  device_model.py [--smoke]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = kbtools.tools_dir()

GEMM = """module attributes {{kb.world_size = {w} : i64}} {{
  func.func @gemm(%x: tensor<{m}x{k}x{t}>, %w: tensor<{k}x{n}x{t}>) -> tensor<{m}x{n}x{t}> {{
    %y = kb.column_parallel_linear %x, %w : (tensor<{m}x{k}x{t}>, tensor<{k}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
    return %y : tensor<{m}x{n}x{t}>
  }}
}}
"""


def kb_run_report(path, tmp):
    report = os.path.join(tmp, "report.json")
    subprocess.run([os.path.join(BIN, "kb-run"), path, "--quiet", "--report", report],
                   check=True)
    with open(report) as f:
        return json.load(f)


def tensor_bytes(ty):
    dims, elt = ty.rsplit("x", 1)[0], ty.rsplit("x", 1)[1]
    size = {"f16": 2, "bf16": 2, "f32": 4}[elt.split(",")[0].strip(">")]
    n = 1
    for d in dims.split("x"):
        n *= int(d)
    return n * size


def roofline(report, sip_bytes):
    d = report["device"]
    w = report["world_size"]
    flops = max(s["flops"] for s in report["sips"])
    f32 = report.get("_f32", False)
    rate = (d["pe_gflops_f32"] if f32 else d["pe_gflops"]) * 1e9
    compute = flops / (d["cubes"] * d["pes_per_cube"] * rate)
    memory = sip_bytes / (d["cubes"] * d["cube_pe_gbps"] * 1e9)
    ring = sum(c["lower_bound_bytes_per_rank"] for c in report["collectives"]) / (d["link_gbps"] * 1e9)
    return max(compute, memory) + ring, compute, memory, ring


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args()
    cases = []
    gemms = [(256, 512, 512, 1, "f16")] if a.smoke else [
        (2048, 4096, 4096, 1, "f16"), (2048, 4096, 16384, 4, "f16"),
        (1024, 4096, 4096, 1, "f32"), (4096, 8192, 8192, 8, "f16")]
    print(f"{'case':<40} {'simulated us':>12} {'roofline us':>12} {'compute':>9} "
          f"{'memory':>9} {'ring':>8} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for m, k, n, w, t in gemms:
            path = os.path.join(tmp, f"gemm_{m}_{k}_{n}.mlir")
            with open(path, "w") as f:
                f.write(GEMM.format(m=m, k=k, n=n, w=w, t=t))
            e = {"f16": 2, "bf16": 2, "f32": 4}[t]
            # Per SIP: x once, its weight slice once, its output slice once.
            sip_bytes = (m * k + k * n // w + m * n // w) * e
            cases.append((f"gemm {m}x{k}x{n} TP{w} {t}", path, sip_bytes, t == "f32"))
        if not a.smoke:
            for name, sip_bytes in (("mlp_seed.mlir", None), ("llama2_7b_mlp.mlir", None)):
                cases.append((name, os.path.join(ROOT, "examples", name), None, False))
        for name, path, sip_bytes, f32 in cases:
            report = kb_run_report(path, tmp)
            report["_f32"] = f32
            if sip_bytes is None:
                # The examples: every argument's local piece and result read or
                # written once per SIP, from the report's byte counts is not enough;
                # use the local function type of the lowered program instead.
                lowered = subprocess.run([os.path.join(BIN, "kb-opt"), "--kb-pipeline=lower-to-device=false", path],
                                         check=True, capture_output=True, text=True).stdout
                header = lowered[lowered.index("func.func"):lowered.index("{", lowered.index("func.func"))]
                sip_bytes = sum(tensor_bytes(ty) for ty in
                                __import__("re").findall(r"tensor<([^>]*?)(?:,\s*#kb\.dp<[^>]*>)?>", header))
            bound, compute, memory, ring = roofline(report, sip_bytes)
            sim = report["device_time_s"]
            print(f"{name:<40} {sim * 1e6:>12.2f} {bound * 1e6:>12.2f} {compute * 1e6:>9.2f} "
                  f"{memory * 1e6:>9.2f} {ring * 1e6:>8.2f} {bound / sim:>6.2f}")
    print("target: ratio >= 0.90 on large gemms")


if __name__ == "__main__":
    main()
