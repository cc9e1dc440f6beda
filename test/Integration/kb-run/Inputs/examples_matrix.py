"""Runs `kb-run --check` on every example for TP world sizes 1, 2, 4 and 8 and for
f32 and f16, and prints a line per case and a summary.

    examples_matrix.py EXAMPLES_DIR KB_RUN TMP_DIR [mlp|decoder]

The optional last argument runs only the examples of one kind (below), so that the two
kinds can be separate tests.

Which world sizes an example's shapes allow is worked out here from its parallel
layers and attention heads, independently of kb: a case that should run must pass,
and a case whose shapes do not divide must be rejected by kb for exactly that reason.
Anything else, or finding no example at all, is a failure (exit status 1), so the
matrix cannot pass by running nothing.

Two kinds of example, each run down to the device program (`kb-run example --check`):
- mlp: the MLP blocks, in f32 and f16, on kb-run's own random inputs (uniform in
  [-1, 1], weights scaled by 1/sqrt(fan_in));
- decoder: the decoder layers (Llama-2-7B prefill and decode, Llama-3-8B GQA, GPT-2
  small's block), in f16 only (DECODER_DTYPES: their f32 inputs are 0.8 GB per Llama
  example and run; test/Integration/kb-run/decoder-device.test and attention-device.test
  cover f32 and bf16 at small shapes). Their inputs are written here, each 2-D argument
  scaled by 1/sqrt(its rows) (the fan-in of a weight), and every result must be finite:
  a comparison of infinities checks nothing.

An example in AWAITING is reported with its reason and not run: a test of its own
runs it, marked as an expected failure until kb supports what it needs."""
import glob
import os
import re
import subprocess
import sys

WORLD_SIZES = (1, 2, 4, 8)
DTYPES = ("f32", "f16")
DECODER_DTYPES = ("f16",)

# An example with one of these ops is a decoder layer.
DECODER_OPS = ("kb.attention", "kb.rms_norm", "kb.layer_norm")

# Examples that need what kb-tp-partition does not do yet, and why.
AWAITING = {}
# Whole models, run by a test of their own (a full-size run takes minutes, and a
# model's vocabulary padding is not a layer's divisibility): not in the matrix.
ELSEWHERE = {"gpt2_small.mlir": "a whole model, run by python/tests/test_gpt2_small.py "
                                "and, reduced, test/Integration/kb-run/gpt2-small.test"}

# The weight (the second operand) of each parallel layer, e.g.
#   kb.column_parallel_linear %x, %w1 bias %b1
#       : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> ...
LAYER = re.compile(r"kb\.(column|row)_parallel_linear\b[^:]*:\s*\(\s*tensor<[^>]*>\s*,"
                   r"\s*tensor<(\d+)x(\d+)x")
HEADS = re.compile(r"kb\.attention\b[^:]*\bheads (\d+) kv_heads (\d+)")
ARGUMENT = re.compile(r"%[\w$.]+:\s*tensor<((?:\d+x)+)[a-z0-9]+>")


def split_sizes(text):
    """The sizes the TP ranks split: a column-parallel layer's out_features (the
    weight's columns), a row-parallel layer's in_features (its rows), and each
    attention's query and KV head counts (Megatron gives each rank whole heads)."""
    sizes = [int(cols) if kind == "column" else int(rows)
             for kind, rows, cols in LAYER.findall(text)]
    if len(sizes) != len(re.findall(r"kb\.(?:column|row)_parallel_linear\b", text)):
        raise ValueError("cannot read the weight shape of every parallel layer")
    heads = HEADS.findall(text)
    if len(heads) != len(re.findall(r"kb\.attention\b", text)):
        raise ValueError("cannot read the head counts of every attention")
    return sizes + [int(n) for pair in heads for n in pair]


def argument_shapes(text):
    """The entry's argument shapes, in order, from its signature."""
    signature = re.search(r"func\.func @\w+\((.*?)\)\s*->", text, re.S)
    if not signature:
        raise ValueError("cannot read the entry's signature")
    return [tuple(int(d) for d in dims.rstrip("x").split("x"))
            for dims in ARGUMENT.findall(signature.group(1))]


def write_inputs(text, dtype, directory):
    """One .npy per argument, deterministic: uniform in [-1, 1], a 2-D argument
    scaled by 1/sqrt(rows) (std 1/sqrt(3 rows)), a vector (norm weights, biases)
    around 1 for norms to keep their scale. Returns the paths in order."""
    import numpy as np
    rng = np.random.default_rng(7)
    numpy_dtype = {"f32": np.float32, "f16": np.float16}[dtype]
    paths = []
    for i, shape in enumerate(argument_shapes(text)):
        value = rng.uniform(-1, 1, shape)
        if len(shape) == 2:
            value *= np.sqrt(3.0 / max(shape[0], 1))
        elif len(shape) == 1:
            value = 1 + 0.1 * value
        path = os.path.join(directory, f"arg{i}.npy")
        np.save(path, value.astype(numpy_dtype))
        paths.append(path)
    return paths


def all_finite(directory, count):
    import numpy as np
    for i in range(count):
        path = os.path.join(directory, f"result{i}.npy")
        if not os.path.exists(path) or not np.all(np.isfinite(np.load(path))):
            return False
    return True


def run_case(kb_run, path, inputs):
    """Runs one variant; returns the failed process (or a string) or None on success."""
    command = [kb_run, path, "--check", "--quiet"]
    if inputs is None:
        proc = subprocess.run(command, capture_output=True, text=True)
        return proc if proc.returncode else None
    outputs = path.replace(".mlir", ".results")
    os.makedirs(outputs, exist_ok=True)
    command += ["--output-dir", outputs]
    for p in inputs:
        command += ["--input", p]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        return proc
    results = len(re.findall(r"tensor<", re.search(r"\)\s*->\s*(.*?)\{",
                                                      open(path).read(), re.S).group(1)))
    if not all_finite(outputs, results):
        return "a result is not finite"
    return None


def main():
    examples, kb_run, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    select = sys.argv[4] if len(sys.argv) > 4 else None
    if select not in (None, "mlp", "decoder"):
        print(f"examples matrix: unknown selection {select!r} (mlp or decoder)",
              file=sys.stderr)
        return 1
    os.makedirs(tmp, exist_ok=True)
    paths = sorted(p for p in glob.glob(os.path.join(examples, "*.mlir"))
                   if os.path.basename(p) not in ELSEWHERE)
    if not paths:
        print(f"examples matrix: no example (*.mlir) in {examples}", file=sys.stderr)
        return 1
    ran = 0
    passed = failed = skipped = awaiting = 0
    for path in paths:
        name = os.path.basename(path)
        text = open(path).read()
        decoder = any(op in text for op in DECODER_OPS)
        if select and select != ("decoder" if decoder else "mlp"):
            continue
        if name in AWAITING:
            print(f"{name}: not run: {AWAITING[name]}")
            awaiting += 1
            continue
        try:
            sizes = split_sizes(text)
        except ValueError as e:
            print(f"{name}: FAIL: {e}")
            failed += len(WORLD_SIZES) * len(DTYPES)
            continue
        for dtype in DECODER_DTYPES if decoder else DTYPES:
            inputs = None
            for world in WORLD_SIZES:
                divides = all(size % world == 0 for size in sizes)
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
                if decoder and inputs is None:
                    directory = os.path.join(tmp, f"{name}.{dtype}.inputs")
                    os.makedirs(directory, exist_ok=True)
                    inputs = write_inputs(variant, dtype, directory)
                ran += 1
                problem = run_case(kb_run, out, inputs)
                stderr = getattr(problem, "stderr", "") or ""
                rejected = (problem is not None and not isinstance(problem, str)
                            and "must be divisible by TP world size" in stderr)
                if divides and problem is None:
                    status = "pass"
                    passed += 1
                elif not divides and rejected:
                    status = "skip (shapes do not divide)"
                    skipped += 1
                else:
                    expected = "pass" if divides else "a divisibility error"
                    why = problem if isinstance(problem, str) else (
                        f"exit status {problem.returncode}" if problem is not None
                        else "it passed")
                    status = f"FAIL (expected {expected}; {why})"
                    failed += 1
                    print(stderr, file=sys.stderr)
                print(f"{case}: {status}")
            if inputs:  # the Llama inputs are 0.4 GB per dtype: keep the disk clear
                for p in inputs:
                    os.remove(p)
    if not ran and not awaiting:
        print(f"examples matrix: no {select} example in {examples}", file=sys.stderr)
        return 1
    print(f"examples matrix: {passed} passed, {failed} failed, "
          f"{skipped} skipped (shapes do not divide), {awaiting} awaiting support")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
