"""Megatron-style tensor-parallel layers with the seed's interface and checks, and the
elementwise ops between them.

Weights are in_features x out_features (y = x @ W), as in the seed. A layer holds its
weight in full (the global view) and kb-tp-partition gives each rank its slice, so one
description serves every world size. Bias works (the seed deferred it): the
column-parallel bias is split like out_features; the row-parallel bias is added once,
after the all-reduce.

The seed's checks run when a layer is built, before any program or tool exists, with
the seed's exception types and messages.

Two vocabularies are accepted. The seed's, `ColumnParallelLinear(in_features,
out_features, bias=False, dtype="f16", torch=None)`, whose forward returns the output;
and Megatron-LM's (megatron/core/tensor_parallel/layers.py), `ColumnParallelLinear(
input_size, output_size, *, config, init_method, bias=True, gather_output=False,
skip_bias_add=False, ...)` and `RowParallelLinear(..., input_is_parallel, ...)`, whose
forward returns `(output, output_bias)` as Megatron's does. A layer built with any of
Megatron's own keywords is a Megatron layer. The defaults differ: Megatron's bias
defaults to True, the seed's (and so kb's) to False, so a Megatron call that leaves
`bias` out warns that its layer has none. Megatron options kb cannot express yet are a
NotImplementedError that names them.
"""
import warnings

import numpy as np

from .dtypes import check_dtype, round_to
from .ir import check_name
from .location import caller_location
from .ops import (add, all_gather, as_tensor, gelu, mul, reduce_scatter,  # noqa: F401
                  scale, silu)  # the elementwise ops and collectives, re-exported
from .parallel_state import get_tensor_model_parallel_world_size
from .program import Tensor, current_program

_DEFAULT_SEED = 1234

# Megatron-LM's keywords that change nothing in an inference-only global view: they
# steer gradients, buffers or communication overlap.
_MEGATRON_NO_EFFECT = ("keep_master_weight_for_test", "embedding_activation_buffer",
                       "grad_output_buffer", "tp_comm_buffer_name", "disable_grad_reduce")


def _init(shape, seed, dtype, fan_in):
    # Deterministic, and scaled by 1/sqrt(fan_in) so f16 activations stay well scaled.
    rng = np.random.default_rng(seed)
    return round_to(rng.uniform(-1, 1, size=shape) / np.sqrt(fan_in), dtype)


def _not_supported(layer, option, why):
    return NotImplementedError(f"{layer}({option}) is not supported by kb yet: {why}")


class _ParallelLinear:
    _split_name = None  # the feature axis the TP ranks split
    _kind = None        # the kb op

    def _setup(self, in_features, out_features, bias, dtype, dp, seed, name, megatron):
        """`megatron` holds the Megatron-LM keywords the call gave (None when the call
        is in the seed's vocabulary)."""
        cls = type(self).__name__
        self.loc = caller_location()  # where the user built the layer: its parameters'
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{arg} must be a positive integer, got {value!r}")
        config = (megatron or {}).get("config")
        if dtype is None:
            dtype = getattr(config, "params_dtype", None) or "f16"
        dtype = check_dtype(dtype)
        self.returns_bias = megatron is not None  # forward gives (output, output_bias)
        self.skip_bias_add, self.gather_output, self.input_is_parallel = False, False, True
        self.sequence_parallel = False
        if megatron is not None:
            self._megatron_options(cls, megatron, config)
            if bias is None:
                warnings.warn(
                    f"{cls}({in_features}, {out_features}) has no bias: Megatron-LM's "
                    f"bias defaults to True, kb's (the seed's) to False. Pass bias=True "
                    f"for Megatron's layer, or bias=False to keep none without this "
                    f"warning.", UserWarning, stacklevel=3)
        bias = bool(bias)
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
        init_method = (megatron or {}).get("init_method")
        if init_method is not None:
            # Megatron calls it on the weight to fill it in place; here the weight is a
            # float32 numpy array in kb's layout (in_features x out_features).
            weight = np.zeros((in_features, out_features), np.float32)
            returned = init_method(weight)
            self.weight = round_to(weight if returned is None else returned, dtype)

    def _megatron_options(self, cls, given, config):
        """Checks Megatron-LM's keywords: what kb expresses is kept, what it cannot yet
        is refused by name."""
        sequence_parallel = given.get("sequence_parallel")
        if sequence_parallel is None:
            sequence_parallel = getattr(config, "sequence_parallel", False)
        # Megatron's sequence parallelism is kb's per program: a layer that asks for
        # it turns it on for the program it runs in (kb.sequence_parallel).
        self.sequence_parallel = bool(sequence_parallel)
        if given.get("stride", 1) != 1:
            raise _not_supported(cls, f"stride={given['stride']}",
                                 "strided (interleaved) partitions are not expressible")
        if given.get("skip_weight_param_allocation"):
            raise _not_supported(cls, "skip_weight_param_allocation=True",
                                 "the weight is a parameter of the layer; pass your "
                                 "array as layer.weight")
        if given.get("is_expert"):
            raise _not_supported(cls, "is_expert=True", "kb has no expert parallelism")
        if given.get("tp_group") is not None:
            raise _not_supported(cls, "tp_group=...",
                                 "kb has one TP group, sized by kb.parallel_state")
        self.skip_bias_add = bool(given.get("skip_bias_add"))
        self.gather_output = bool(given.get("gather_output"))
        self.input_is_parallel = bool(given.get("input_is_parallel", True))

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
        """Records `x @ W (+ b)` in the current program. Returns the output, or for a
        layer built with Megatron's keywords `(output, output_bias)`: output_bias is
        the bias (a Tensor) when skip_bias_add=True, left for the caller to add, and
        None otherwise. `x` is (M, in_features) or [s, b, in_features]; the output
        keeps x's leading dimensions."""
        program = current_program()
        if not isinstance(x, Tensor):
            raise TypeError(f"{self} takes a kb.Tensor, got {type(x).__name__}")
        if program.world_size != self.world_size:
            raise ValueError(f"{self} was built for TP world size {self.world_size}, "
                             f"program {program.name!r} has {program.world_size}")
        if len(x.shape) < 2 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self} takes (M, {self.in_features}) or (s, b, "
                             f"{self.in_features}) inputs, got {x.shape}")
        if x.dtype != self.dtype:
            raise ValueError(f"{self} is {self.dtype}, its input is {x.dtype}")
        if self.sequence_parallel:
            program.sequence_parallel = True
        weight, bias = program.layer_parameters(self, self.name)
        added = bias if bias is not None and not self.skip_bias_add else None
        operands = [x, weight] + ([added] if added is not None else [])
        output = program.emit(self._kind, operands, x.shape[:-1] + (self.out_features,),
                              self.dtype)
        if self.gather_output:
            # Every rank gets the whole output: kb-tp-partition gathers the columns.
            output = all_gather(output, len(output.ir_shape) - 1)
        if not self.returns_bias:
            return output
        return output, (bias if self.skip_bias_add else None)

    def __repr__(self):
        return f"{type(self).__name__}({self.in_features}, {self.out_features})"


def _sizes(cls, in_features, out_features, input_size, output_size):
    """The feature sizes under either name (the seed's in/out_features, Megatron's
    input/output_size), refusing both at once."""
    for seed_name, seed_value, megatron_name, megatron_value in (
            ("in_features", in_features, "input_size", input_size),
            ("out_features", out_features, "output_size", output_size)):
        if seed_value is not None and megatron_value is not None:
            raise TypeError(f"{cls}() got both {seed_name} and {megatron_name}")
    in_features = in_features if in_features is not None else input_size
    out_features = out_features if out_features is not None else output_size
    if in_features is None or out_features is None:
        raise TypeError(f"{cls}() needs in_features and out_features "
                        f"(Megatron's input_size and output_size)")
    return in_features, out_features


def _megatron_keywords(input_size, output_size, given):
    """The Megatron keywords a call gave, or None for a call in the seed's vocabulary."""
    given = {k: v for k, v in given.items() if v is not None}
    megatron_call = input_size is not None or output_size is not None or bool(given)
    for k in _MEGATRON_NO_EFFECT:
        given.pop(k, None)  # accepted, and no effect, but they mark a Megatron call
    return given if megatron_call else None


class ColumnParallelLinear(_ParallelLinear):
    """Weight's out_features axis distributed across TP ranks.

    forward(x): x (M, in) replicated; rank k holds W_k (in, out/W) and b_k (out/W) and
    computes y_k = x @ W_k + b_k (M, out/W). No collective, unless gather_output=True:
    then an all_gather of the columns leaves the whole output on every rank.
    out_features % W != 0 is a ValueError.

    The seed's arguments: (in_features, out_features, bias=False, dtype="f16",
    torch=None), and kb's dp, seed, name. Megatron-LM's: input_size, output_size,
    config, init_method, bias, gather_output, skip_bias_add,
    sequence_parallel (which turns it on for the whole program), stride (1 only), is_expert (False only), tp_group
    (None only); keep_master_weight_for_test, embedding_activation_buffer,
    grad_output_buffer, tp_comm_buffer_name and disable_grad_reduce are accepted and
    change nothing (kb runs inference).
    """
    _split_name = "out_features"
    _kind = "column_parallel_linear"

    def __init__(self, in_features=None, out_features=None, bias=None, dtype=None,
                 torch=None, dp=None, seed=None, name=None, *, input_size=None,
                 output_size=None, config=None, init_method=None, gather_output=None,
                 skip_bias_add=None, sequence_parallel=None, stride=None,
                 skip_weight_param_allocation=None, is_expert=None, tp_group=None,
                 keep_master_weight_for_test=None, embedding_activation_buffer=None,
                 grad_output_buffer=None, tp_comm_buffer_name=None,
                 disable_grad_reduce=None):
        # `torch` is accepted for the seed's signature; kb needs no torch.
        in_features, out_features = _sizes(type(self).__name__, in_features,
                                           out_features, input_size, output_size)
        megatron = _megatron_keywords(input_size, output_size, dict(
            config=config, init_method=init_method, gather_output=gather_output,
            skip_bias_add=skip_bias_add, sequence_parallel=sequence_parallel,
            stride=stride, skip_weight_param_allocation=skip_weight_param_allocation,
            is_expert=is_expert, tp_group=tp_group,
            keep_master_weight_for_test=keep_master_weight_for_test,
            embedding_activation_buffer=embedding_activation_buffer,
            grad_output_buffer=grad_output_buffer,
            tp_comm_buffer_name=tp_comm_buffer_name,
            disable_grad_reduce=disable_grad_reduce))
        self._setup(in_features, out_features, bias, dtype, dp, seed, name, megatron)


class RowParallelLinear(_ParallelLinear):
    """Weight's in_features axis distributed across TP ranks.

    forward(x): x_k (M, in/W) is rank k's slice (typically a ColumnParallelLinear
    output); y = all_reduce(sum of x_k @ W_k) + b (M, out) on every rank.
    in_features % W != 0 is a ValueError.

    Arguments as ColumnParallelLinear's, with Megatron's input_is_parallel in place of
    gather_output. Both of its values mean what they mean in Megatron: with True the
    input is already split over the ranks (a column-parallel output), with False it is
    whole and each rank takes its slice. In kb's global view the input is the logical
    tensor either way and kb-tp-partition slices what is not already split, so both
    give the same program.
    """
    _split_name = "in_features"
    _kind = "row_parallel_linear"

    def __init__(self, in_features=None, out_features=None, bias=None, dtype=None,
                 torch=None, dp=None, seed=None, name=None, *, input_size=None,
                 output_size=None, config=None, init_method=None, input_is_parallel=None,
                 skip_bias_add=None, sequence_parallel=None, stride=None, is_expert=None,
                 tp_group=None, keep_master_weight_for_test=None, tp_comm_buffer_name=None):
        in_features, out_features = _sizes(type(self).__name__, in_features,
                                           out_features, input_size, output_size)
        megatron = _megatron_keywords(input_size, output_size, dict(
            config=config, init_method=init_method, input_is_parallel=input_is_parallel,
            skip_bias_add=skip_bias_add, sequence_parallel=sequence_parallel,
            stride=stride, is_expert=is_expert, tp_group=tp_group,
            keep_master_weight_for_test=keep_master_weight_for_test,
            tp_comm_buffer_name=tp_comm_buffer_name))
        self._setup(in_features, out_features, bias, dtype, dp, seed, name, megatron)
