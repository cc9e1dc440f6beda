"""Random valid kb programs for differential testing: each is run by `kb-run --check`
(the lowered program against the unsharded one) and compared with the numpy reference.

    PYTHONPATH=python /usr/bin/python3 -m kb.random_programs --cases 1000 --seed 1

Programs vary the TP world size (1 to 16), the number of MLP blocks (1 to 3), the
shapes (multiples of W), dtype, biases, and DPPolicies on the weights (any policy that
divides the rank-local weight and fits the device).
"""
import argparse
import sys

import numpy as np

from . import parallel_state
from .layers import ColumnParallelLinear, RowParallelLinear, add, gelu
from .policy import DPPolicy
from .program import Program

TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 3e-2}


def random_policy(rng, local_shape):
    """A DPPolicy that divides `local_shape` on the default device, or None."""
    if rng.random() < 0.4:
        return None
    cube = rng.choice(["replicate", "shard"])
    pe = rng.choice(["replicate", "shard"])
    cube_dim, pe_dim = int(rng.integers(0, 2)), int(rng.integers(0, 2))
    piece = list(local_shape)
    num_cubes = 1
    if cube == "shard":
        options = [c for c in (1, 2, 4) if piece[cube_dim] % c == 0]
        num_cubes = int(rng.choice(options))
        piece[cube_dim] //= num_cubes
    else:
        num_cubes = int(rng.choice([1, 2, 4]))
    num_pes = 1
    if pe == "shard":
        options = [p for p in (1, 2, 4, 8) if piece[pe_dim] % p == 0]
        num_pes = int(rng.choice(options))
    else:
        num_pes = int(rng.choice([1, 8]))
    return DPPolicy(cube=cube, pe=pe, num_cubes=num_cubes, num_pes=num_pes,
                    cube_dim=cube_dim, pe_dim=pe_dim)


def random_program(rng, index):
    world = int(rng.integers(1, 17))
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=world)
    dtype = str(rng.choice(["f32", "f16", "bf16"]))
    m = int(rng.integers(1, 9))
    hidden = world * int(rng.integers(1, 5))
    blocks = int(rng.integers(1, 4))
    with Program(f"random{index}") as program:
        x = program.input("x", (m, hidden), dtype=dtype)
        for _ in range(blocks):
            ffn = world * int(rng.integers(1, 9))
            col = ColumnParallelLinear(hidden, ffn, bias=bool(rng.integers(0, 2)), dtype=dtype,
                                       seed=int(rng.integers(0, 1 << 30)))
            col.dp = random_policy(rng, (hidden, ffn // world))
            row = RowParallelLinear(ffn, hidden, bias=bool(rng.integers(0, 2)), dtype=dtype,
                                    seed=int(rng.integers(0, 1 << 30)))
            row.dp = random_policy(rng, (ffn // world, hidden))
            h = col(x)
            h = gelu(h) if rng.random() < 0.7 else add(h, h)
            x = row(h)
        program.output(x)
    inputs = {"x": rng.uniform(-1, 1, size=(m, hidden))}
    return program, inputs, f"W={world} {dtype} M={m} H={hidden} blocks={blocks}"


def check_case(rng, index):
    program, inputs, description = random_program(rng, index)
    result = program.run(inputs, check=True)
    expected = program.reference(inputs)[0].astype(np.float32)
    got = result.output.astype(np.float32)
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    error = float(np.max(np.abs(got - expected))) / scale
    dtype = program.outputs[0].dtype
    if not error <= TOLERANCE[dtype]:
        raise AssertionError(f"case {index} ({description}): error {error:.3g} vs numpy "
                             f"exceeds {TOLERANCE[dtype]}\n{program.to_mlir()}")
    return description


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    failures = 0
    for i in range(a.cases):
        try:
            check_case(rng, i)
        except Exception as e:  # report every failing case, then fail
            failures += 1
            print(f"FAIL {e}", file=sys.stderr)
    print(f"{a.cases - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
