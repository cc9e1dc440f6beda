"""The seed's block, written the way the seed writes it: ColumnParallelLinear -> gelu
-> RowParallelLinear under TP = 4, f16, run on the simulated AHBM system by kb-run and
compared with kb's numpy reference of the unsharded model.

    PYTHONPATH=python /usr/bin/python3 python/examples/seed_mlp.py
"""
import sys

import numpy as np

import kb
from kb.parallel_state import get_tensor_model_parallel_world_size, initialize_model_parallel

M, HIDDEN, FFN = 64, 256, 1024


def main():
    initialize_model_parallel(tensor_model_parallel_size=4)
    seed_policy = kb.DPPolicy(cube="replicate", pe="replicate", num_cubes=1, num_pes=1)
    with kb.Program("seed_mlp") as program:
        x = program.input("x", (M, HIDDEN), dtype="f16")
        column = kb.ColumnParallelLinear(HIDDEN, FFN, bias=True, dtype="f16", dp=seed_policy)
        row = kb.RowParallelLinear(FFN, HIDDEN, bias=True, dtype="f16", dp=seed_policy)
        program.output(row(kb.gelu(column(x))))

    rng = np.random.default_rng(0)
    inputs = {"x": rng.uniform(-1, 1, size=(M, HIDDEN)).astype(np.float16)}
    result = program.run(inputs, check=True)
    expected = program.reference(inputs)[0].astype(np.float32)
    got = result.output.astype(np.float32)
    error = float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))
    report = result.report
    print(f"TP world size {get_tensor_model_parallel_world_size()}: output {got.shape} "
          f"{got.dtype}, device time {report['device_time_s'] * 1e6:.2f} us, "
          f"all_reduce bytes per rank {[c['bytes_sent_per_rank'] for c in report['collectives']]}")
    print(f"max error vs the numpy reference: {error:.2e} of the largest magnitude "
          f"(kb-run's own check: {report['check']['passed']})")
    return 0 if error <= 1e-2 and report["check"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
