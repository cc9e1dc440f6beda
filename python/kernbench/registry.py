"""Which kb op a launched kernel is.

A kernbench launch names a kernel function; kb compiles ops, not kernel bodies. The
registry maps each kernel (by the function, or by its name for a same-named kernel of
another module, such as the real kernbench's `_gemm_kernel`) to one of the ops below,
with the argument order the kernel takes:

| op     | arguments               | meaning                      |
|--------|-------------------------|------------------------------|
| `gemm` | (a, b, c, M, K, N)      | c = a @ b (a linear layer's) |
| `gelu` | (x, y, M, N)            | y = gelu(x), tanh form       |
| `add`  | (a, b, c, M, N)         | c = a + b; b (M, N) or (N,)  |

`register(kernel, op)` adds a kernel of your own that computes one of them.
"""
from .tp import kernels

# op -> (tensor arguments read, the tensor argument written, the names of the
# scalars that follow the tensors)
OPS = {
    "gemm": ((0, 1), 2, ("M", "K", "N")),
    "gelu": ((0,), 1, ("M", "N")),
    "add": ((0, 1), 2, ("M", "N")),
}

_by_function = {}
_by_name = {}


def register(kernel, op):
    """Launches of `kernel` are the kb op `op` (a key of OPS)."""
    if op not in OPS:
        raise ValueError(f"kernel op must be one of {', '.join(OPS)}, got {op!r}")
    if not callable(kernel):
        raise TypeError(f"register takes a kernel function, got {kernel!r}")
    _by_function[kernel] = op
    _by_name[getattr(kernel, "__name__", repr(kernel))] = op


def op_of(kernel, launch_name):
    """The op of `kernel`, or NotImplementedError naming it and what is registered."""
    op = _by_function.get(kernel) or _by_name.get(getattr(kernel, "__name__", None))
    if op is None:
        name = getattr(kernel, "__name__", repr(kernel))
        known = ", ".join(sorted(_by_name))
        raise NotImplementedError(
            f"launch {launch_name!r}: kb does not know kernel {name!r} (it knows {known}); "
            f"register it with kernbench.registry.register(kernel, op) if it computes one "
            f"of {', '.join(OPS)}")
    return op


register(kernels._gemm_kernel, "gemm")
register(kernels._gelu_kernel, "gelu")
register(kernels._add_kernel, "add")
