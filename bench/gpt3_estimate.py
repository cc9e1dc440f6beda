#!/usr/bin/env python3
"""Cost-only estimates of whole GPT-3 175B models: 96 decoder layers (H 12288, 96 heads,
F 49152, f16; gen_gpt.decoder_program), TP W = 8 and 64, prefill of 2048 tokens and one
decode step (1 token against a 2048-token KV cache per layer). Each is one kb-run
--cost-only of the global-view program (the kb-pipeline compile included), timed with
/usr/bin/time -v: wall seconds and peak RSS, with the device time it reports.
Targets: each <= 10 s and <= 1 GiB. W must divide the 96 heads (kb.attention's
verifier, as Megatron's), which 64 does not: that case prints kb-run's refusal.

  gpt3_estimate.py [--smoke] [--layers N] [--keep DIR]
"""
import argparse
import json
import os
import re
import subprocess
import tempfile

import gen_gpt
import kbtools  # kb-opt / kb-run: $KB_TOOLS_DIR, build/bin, then PATH

KB_RUN = kbtools.tool("kb-run")


def timed(cmd):
    """Wall seconds, CPU seconds (user + system) and peak RSS bytes of `cmd` under
    /usr/bin/time -v; None and kb-run's error when it fails."""
    done = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [l for l in done.stderr.splitlines() if "error:" in l]
        return None, (errors[0] if errors else done.stderr[-2000:])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): (\S+)", done.stderr).group(1))
              for kind in ("User", "System"))
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return (seconds, cpu, int(rss.group(1)) * 1024), None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="2 small layers")
    p.add_argument("--layers", type=int, default=96)
    p.add_argument("--keep", help="write the programs and reports here")
    p.add_argument("--widths", default="8,64",
                   help="TP world sizes (W must divide the 96 heads: 64 does not)")
    a = p.parse_args()
    h, heads, f, tokens = 12288, 96, 49152, 2048
    layers = a.layers
    if a.smoke:
        h, heads, f, tokens, layers = 256, 4, 1024, 64, 2
    widths = [int(w) for w in a.widths.split(",")]
    if a.smoke:
        widths = [2, 4]
    cases = [(w, phase) for w in widths for phase in ("prefill", "decode")]
    print(f"{'case':<34} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9} {'device ms':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        out = a.keep or tmp
        os.makedirs(out, exist_ok=True)
        for w, phase in cases:
            m, cache = (tokens, 0) if phase == "prefill" else (1, tokens)
            name = f"gpt3-{layers}L-w{w}-{phase}"
            program = os.path.join(out, name + ".mlir")
            report = os.path.join(out, name + ".report.json")
            with open(program, "w") as fh:
                # Every buffer of a lowered program lives to its end, so 96 layers'
                # activations overflow the default 16 GiB cubes at prefill: the cubes
                # are made large enough (1 TiB), which changes no time.
                fh.write(gen_gpt.decoder_program(layers, m, h, heads, f, w, cache=cache,
                                                 cube_memory_mib=1 << 20))
            figures, error = timed([KB_RUN, program, "--cost-only", "--quiet",
                                    "--report", report])
            label = f"{layers}L H{h} W{w} {phase} M{m}" + (f" cache {cache}" if cache else "")
            if error:
                print(f"{label:<34} refused: {error.strip()}", flush=True)
                continue
            wall, cpu, rss = figures
            device = json.load(open(report))["device_time_s"]
            print(f"{label:<34} {wall:>7.2f} {cpu:>7.2f} {rss / 2**20:>9.1f} "
                  f"{device * 1e3:>10.3f}", flush=True)
    print("targets: <= 10 s and <= 1024 MiB each")


if __name__ == "__main__":
    main()
