#!/usr/bin/env python3
"""Device model against its bound: for large gemms, the examples and the Llama-2-7B
layer in prefill, the time kb-run's cost model gives the lowered program against the
bound of the same work on the same device, and how much of the ring time the schedule
hides behind compute.

bound = max(compute, memory, link), where
  compute = the PE work of one SIP spread evenly over its cubes x PEs: its FLOPs at
            the PE rate (gemm tiles, attention, norms, RoPE: the ops that count
            FLOPs) plus the engine-seconds of its PE ops that count none (gelu,
            SiLU, bias adds and other elementwise ops, priced by the cost model by
            their bytes over the PE's share of its cube's bandwidth, without the
            kernel launch each of their kernels paid), divided by cubes x PEs,
            plus one kernel launch. A PE op runs on one PE, so no schedule can
            finish that work sooner, and the busiest PE launches at least one
            kernel before it does any: a lower bound on the busiest PE's busy
            time, and one that does not move with the lowering's tiling (launches
            beyond the first are the tiling's choice, so they are not counted);
  memory  = bytes each SIP must read and write once / (cubes x cube-to-PE bandwidth);
            a PE reads its own cube's memory, so no DMA latency is unavoidable;
  link    = for every collective, its ring steps times the device's step latency
            plus its ring lower bound of bytes per rank over the link bandwidth:
            the ring algorithm the device runs needs 2(W - 1) dependent steps for
            an all-reduce and W - 1 for an all-gather or a reduce-scatter, each
            paying the step latency, and no rank can send fewer than those bytes;
            the link carries one step at a time, so the collectives add up.
            Splitting a collective into chunks (the overlap pass) only adds steps,
            so this is a lower bound on the link's busy time for any schedule;
the three engines can work at once, so the bound is the busiest one, not their sum.
ratio = bound / simulated (1.0 is the bound reached);
overlap = the share of ring time during which a PE computes (collective_hidden_s over
collective_s, summed over the SIPs). Each example also runs with
--overlap-collectives=false, for the time the overlap saves.

The rates in the bound are the ones the device reaches: its peak times its compute and
memory efficiency (per mille). Of its fixed latencies the bound counts those no schedule
avoids (above): one kernel launch and the ring's step latencies; DMA latencies are left
out, since a placement whose operands sit in the cubes that use them needs no DMA. On an
ideal device (`small`) those terms are 0 and the bound is the bytes-and-FLOPs one.
Every case runs on each device named by --devices (default: ahbm, the default device,
then small), one row per device.

  device_model.py [--smoke] [--tokens S] [--only SUBSTRING,...] [--devices NAME,...]
"""
import argparse
import json
import os
import re
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

# Targets: (case name, minimum ratio, minimum overlap or None).
TARGETS = {
    "mlp_seed.mlir": (0.95, None),
    "llama2_7b_mlp.mlir": (0.95, None),
    "llama2_7b_layer.mlir": (0.95, None),
}


def kb_run_report(path, tmp, *extra):
    report = os.path.join(tmp, "report.json")
    # --cost-only: the same device time as a numeric run (test/Integration/kb-run/
    # cost-only.test), without the arithmetic.
    subprocess.run([os.path.join(BIN, "kb-run"), path, "--quiet", "--cost-only", "--report",
                    report, *extra], check=True)
    with open(report) as f:
        return json.load(f)


def tensor_bytes(ty):
    dims, elt = ty.rsplit("x", 1)[0], ty.rsplit("x", 1)[1]
    size = {"f16": 2, "bf16": 2, "f32": 4, "i32": 4, "i64": 8}[elt.split(",")[0].strip(">")]
    n = 1
    for d in dims.split("x"):
        n *= int(d)
    return n * size


def local_bytes(path):
    """Bytes of the local function's arguments and results: what one SIP must read
    and write at least once."""
    lowered = subprocess.run([os.path.join(BIN, "kb-opt"), "--kb-pipeline=lower-to-device=false", path],
                             check=True, capture_output=True, text=True).stdout
    # The signature ends at the brace that ends its line (argument attributes
    # have braces of their own).
    start = lowered.index("func.func")
    header = lowered[start:lowered.index("{\n", start)]
    return sum(tensor_bytes(ty) for ty in
               re.findall(r"tensor<([^>]*?)(?:,\s*#kb\.dp<[^>]*>)?>", header))


def ring_steps(op, w):
    """Dependent steps of the device's ring algorithm for one collective."""
    return {"all_reduce": 2 * (w - 1)}.get(op, w - 1)


def bound(report, sip_bytes, f32):
    d = report["device"]
    pes = d["cubes"] * d["pes_per_cube"]
    launch = d["kernel_launch_ns"] * 1e-9
    flops = max(s["flops"] for s in report["sips"])
    rate = (d["pe_gflops_f32"] if f32 else d["pe_gflops"]) * 1e9 \
        * d["compute_efficiency_permille"] / 1000
    flop_bound = flops / (pes * rate)
    # The per-op table is one SIP's (ops_sip): the PE engine-seconds of its
    # ops without FLOPs (elementwise work, bandwidth-bound on the PEs), less
    # the launch each of their kernels paid.
    elementwise = sum(op["pe_busy_s"] - op["pe_kernels"] * launch
                      for op in report["ops"] if op["flops"] == 0)
    compute = flop_bound + elementwise / pes + (launch if flops or elementwise else 0)
    memory = sip_bytes / (d["cubes"] * d["cube_pe_gbps"] * 1e9
                          * d["memory_efficiency_permille"] / 1000)
    link_bw = d["link_gbps"] * 1e9
    if d.get("switch_round_trip_ns", 0):
        # Through a switch: no ring steps; the bytes alone still bound it.
        step = lambda c: 0.0
    else:
        step = lambda c: ring_steps(c["op"], report["world_size"]) \
            * d["ring_step_latency_ns"] * 1e-9
    link = sum(step(c) + c["lower_bound_bytes_per_rank"] / link_bw
               for c in report["collectives"])
    return max(compute, memory, link), compute, memory, link, flop_bound


def busiest_pe_split(report):
    """The SIP that ends last: its busiest PE's busy time, its busiest DMA
    engine's, and its ring time (each engine-seconds)."""
    sip = max(report["sips"], key=lambda s: s["end_s"])
    return sip["compute_s"], sip["dma_s"], sip["collective_s"]


def overlap(report):
    ring = sum(s["collective_s"] for s in report["sips"])
    hidden = sum(s.get("collective_hidden_s", 0.0) for s in report["sips"])
    return hidden / ring if ring > 0 else None


def llama_layer(tokens, tmp, sequence_parallel=False):
    """examples/llama2_7b_layer.mlir with `tokens` tokens in prefill; with
    `sequence_parallel`, partitioned as Megatron's sequence parallelism."""
    with open(os.path.join(ROOT, "examples", "llama2_7b_layer.mlir")) as f:
        text = f.read()
    text = re.sub(r"\b16x", f"{tokens}x", text)
    if sequence_parallel:
        text = text.replace("module attributes {", "module attributes {kb.sequence_parallel, ", 1)
    path = os.path.join(tmp, f"llama2_7b_layer_{tokens}{'_sp' if sequence_parallel else ''}.mlir")
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--tokens", type=int, default=512,
                   help="tokens of the Llama-2-7B layer's prefill case (default 512)")
    p.add_argument("--only", default="",
                   help="run only the cases whose name contains one of these (comma-separated)")
    p.add_argument("--devices", default="ahbm,small",
                   help="built-in devices to run every case on (default ahbm,small)")
    a = p.parse_args()
    devices = [d for d in a.devices.split(",") if d]
    cases = []
    gemms = [(256, 512, 512, 1, "f16")] if a.smoke else [
        (2048, 4096, 4096, 1, "f16"), (2048, 4096, 16384, 4, "f16"),
        (1024, 4096, 4096, 1, "f32"), (4096, 8192, 8192, 8, "f16")]
    print(f"{'case':<34} {'device':<6} {'sim us':>10} {'bound us':>10} {'compute':>9} {'flops':>9} "
          f"{'memory':>9} {'link':>8} {'ratio':>6} {'overlap':>8} {'no-ovl us':>10} "
          f"{'PE/DMA/ring us (busiest)':>26}")
    met = []
    with tempfile.TemporaryDirectory() as tmp:
        for m, k, n, w, t in gemms:
            path = os.path.join(tmp, f"gemm_{m}_{k}_{n}.mlir")
            with open(path, "w") as f:
                f.write(GEMM.format(m=m, k=k, n=n, w=w, t=t))
            e = {"f16": 2, "bf16": 2, "f32": 4}[t]
            # Per SIP: x once, its weight slice once, its output slice once.
            sip_bytes = (m * k + k * n // w + m * n // w) * e
            cases.append((f"gemm {m}x{k}x{n} TP{w} {t}", path, sip_bytes, t == "f32", False))
        examples = ["mlp_seed.mlir"] if a.smoke else [
            "mlp_seed.mlir", "mlp_small_f32.mlir", "llama2_7b_mlp.mlir", "gpt2_block.mlir",
            "gpt2_small.mlir", "llama2_7b_layer.mlir"]
        for name in examples:
            cases.append((name, os.path.join(ROOT, "examples", name), None,
                          "f32" in name, True))
        if not a.smoke:
            cases.append((f"llama2_7b_layer S={a.tokens}", llama_layer(a.tokens, tmp), None,
                          False, True))
            cases.append((f"llama2_7b_layer SP S={a.tokens}",
                          llama_layer(a.tokens, tmp, sequence_parallel=True), None, False, True))
        only = [s for s in a.only.split(",") if s]
        for (name, path, sip_bytes, f32, compare), device in (
                (c, d) for c in cases for d in devices):
            if only and not any(s in name for s in only):
                continue
            report = kb_run_report(path, tmp, "--device", device)
            if sip_bytes is None:
                sip_bytes = local_bytes(path)
            b, compute, memory, link, flop_bound = bound(report, sip_bytes, f32)
            pe, dma, ring = busiest_pe_split(report)
            sim = report["device_time_s"]
            ovl = overlap(report)
            plain = kb_run_report(path, tmp, "--device", device,
                                  "--overlap-collectives=false")["device_time_s"] \
                if compare else None
            split = f"{pe * 1e6:.2f}/{dma * 1e6:.2f}/{ring * 1e6:.2f}"
            print(f"{name:<34} {device:<6} {sim * 1e6:>10.2f} {b * 1e6:>10.2f} {compute * 1e6:>9.2f} "
                  f"{flop_bound * 1e6:>9.2f} {memory * 1e6:>9.2f} {link * 1e6:>8.2f} "
                  f"{b / sim:>6.2f} {'-' if ovl is None else f'{ovl:.2f}':>8} "
                  f"{'-' if plain is None else f'{plain * 1e6:.2f}':>10} {split:>26}")
            if name in TARGETS:
                met.append((f"{name} ({device})", b / sim, TARGETS[name][0]))
            if name.startswith("llama2_7b_layer S="):
                met.append((f"{name} overlap ({device})", ovl or 0.0, 0.70))
    print("targets: " + "; ".join(
        f"{n} {v:.2f} >= {t:.2f} {'met' if v >= t else 'NOT met'}" for n, v, t in met))


if __name__ == "__main__":
    main()
