"""The seed's block, written the way the seed writes it: ColumnParallelLinear -> gelu
-> RowParallelLinear under TP = 4, f16, with the seed's DPPolicy on the weights. It runs
on the simulated AHBM system (kb-run compiles the global view with the kb pipeline),
prints kb-run's report and compares the output with kb's numpy reference of the
unsharded model; it exits 1 if the error exceeds the f16 tolerance.

    PYTHONPATH=python /usr/bin/python3 python/examples/seed_mlp.py
"""
import sys

import numpy as np

import kb
from kb.parallel_state import get_tensor_model_parallel_world_size, initialize_model_parallel

M, HIDDEN, FFN = 64, 256, 1024
TOLERANCE = 1e-2  # f16, relative to the largest magnitude (kb-run --check's too)


def main():
    initialize_model_parallel(tensor_model_parallel_size=4)
    ws = get_tensor_model_parallel_world_size()
    seed_policy = kb.DPPolicy(cube="replicate", pe="replicate", num_cubes=1, num_pes=1)
    with kb.Program("seed_mlp") as program:
        x = program.input((M, HIDDEN), dtype="f16")
        # The seed's layers: weight (in, out); column splits out, row splits in, and
        # the row layer's forward ends with an all_reduce(sum). Biases are ours.
        column = kb.ColumnParallelLinear(HIDDEN, FFN, bias=True, dtype="f16", dp=seed_policy)
        row = kb.RowParallelLinear(FFN, HIDDEN, bias=True, dtype="f16", dp=seed_policy)
        program.output(row(kb.gelu(column(x))))

    x_value = np.random.default_rng(0).uniform(-1, 1, size=(M, HIDDEN)).astype(np.float16)
    result = program.run({"x": x_value}, check=True)
    expected = program.reference({"x": x_value})[0].astype(np.float32)
    got = result.output.astype(np.float32)
    error = float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))

    print(f"seed MLP block, TP world size {ws}: x {x_value.shape} -> y {result.output.shape} "
          f"{result.output.dtype}")
    print(result.summary.rstrip())
    print(f"max error vs the numpy reference: {error:.2e} of the largest magnitude "
          f"(tolerance {TOLERANCE})")
    return 0 if error <= TOLERANCE and result.report["check"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
