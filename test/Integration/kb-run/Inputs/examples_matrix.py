"""Runs `kb-run --check` on every example for each TP world size that divides its
shapes and for f32 and f16; exits non-zero naming the first failing case."""
import glob
import os
import re
import subprocess
import sys

examples, kb_run, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(tmp, exist_ok=True)
failures = 0
for path in sorted(glob.glob(os.path.join(examples, "*.mlir"))):
    text = open(path).read()
    for world in (1, 2, 4, 8):
        for dtype in ("f32", "f16"):
            variant = re.sub(r"kb.world_size = \d+", f"kb.world_size = {world}", text)
            variant = re.sub(r"x(f16|f32|bf16)\b", f"x{dtype}", variant)
            out = os.path.join(tmp, f"{os.path.basename(path)}.w{world}.{dtype}.mlir")
            with open(out, "w") as f:
                f.write(variant)
            proc = subprocess.run([kb_run, out, "--check", "--quiet"], capture_output=True, text=True)
            status = "pass" if proc.returncode == 0 else "FAIL"
            if "must be divisible by TP world size" in proc.stderr:
                status = "skip (shapes do not divide)"
            elif proc.returncode != 0:
                failures += 1
                print(proc.stderr, file=sys.stderr)
            print(f"{os.path.basename(path)} W={world} {dtype}: {status}")
sys.exit(1 if failures else 0)
