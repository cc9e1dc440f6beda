#!/usr/bin/env python3
"""Reproduces CENT's Llama-2 decode table (Gu et al., "PIM Is All You Need", ASPLOS 2025)
through kb's device model: per row, kb's PIM-side and link times against CENT's.

CENT's rows (bench/data/cent_llama2_decode.csv, from the artifact's
cent_simulation/simulation_results.csv) give, per transformer block in decode at KV length
L, the PIM time and the CXL communication time of Llama-2-7B/13B/70B on 8/20/32 devices,
all tensor-parallel (PP = 1). For each row this script writes the block as kb programs in
CENT's dataflow and runs `kb-run --cost-only` on the CENT device description below:

- the block around the attention, TP over the devices (gen_llama2.py --dataflow cent):
  the projections, the gathers of q, k and v, wo and the FFN, with CENT's transfers;
- the attention with its KV-cache append on one device (gen_llama2.attention_program):
  CENT attends on one device of the TP group (its "intra-device attention": the cache of
  every KV head lives in that device's channels, a KV head and the query heads that read
  it in one channel; the other devices hold only their FC weights). kb's TP would split
  the heads over the ranks, which is not CENT's mapping, so the attention is its own
  single-device program, on the block's critical path between the gathers and wo.

It prints

  model, TP, L, kb PIM-side, CENT PIM, kb link, CENT CXL, kb block, CENT PIM+CXL, error %

kb's PIM-side time is the TP program's device time less the link time not hidden behind
compute, plus the attention program's device time; kb's link time is the TP program's
`collective_s`; the block is their sum plus FIXED_BLOCK_US. The
last line is `calibration: N rows, max error E%, mean M%` (E and M over the block errors).

  calibration.py [--models 7b,13b,70b] [--kv 128,2048,4096 | --all-kv] [--fit [--max-factor F]]
                 [--keep DIR]

--fit searches the two fitted parameters again (a grid, minimising the largest block error
over the rows chosen; the rate factor at most --max-factor, 1 by default) and prints them
instead of the table.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import gen_llama2
import kbtools  # kb-run: $KB_TOOLS_DIR, build/bin, then PATH

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "cent_llama2_decode.csv")

# CENT's models and their device counts (the artifact's run_sim.py / simulation.sh).
MODELS = {"7b": ("Llama2-7B", 8), "13b": ("Llama2-13B", 20), "70b": ("Llama2-70B", 32)}

# The CXL fabric (cxl_latency.py): 144 PCIe 5.0 lanes shared by the devices (each gets
# 144 // devices), 8 GiB/s per lane halved by multicast, a one-hop round trip of
# 4 port crossings of 25 ns, 2 PCIe crossings of 30 ns and the switch's 20 ns = 180 ns,
# flits of 256 B carrying three 64-B messages.
CXL_LANES = 144
CXL_LANE_MIBPS = 4096
CXL_ROUND_TRIP_NS = 180
FLIT_BYTES, FLIT_PAYLOAD = 256, 192

# One CENT device as a kb SIP (docs/Device.md, "CENT"): a cube is one of its 32 GDDR6-AiM
# channels, a PE one of a channel's 16 banks with its MAC unit. A bank's column access
# delivers 32 B (16 bf16 values) per 1 ns, which its 16 multipliers consume: 32 GFLOP/s
# and 32 GB/s per bank, 512 GB/s per channel. 16 GB per device: 512 MiB per channel.
# pe_buffer_kib bounds kb's tile sizes only (it charges no time); 64 KiB lets a decode
# attention block of two heads stream its keys. cube_cube_gbps is a channel's external
# GDDR6 rate (16 Gb/s x 32 pins = 64 GB/s). The ring's link_gbps is unused: collectives
# go through the switch.
CENT_DEVICE = {
    "cubes": 32, "pes_per_cube": 16, "pe_buffer_kib": 64,
    "pe_gflops": 32, "pe_gflops_f32": 16, "cube_pe_gbps": 512, "cube_cube_gbps": 64,
    "link_gbps": 64, "cube_memory_mib": 512,
    "switch_round_trip_ns": CXL_ROUND_TRIP_NS, "flit_bytes": FLIT_BYTES,
    "flit_payload_bytes": FLIT_PAYLOAD,
    # CENT's channels hang off one device bus, not a mesh, and its timing has no fixed
    # latencies beside the CXL round trip: every field the AHBM default would supply is
    # set, so the description is CENT's alone.
    "mesh_cols": 0, "ring_step_latency_ns": 0, "dma_latency_local_ns": 0,
    "dma_latency_far_cube_ns": 0, "kernel_launch_ns": 0,
    "compute_efficiency_permille": 1000, "memory_efficiency_permille": 1000,
}

# The fitted parameters (at most two), fitted by `calibration.py --fit` on the nine rows
# (7B/13B/70B at L = 128, 2048, 4096): the grid point of the smallest largest block error.
#  1. RATE_FACTOR: the share of the AiM bank's peak rates (FLOPs and bytes) kb's PEs reach,
#     applied to pe_gflops, pe_gflops_f32 and cube_pe_gbps.
#  2. FIXED_BLOCK_US: a fixed cost per block (µs), added to kb's block time.
RATE_FACTOR = 0.4
FIXED_BLOCK_US = 1.0

# 13B's FFN (13824) is not divisible by 20 ranks, which kb's linear layers require: the
# block is written with 14080, 704 columns per rank (CENT's share is ceil(13824 / 20) =
# 692): 704 = 32 x 22 columns spread over all 32 channels of a rank, as CENT spreads its
# columns over every bank, where 692 = 4 x 173 would leave kb's placement 4 channels.
FFN_OVERRIDE = {"13b": 14080}


def cent_cxl_us(hidden, ffn, devices):
    """CENT's CXL time of one TP block (µs): its closed form, six gathers of a rank's share
    and six multicasts of the whole vector (five of the hidden size, one of the FFN's),
    each a round trip plus its flits at the device's port rate."""
    rate = CXL_LANES // devices * CXL_LANE_MIBPS * 2**20  # B/s

    def transfer(flits):
        return CXL_ROUND_TRIP_NS * 1e-3 + flits * FLIT_BYTES / rate * 1e6

    def pair(width):  # f16 elements
        gather = math.ceil(width / devices * 2 / FLIT_PAYLOAD) * (devices - 1)
        multicast = math.ceil(width * 2 / FLIT_PAYLOAD)
        return transfer(gather) + transfer(multicast)

    return 5 * pair(hidden) + pair(ffn)


def device_for(devices, rate_factor=RATE_FACTOR):
    d = dict(CENT_DEVICE)
    d["switch_mibps"] = CXL_LANES // devices * CXL_LANE_MIBPS
    for field in ("pe_gflops", "pe_gflops_f32", "cube_pe_gbps"):
        d[field] = max(1, round(d[field] * rate_factor))
    return d


def cent_rows(models, kvs):
    rows = []
    with open(DATA) as fh:
        for r in csv.DictReader(line for line in fh if not line.startswith("#")):
            key = next(k for k, (name, _) in MODELS.items() if name == r["model"])
            if key in models and (kvs is None or int(r["seq_len"]) in kvs):
                rows.append(dict(key=key, tp=int(r["tp"]), devices=int(r["devices"]),
                                 seq_len=int(r["seq_len"]), pim=float(r["pim_us"]),
                                 cxl=float(r["cxl_us"])))
    return rows


def run_kb(row, out, rate_factor=RATE_FACTOR):
    """kb-run --cost-only of the row's block on the CENT device: (PIM-side µs, link µs)."""
    shape = dict(gen_llama2.LLAMA2[row["key"]])
    if row["key"] in FFN_OVERRIDE:
        shape["ffn"] = FFN_OVERRIDE[row["key"]]
    name = f"llama2-{row['key']}-tp{row['tp']}-L{row['seq_len']}"
    program = os.path.join(out, name + ".mlir")
    device = os.path.join(out, name + ".device.json")
    report = os.path.join(out, name + ".report.json")
    attention = os.path.join(out, name + ".attention.mlir")
    attention_report = os.path.join(out, name + ".attention.report.json")
    with open(program, "w") as fh:
        fh.write(gen_llama2.block_program(cache=row["seq_len"], tp=row["tp"],
                                          dataflow="cent", **shape))
    with open(attention, "w") as fh:
        fh.write(gen_llama2.attention_program(cache=row["seq_len"], cubes=CENT_DEVICE["cubes"],
                                              pes=CENT_DEVICE["pes_per_cube"], **shape))
    with open(device, "w") as fh:
        json.dump(device_for(row["devices"], rate_factor), fh)

    def run(path, to):
        done = subprocess.run([kbtools.tool("kb-run"), path, "--cost-only", "--quiet",
                               "--device", device, "--report", to],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"kb-run failed on {path}:\n{done.stderr}")
        return json.load(open(to))

    r = run(program, report)
    sip = max(r["sips"], key=lambda s: s["end_s"])
    link = sip["collective_s"]
    exposed = link - sip["collective_hidden_s"]
    # The attention runs between the q, k, v gathers and wo, on one device.
    attend = run(attention, attention_report)["device_time_s"]
    return (r["device_time_s"] - exposed + attend) * 1e6, link * 1e6


def table(rows, out):
    print(f"{'model':<11} {'TP':>3} {'L':>5} {'kb PIM':>8} {'CENT PIM':>9} {'kb link':>8} "
          f"{'CENT CXL':>9} {'link err':>8} {'kb block':>9} {'CENT P+C':>9} {'error':>7}")
    errors, link_errors = [], []
    for row in rows:
        pim, link = run_kb(row, out)
        block = pim + link + FIXED_BLOCK_US
        cent = row["pim"] + row["cxl"]
        err = abs(block - cent) / cent * 100
        link_err = abs(link - row["cxl"]) / row["cxl"] * 100
        errors.append(err)
        link_errors.append(link_err)
        print(f"{MODELS[row['key']][0]:<11} {row['tp']:>3} {row['seq_len']:>5} {pim:>8.2f} "
              f"{row['pim']:>9.2f} {link:>8.2f} {row['cxl']:>9.2f} {link_err:>7.2f}% "
              f"{block:>9.2f} {cent:>9.2f} {err:>6.1f}%", flush=True)
    print(f"times in µs per block; fitted: rate factor {RATE_FACTOR}, fixed "
          f"{FIXED_BLOCK_US} µs per block; link error max {max(link_errors):.2f}%")
    print(f"calibration: {len(rows)} rows, max error {max(errors):.1f}%, "
          f"mean {sum(errors) / len(errors):.1f}%")


def fit(rows, out, max_factor):
    """Grid search of (RATE_FACTOR, FIXED_BLOCK_US) minimising the largest block error,
    the factor in steps of 0.05 from 0.2 to `max_factor` (1: at most the AiM bank's peak),
    the fixed cost in steps of 0.25 µs from 0 to 60.
    kb's PIM-side time is not linear in the rate factor (some work is DMA), so each
    factor is a kb-run per row; the fixed cost is searched on each factor's times."""
    best = None
    for factor in [f / 20 for f in range(4, round(max_factor * 20) + 1)]:
        times = [run_kb(row, out, factor) for row in rows]
        for fixed in [c / 4 for c in range(0, 241)]:
            errs = [abs(p + l + fixed - (r["pim"] + r["cxl"])) / (r["pim"] + r["cxl"])
                    for (p, l), r in zip(times, rows)]
            if best is None or max(errs) < best[0]:
                best = (max(errs), factor, fixed, sum(errs) / len(errs))
    print(f"fit over {len(rows)} rows: RATE_FACTOR = {best[1]}, FIXED_BLOCK_US = {best[2]}: "
          f"max error {best[0] * 100:.1f}%, mean {best[3] * 100:.1f}%")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="7b,13b,70b")
    p.add_argument("--kv", default="128,2048,4096", help="KV lengths (CENT's are 128..4096)")
    p.add_argument("--all-kv", action="store_true", help="every KV length CENT reports")
    p.add_argument("--fit", action="store_true", help="search the fitted parameters")
    p.add_argument("--max-factor", type=float, default=1.0,
                   help="largest rate factor --fit tries (1: the peak rates)")
    p.add_argument("--keep", help="write the programs, devices and reports here")
    a = p.parse_args()
    models = a.models.split(",")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        p.error(f"unknown model {unknown[0]} (known: {', '.join(MODELS)})")
    kvs = None if a.all_kv else {int(k) for k in a.kv.split(",")}
    rows = cent_rows(models, kvs)
    if not rows:
        p.error("no CENT row has those models and KV lengths")
    with tempfile.TemporaryDirectory() as tmp:
        out = a.keep or tmp
        os.makedirs(out, exist_ok=True)
        if a.fit:
            fit(rows, out, a.max_factor)
        else:
            table(rows, out)


if __name__ == "__main__":
    sys.exit(main())
