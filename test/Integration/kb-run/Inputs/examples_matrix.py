"""Runs `kb-run --check` on every example for TP world sizes 1, 2, 4 and 8 and for
f32 and f16, and prints a line per case and a summary.

Which world sizes an example's shapes allow is worked out here from its parallel
layers, independently of kb: a case that should run must pass, and a case whose
shapes do not divide must be rejected by kb for exactly that reason. Anything
else, or finding no example at all, is a failure (exit status 1), so the matrix
cannot pass by running nothing."""
import glob
import os
import re
import subprocess
import sys

WORLD_SIZES = (1, 2, 4, 8)
DTYPES = ("f32", "f16")

# The weight (the second operand) of each parallel layer, e.g.
#   kb.column_parallel_linear %x, %w1 bias %b1
#       : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> ...
LAYER = re.compile(r"kb\.(column|row)_parallel_linear\b[^:]*:\s*\(\s*tensor<[^>]*>\s*,"
                   r"\s*tensor<(\d+)x(\d+)x")


def split_sizes(text):
    """The feature sizes the TP ranks split: a column-parallel layer's out_features
    (the weight's columns), a row-parallel layer's in_features (its rows)."""
    sizes = [int(cols) if kind == "column" else int(rows)
             for kind, rows, cols in LAYER.findall(text)]
    if len(sizes) != len(re.findall(r"kb\.(?:column|row)_parallel_linear\b", text)):
        raise ValueError("cannot read the weight shape of every parallel layer")
    return sizes


def main():
    examples, kb_run, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(tmp, exist_ok=True)
    paths = sorted(glob.glob(os.path.join(examples, "*.mlir")))
    if not paths:
        print(f"examples matrix: no example (*.mlir) in {examples}", file=sys.stderr)
        return 1
    passed = failed = skipped = 0
    for path in paths:
        name = os.path.basename(path)
        text = open(path).read()
        try:
            sizes = split_sizes(text)
        except ValueError as e:
            print(f"{name}: FAIL: {e}")
            failed += len(WORLD_SIZES) * len(DTYPES)
            continue
        for world in WORLD_SIZES:
            divides = all(size % world == 0 for size in sizes)
            for dtype in DTYPES:
                variant, n = re.subn(r"kb.world_size = \d+", f"kb.world_size = {world}", text)
                variant, m = re.subn(r"x(f16|f32|bf16)\b", f"x{dtype}", variant)
                case = f"{name} W={world} {dtype}"
                if n != 1 or m == 0:
                    print(f"{case}: FAIL: cannot set the world size and dtype")
                    failed += 1
                    continue
                out = os.path.join(tmp, f"{name}.w{world}.{dtype}.mlir")
                with open(out, "w") as f:
                    f.write(variant)
                proc = subprocess.run([kb_run, out, "--check", "--quiet"],
                                      capture_output=True, text=True)
                rejected = (proc.returncode != 0
                            and "must be divisible by TP world size" in proc.stderr)
                if divides and proc.returncode == 0:
                    status = "pass"
                    passed += 1
                elif not divides and rejected:
                    status = "skip (shapes do not divide)"
                    skipped += 1
                else:
                    expected = "pass" if divides else "a divisibility error"
                    status = f"FAIL (expected {expected}, exit status {proc.returncode})"
                    failed += 1
                    print(proc.stderr, file=sys.stderr)
                print(f"{case}: {status}")
    print(f"examples matrix: {passed} passed, {failed} failed, "
          f"{skipped} skipped (shapes do not divide)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
