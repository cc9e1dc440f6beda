"""The unsharded model in numpy, written independently of kb's C++, so that comparing
kb-run's outputs with it checks the whole compiler (partition, placement, tiling, the
ring all-reduce), not just the executor against itself.

Arithmetic: products accumulate in f32 and each op's result is rounded to the model's
dtype (f16 by numpy's float16, bf16 to nearest-even; see kb.dtypes). A linear layer
with a bias is two roundings, as a TP program does it: the product is rounded (on the
device it is a gemm result, for a row-parallel layer the all-reduced sum), then the bias
is added and the sum is rounded. GELU is the tanh approximation.
"""
import numpy as np

from .dtypes import round_to

SQRT_2_OVER_PI = 0.7978845608028654


def gelu(x):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in f32."""
    x = np.asarray(x, dtype=np.float32)
    return 0.5 * x * (1.0 + np.tanh(np.float32(SQRT_2_OVER_PI) *
                                    (x + np.float32(0.044715) * x * x * x)))


def silu(x):
    """x * sigmoid(x) = x / (1 + exp(-x)), in f32."""
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore"):
        return x / (np.float32(1.0) + np.exp(-x))


def run(program, inputs=None):
    """Runs `program` on `inputs` (as Program.run takes them); one array per output,
    float16 for f16 and float32 (rounded) for bf16 and f32."""
    return run_values(program, program.argument_values(inputs))


def run_values(program, argument_values):
    """Runs `program` on every argument's value, in the program's argument order."""
    values = {t: np.asarray(v, dtype=np.float32)
              for t, v in zip(program.arguments, argument_values)}

    def rounded(array, dtype):
        return round_to(array, dtype).astype(np.float32)

    for kind, operands, result in program.ops:
        xs = [values[o] for o in operands]
        if kind in ("column_parallel_linear", "row_parallel_linear"):
            y = rounded(np.matmul(xs[0], xs[1], dtype=np.float32), result.dtype)
            if len(xs) == 3:
                y = y + xs[2]
        elif kind == "gelu":
            y = gelu(xs[0])
        elif kind == "silu":
            y = silu(xs[0])
        elif kind == "scale":
            y = xs[0] * np.float32(program.attributes(result)["factor"])
        elif kind == "add":
            y = xs[0] + xs[1]
        elif kind == "mul":
            y = xs[0] * xs[1]
        else:
            raise AssertionError(f"unknown op kind {kind!r}")
        values[result] = rounded(y, result.dtype)
    return [round_to(values[t], t.dtype) for t in program.outputs]
