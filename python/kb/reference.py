"""The unsharded model in numpy, written independently of kb's C++: f32 products and
accumulation, each op's result rounded to the model's dtype."""
import numpy as np

from .dtypes import round_to


def gelu(x):
    x = x.astype(np.float32)
    return 0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608028654) *
                                    (x + np.float32(0.044715) * x * x * x)))


def run_reference(program, argument_values):
    values = {t.name: np.asarray(v, dtype=np.float32)
              for (t, _, _), v in zip(program.arguments, argument_values)}
    for kind, operands, result in program.ops:
        xs = [values[o.name] for o in operands]
        if kind in ("column_parallel_linear", "row_parallel_linear"):
            y = round_to(xs[0] @ xs[1], result.dtype).astype(np.float32)
            if len(xs) == 3:
                y = y + xs[2]
        elif kind == "gelu":
            y = gelu(xs[0])
        elif kind == "add":
            y = xs[0] + xs[1]
        else:
            raise AssertionError(kind)
        values[result.name] = round_to(y, result.dtype).astype(np.float32)
    return [round_to(values[t.name], t.dtype) for t in program.outputs]
