"""Megatron-style tensor-parallel layers with the seed's interface and checks.

Weights are in_features x out_features (y = x @ W), as in the seed. They are held in
full (the global view); kb-tp-partition gives each rank its slice. Bias works: the
column-parallel bias is split like out_features, the row-parallel one is added once,
after the all-reduce.
"""
import numpy as np

from .dtypes import check_dtype, round_to
from .parallel_state import get_tensor_model_parallel_world_size
from .program import Tensor, current_program

_DEFAULT_SEED = 1234


def _init(shape, seed, dtype, fan_in):
    # Deterministic and small enough that f16 activations stay well scaled.
    rng = np.random.default_rng(seed)
    return round_to(rng.uniform(-1, 1, size=shape) / np.sqrt(fan_in), dtype)


class _ParallelLinear:
    _split_name = None
    _kind = None
    _weight_name = None

    def __init__(self, in_features, out_features, bias=False, dtype="f16", torch=None,
                 dp=None, seed=None):
        # `torch` is accepted for the seed's signature; kb needs no torch.
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        check_dtype(dtype)
        ws = get_tensor_model_parallel_world_size()
        split = out_features if self._split_name == "out_features" else in_features
        if split % ws != 0:
            raise ValueError(
                f"{self._split_name} ({split}) must be divisible by TP world "
                f"size ({ws})"
            )
        self.in_features, self.out_features = in_features, out_features
        self.dtype, self.dp = dtype, dp
        self.world_size = ws
        seed = _DEFAULT_SEED + in_features * 7 + out_features if seed is None else seed
        self.weight = _init((in_features, out_features), seed, dtype, in_features)
        self.bias = _init((out_features,), seed + 1, dtype, in_features) if bias else None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__} takes a kb.Tensor, got {type(x).__name__}")
        if len(x.shape) != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{type(self).__name__}({self.in_features}, {self.out_features}) "
                             f"takes (M, {self.in_features}) inputs, got {x.shape}")
        if x.dtype != self.dtype:
            raise ValueError(f"{type(self).__name__} is {self.dtype}, its input is {x.dtype}")
        program = current_program()
        weight = program.parameter(self._weight_name, self.weight, self.dtype, self.dp)
        operands = [x, weight]
        if self.bias is not None:
            operands.append(program.parameter(self._weight_name.replace("_w", "_b"),
                                              self.bias, self.dtype))
        return program.emit(self._kind, operands, (x.shape[0], self.out_features),
                            self.dtype, self._weight_name.replace("_w", "_out"))


class ColumnParallelLinear(_ParallelLinear):
    """Weight's out_features axis distributed across TP ranks: y_k = x @ W_k, no
    collective."""
    _split_name = "out_features"
    _kind = "column_parallel_linear"
    _weight_name = "col_parallel_w"


class RowParallelLinear(_ParallelLinear):
    """Weight's in_features axis distributed across TP ranks: y = all_reduce(x_k @ W_k)."""
    _split_name = "in_features"
    _kind = "row_parallel_linear"
    _weight_name = "row_parallel_w"


def gelu(x):
    """GELU, tanh approximation (Megatron's fused bias-GELU)."""
    return current_program().emit("gelu", [x], x.shape, x.dtype, "gelu")


def add(a, b):
    """a + b; b may be a vector of a's last dimension (a bias)."""
    if a.dtype != b.dtype:
        raise ValueError(f"add needs one dtype, got {a.dtype} and {b.dtype}")
    if b.shape != a.shape and b.shape != a.shape[-1:]:
        raise ValueError(f"add needs b of shape {a.shape} or {a.shape[-1:]}, got {b.shape}")
    return current_program().emit("add", [a, b], a.shape, a.dtype, "sum")
