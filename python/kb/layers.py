"""Megatron-style tensor-parallel layers with the seed's interface and checks, and the
elementwise ops between them.

Weights are in_features x out_features (y = x @ W), as in the seed. A layer holds its
weight in full (the global view) and kb-tp-partition gives each rank its slice, so one
description serves every world size. Bias works (the seed deferred it): the
column-parallel bias is split like out_features; the row-parallel bias is added once,
after the all-reduce.

The seed's checks run when a layer is built, before any program or tool exists, with
the seed's exception types and messages.
"""
import math
import numpy as np

from .dtypes import check_dtype, round_to
from .ir import check_name
from .parallel_state import get_tensor_model_parallel_world_size
from .program import Tensor, current_program

_DEFAULT_SEED = 1234


def _init(shape, seed, dtype, fan_in):
    # Deterministic, and scaled by 1/sqrt(fan_in) so f16 activations stay well scaled.
    rng = np.random.default_rng(seed)
    return round_to(rng.uniform(-1, 1, size=shape) / np.sqrt(fan_in), dtype)


class _ParallelLinear:
    _split_name = None  # the feature axis the TP ranks split
    _kind = None        # the kb op

    def __init__(self, in_features, out_features, bias=False, dtype="f16", torch=None,
                 dp=None, seed=None, name=None):
        # `torch` is accepted for the seed's signature; kb needs no torch.
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{arg} must be a positive integer, got {value!r}")
        check_dtype(dtype)
        ws = get_tensor_model_parallel_world_size()
        split = out_features if self._split_name == "out_features" else in_features
        if split % ws != 0:
            raise ValueError(
                f"{self._split_name} ({split}) must be divisible by TP world "
                f"size ({ws})"
            )
        self.in_features, self.out_features = in_features, out_features
        self.dtype, self.world_size = dtype, ws
        self.name = None if name is None else check_name(name, "layer name")
        self.dp = dp
        seed = _DEFAULT_SEED + in_features * 7 + out_features if seed is None else seed
        # Set your own arrays (in_features x out_features; out_features) any time
        # before the program runs; they are read then.
        self.weight = _init((in_features, out_features), seed, dtype, in_features)
        self.bias = _init((out_features,), seed + 1, dtype, in_features) if bias else None

    @property
    def local_weight_shape(self):
        """The shape of one rank's weight slice: what a DPPolicy on the weight places."""
        if self._split_name == "out_features":
            return (self.in_features, self.out_features // self.world_size)
        return (self.in_features // self.world_size, self.out_features)

    @property
    def dp(self):
        """The DPPolicy of each rank's weight slice, or None to let kb-place choose."""
        return self._dp

    @dp.setter
    def dp(self, policy):
        if policy is not None:
            policy.check(self.local_weight_shape, f"{self} weight slice")
        self._dp = policy

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """Records `x @ W (+ b)` in the current program and returns its result."""
        program = current_program()
        if not isinstance(x, Tensor):
            raise TypeError(f"{self} takes a kb.Tensor, got {type(x).__name__}")
        if program.world_size != self.world_size:
            raise ValueError(f"{self} was built for TP world size {self.world_size}, "
                             f"program {program.name!r} has {program.world_size}")
        if len(x.shape) != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self} takes (M, {self.in_features}) inputs, got {x.shape}")
        if x.dtype != self.dtype:
            raise ValueError(f"{self} is {self.dtype}, its input is {x.dtype}")
        weight, bias = program.layer_parameters(self, self.name)
        operands = [x, weight] + ([bias] if bias is not None else [])
        return program.emit(self._kind, operands, (x.shape[0], self.out_features), self.dtype)

    def __repr__(self):
        return f"{type(self).__name__}({self.in_features}, {self.out_features})"


class ColumnParallelLinear(_ParallelLinear):
    """Weight's out_features axis distributed across TP ranks.

    forward(x): x (M, in) replicated; rank k holds W_k (in, out/W) and b_k (out/W) and
    computes y_k = x @ W_k + b_k (M, out/W). No collective. out_features % W != 0 is a
    ValueError.
    """
    _split_name = "out_features"
    _kind = "column_parallel_linear"


class RowParallelLinear(_ParallelLinear):
    """Weight's in_features axis distributed across TP ranks.

    forward(x): x_k (M, in/W) is rank k's slice (typically a ColumnParallelLinear
    output); y = all_reduce(sum of x_k @ W_k) + b (M, out) on every rank.
    in_features % W != 0 is a ValueError.
    """
    _split_name = "in_features"
    _kind = "row_parallel_linear"


def _tensor(value, op):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op} takes kb.Tensors, got {type(value).__name__}")
    return value


def gelu(x):
    """GELU, tanh approximation (Megatron's fused bias-GELU): kb.gelu."""
    x = _tensor(x, "gelu")
    return current_program().emit("gelu", [x], x.shape, x.dtype, x.policy)


def silu(x):
    """SiLU (swish), x * sigmoid(x): the gate of Llama's SwiGLU MLP; kb.silu."""
    x = _tensor(x, "silu")
    return current_program().emit("silu", [x], x.shape, x.dtype, x.policy)


def scale(x, factor):
    """factor * x for a finite constant factor (attention's 1/sqrt(d)); kb.scale.
    `0.5 * x` and `x * 0.5` on a kb.Tensor are the same."""
    x = _tensor(x, "scale")
    factor = float(factor)
    if not math.isfinite(factor):
        raise ValueError(f"scale needs a finite factor, got {factor}")
    return current_program().emit("scale", [x], x.shape, x.dtype, x.policy, factor=factor)


def _binary(kind, a, b):
    a, b = _tensor(a, kind), _tensor(b, kind)
    if a.dtype != b.dtype:
        raise ValueError(f"{kind} needs one dtype, got {a.dtype} and {b.dtype}")
    if b.shape != a.shape and b.shape != a.shape[-1:]:
        raise ValueError(f"{kind} needs b of shape {a.shape} or {a.shape[-1:]}, got {b.shape}")
    return current_program().emit(kind, [a, b], a.shape, a.dtype, a.policy)


def add(a, b):
    """a + b (kb.add); b has a's shape or is a vector of a's last dimension (a bias)."""
    return _binary("add", a, b)


def mul(a, b):
    """a * b elementwise (kb.mul); b has a's shape or is a vector of a's last dimension.
    `a * b` on kb.Tensors is the same."""
    return _binary("mul", a, b)
