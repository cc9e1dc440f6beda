"""The seed's own layer code, unmodified, on kb: its ColumnParallelLinear ->
RowParallelLinear block at TP world size 4, through kb-opt and kb-run with --check.

python/tests/data/seed_layers.py is the seed byte for byte: it imports kernbench's
DPPolicy, _gemm_kernel and parallel_state, which the kernbench compatibility package
(python/kernbench) provides. Each rank runs the seed's per-rank code on a recorder
(the `torch=` the seed asks for); the recorder infers the global view (which weight
dimension each rank holds) and builds the kb program. It runs twice: with kb's own
placement, and with the seed's literal DPPolicy(replicate, replicate, num_cubes=1,
num_pes=1) on every tensor, as far as kb's #kb.dp expresses it. Exits 1 unless both
pass kb-run's check against the unsharded program and kb's numpy reference.

    PYTHONPATH=python /usr/bin/python3 python/examples/seed_unchanged.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "data"))

import seed_layers  # noqa: E402  the seed, unmodified
from kernbench.policy.placement.dp import DPPolicy  # noqa: E402
from kernbench.recorder import Recorder  # noqa: E402
from kernbench.tp import parallel_state  # noqa: E402

M, HIDDEN, FFN, WORLD = 64, 256, 1024, 4
TOLERANCE = 1e-2  # f16, relative to the largest magnitude (kb-run --check's too)
SEED_POLICY = DPPolicy(cube="replicate", pe="replicate", num_cubes=1, num_pes=1)


def record():
    """Every rank runs the seed's code, as under kernbench: set_device, build, forward."""
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=WORLD)
    torch = Recorder()
    for rank in range(WORLD):
        torch.ahbm.set_device(rank)
        x = torch.zeros((M, HIDDEN), dtype="f16", dp=SEED_POLICY, name="x")
        column = seed_layers.ColumnParallelLinear(HIDDEN, FFN, torch=torch)
        row = seed_layers.RowParallelLinear(FFN, HIDDEN, torch=torch)
        row.forward(column.forward(x))
    return torch.trace("seed_block", fill="random", seed=0)


def main():
    trace = record()
    print(f"the seed's Column -> Row block, TP world size {trace.world_size}, "
          f"x ({M}, {HIDDEN}) f16")
    for layer in trace.layers:
        print(f"  launch {layer['launch']!r}: {layer['layer']}, weight "
              f"{layer['global_shape']}; each rank holds {layer['rank_shape']} "
              f"(a slice of dimension {layer['split_dim']})")
    ok, times = True, {}
    for placement, title in (("kb", "kb's placement (kb-place chooses)"),
                             ("given", "the seed's DPPolicy(replicate, replicate, "
                                       "num_cubes=1, num_pes=1)")):
        program = trace.program(placement)
        result = program.run(trace.inputs, check=True)
        expected = program.reference(trace.inputs)[0].astype(np.float32)
        got = result.output.astype(np.float32)
        error = float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))
        times[placement] = result.report["device_time_s"]
        passed = result.report["check"]["passed"] and error <= TOLERANCE
        ok = ok and passed
        print(f"\n== {title}")
        print(result.summary.rstrip())
        print(f"max error vs the numpy reference: {error:.2e} of the largest magnitude "
              f"(tolerance {TOLERANCE}): {'ok' if passed else 'FAILED'}")
    print(f"\ndevice time: kb's placement {times['kb'] * 1e6:.2f} us, the seed's "
          f"{times['given'] * 1e6:.2f} us ({times['given'] / times['kb']:.1f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
