"""The ops a Program records, one entry per kind: how its line of kb IR is written
(kb.ir) and what it computes in numpy (kb.reference). The layers (kb.layers,
kb.transformer) check their arguments and record ops by kind; the IR writer and the
reference look the kind up here, so an op's text and its meaning sit side by side.

An elementwise op is one line: `unary(...)` or `binary(...)` registers it and makes the
user's function (`kb.gelu`, `kb.mul`), which checks its operands and records the op at
the user's line; the package exports every such function (ELEMENTWISE) as `kb.<name>`.
"""
import math

import numpy as np

from . import reference as ref
from .dtypes import round_to
from .ir import DEFAULT_EPS, DEFAULT_THETA, float_attr
from .program import Tensor, current_program


class OpKind:
    """One kind of op: `ir(names, operands, result, attrs)` gives its IR line (without
    the location); `compute(xs, attrs, result)` its value from the operands' float32
    arrays (already rounded to their dtype), before rounding to the result's dtype."""

    def __init__(self, name, ir, compute):
        self.name, self.ir, self.compute = name, ir, compute


OPS = {}
# The user's functions of the elementwise ops, by name; `kb` exports each of them.
ELEMENTWISE = {}


def register(name, ir, compute):
    if name in OPS:
        raise ValueError(f"op kind {name!r} is registered twice")
    OPS[name] = OpKind(name, ir, compute)
    return OPS[name]


def lookup(kind):
    try:
        return OPS[kind]
    except KeyError:
        raise AssertionError(f"unknown op kind {kind!r}") from None


def _types(operands):
    return ", ".join(o.mlir_type for o in operands)


# Elementwise ops: the kb op keeps its first operand's type.

def as_tensor(value, op):
    """`value`, which op `op` takes as an operand, if it is a kb.Tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op} takes kb.Tensors, got {type(value).__name__}")
    return value


def _emit(kind, operands, like, **attrs):
    return current_program().emit(kind, operands, like.shape, like.dtype, like.policy,
                                  **attrs)


def unary(kind, compute, doc):
    """Registers the elementwise kb op `kind` of one operand, computing
    `compute(x)`, and returns the user's function for it."""
    register(kind, lambda names, operands, result, attrs:
             f"{result.ssa} = kb.{kind} {names[0]} : {result.mlir_type}",
             lambda xs, attrs, result: compute(xs[0]))

    def function(x):
        x = as_tensor(x, kind)
        return _emit(kind, [x], x)
    function.__name__ = function.__qualname__ = kind
    function.__doc__ = doc
    ELEMENTWISE[kind] = function
    return function


def binary(kind, compute, doc):
    """Registers the elementwise kb op `kind` of two operands (the second of the
    first's shape, or a vector of its last dimension), computing `compute(a, b)`, and
    returns the user's function for it."""
    register(kind, lambda names, operands, result, attrs:
             f"{result.ssa} = kb.{kind} {names[0]}, {names[1]} : {_types(operands)}",
             lambda xs, attrs, result: compute(xs[0], xs[1]))

    def function(a, b):
        a, b = as_tensor(a, kind), as_tensor(b, kind)
        if a.dtype != b.dtype:
            raise ValueError(f"{kind} needs one dtype, got {a.dtype} and {b.dtype}")
        if b.shape != a.shape and b.shape != a.shape[-1:]:
            raise ValueError(f"{kind} needs b of shape {a.shape} or {a.shape[-1:]}, "
                             f"got {b.shape}")
        return _emit(kind, [a, b], a)
    function.__name__ = function.__qualname__ = kind
    function.__doc__ = doc
    ELEMENTWISE[kind] = function
    return function


gelu = unary("gelu", ref.gelu,
             "GELU, tanh approximation (Megatron's fused bias-GELU): kb.gelu.")
silu = unary("silu", ref.silu,
             "SiLU (swish), x * sigmoid(x): the gate of Llama's SwiGLU MLP; kb.silu.")
add = binary("add", np.add,
             "a + b (kb.add); b has a's shape or is a vector of a's last dimension "
             "(a bias).")
mul = binary("mul", np.multiply,
             "a * b elementwise (kb.mul); b has a's shape or is a vector of a's last "
             "dimension. `a * b` on kb.Tensors is the same.")


register("scale",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.scale {names[0]} by {float_attr(attrs['factor'])} : "
         f"{result.mlir_type}",
         lambda xs, attrs, result: xs[0] * np.float32(attrs["factor"]))


def scale(x, factor):
    """factor * x for a finite constant factor (attention's 1/sqrt(d)); kb.scale.
    `0.5 * x` and `x * 0.5` on a kb.Tensor are the same."""
    x = as_tensor(x, "scale")
    factor = float(factor)
    if not math.isfinite(factor):
        raise ValueError(f"scale needs a finite factor, got {factor}")
    return _emit("scale", [x], x, factor=factor)


# Collectives a user places by hand (kb-tp-partition places its own): in the global
# view each is the identity on the logical value and asks for a layout, whole or split
# along `dim`.

def _along(x, dim, op):
    x = as_tensor(x, op)
    rank = len(x.ir_shape)
    if isinstance(dim, bool) or not isinstance(dim, int) or not -rank <= dim < rank:
        raise ValueError(f"{op} needs a dimension of a rank-{rank} tensor, got {dim!r}")
    dim %= rank
    ws = current_program().world_size
    if x.ir_shape[dim] % ws != 0:
        raise ValueError(f"{op} splits dimension {dim} (size {x.ir_shape[dim]}) over the "
                         f"ranks; it must be divisible by TP world size ({ws})")
    return x, dim


register("all_gather",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.all_gather {names[0]} along {attrs['dim']} : "
         f"{operands[0].mlir_type} -> {result.mlir_type}",
         lambda xs, attrs, result: xs[0])
register("reduce_scatter",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.reduce_scatter <sum> {names[0]} along {attrs['dim']} : "
         f"{operands[0].mlir_type} -> {result.mlir_type}",
         lambda xs, attrs, result: xs[0])


def all_gather(x, dim):
    """The value of `x`, whole on every rank (kb.all_gather along `dim`): Megatron's
    gather_from_tensor_model_parallel_region. kb-tp-partition gathers a value the ranks
    hold split, with a ring that sends (W-1)/W of it per rank."""
    x, dim = _along(x, dim, "all_gather")
    return current_program().emit("all_gather", [x], x.shape, x.dtype, None, dim=dim)


def reduce_scatter(x, dim):
    """The value of `x`, split along `dim` over the ranks (kb.reduce_scatter <sum>):
    Megatron's reduce_scatter_to_sequence_parallel_region. A row-parallel partial sum is
    reduce-scattered (half the bytes of an all-reduce); a replicated value is sliced."""
    x, dim = _along(x, dim, "reduce_scatter")
    return current_program().emit("reduce_scatter", [x], x.shape, x.dtype, None, dim=dim)


# Linear layers: the product accumulates in f32 and is rounded to the result's dtype
# (on the device a gemm result, or the all-reduced sum), then the bias is added.

def _linear_ir(kind):
    def ir(names, operands, result, attrs):
        bias = f" bias {names[2]}" if len(names) == 3 else ""
        return (f"{result.ssa} = kb.{kind} {names[0]}, {names[1]}{bias} : "
                f"({_types(operands)}) -> {result.mlir_type}")
    return ir


def _linear(xs, attrs, result):
    y = round_to(np.matmul(xs[0], xs[1], dtype=np.float32),
                     result.dtype).astype(np.float32)
    return y + xs[2] if len(xs) == 3 else y


for _kind in ("column_parallel_linear", "row_parallel_linear"):
    register(_kind, _linear_ir(_kind), _linear)


# The decoder-layer ops, computed in float64 by kb.reference's formulas.

def _norm_ir(kind):
    def ir(names, operands, result, attrs):
        eps = ("" if attrs["eps"] == DEFAULT_EPS
               else f" {{eps = {float_attr(attrs['eps'])} : f32}}")
        return f"{result.ssa} = kb.{kind} {', '.join(names)}{eps} : {_types(operands)}"
    return ir


register("rms_norm", _norm_ir("rms_norm"),
         lambda xs, a, result: ref.rmsnorm(xs[0], xs[1], a["eps"]))
register("layer_norm", _norm_ir("layer_norm"),
         lambda xs, a, result: ref.layernorm(xs[0], xs[1], xs[2], a["eps"]))


def _rope_ir(names, operands, result, attrs):
    offset = f" offset {attrs['offset']}" if attrs["offset"] else ""
    theta = ("" if attrs["theta"] == DEFAULT_THETA
             else f" {{theta = {float_attr(attrs['theta'])} : f64}}")
    return (f"{result.ssa} = kb.rope {names[0]} head_dim {attrs['head_dim']}{offset}"
            f"{theta} : {result.mlir_type}")


register("rope", _rope_ir,
         lambda xs, a, result: ref.rope(xs[0], a["head_dim"], a["offset"], a["theta"]))

register("attention",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.attention {', '.join(names)} heads {attrs['heads']} "
         f"kv_heads {attrs['kv_heads']} : ({_types(operands)}) -> {result.mlir_type}",
         lambda xs, a, result: ref.attention(xs[0], xs[1], xs[2], a["heads"],
                                             a["kv_heads"]))

register("kv_append",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.kv_append {names[0]}, {names[1]} : {_types(operands)} -> "
         f"{result.mlir_type}",
         lambda xs, a, result: np.concatenate([xs[0], xs[1]]))


def _extract_slice_ir(names, operands, result, attrs):
    offsets = ", ".join(map(str, attrs["offsets"]))
    sizes = ", ".join(map(str, result.ir_shape))
    strides = ", ".join("1" for _ in result.ir_shape)
    return (f"{result.ssa} = tensor.extract_slice {names[0]}[{offsets}] [{sizes}] "
            f"[{strides}] : {operands[0].mlir_type} to {result.mlir_type}")


def _extract_slice(xs, attrs, result):
    index = tuple(slice(o, o + n) for o, n in zip(attrs["offsets"], attrs["sizes"]))
    return xs[0][index]


register("extract_slice", _extract_slice_ir, _extract_slice)


# The token embedding (Megatron's VocabParallelEmbedding in the global view): rows of
# the table by id. kb-run stops on an id outside the vocabulary; so does the reference.

def _embedding(xs, attrs, result):
    ids, table = xs[0].astype(np.int64), xs[1]
    vocab = table.shape[0]
    bad = np.flatnonzero((ids < 0) | (ids >= vocab))
    if bad.size:
        raise ValueError(f"token id {ids[bad[0]]} at position {bad[0]} is outside the "
                         f"vocabulary of {vocab} ids")
    return table[ids]


register("embedding",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.embedding {names[0]}, {names[1]} : {_types(operands)} -> "
         f"{result.mlir_type}",
         _embedding)


# The tied LM head (kb.lm_head): logits of x against the embedding's table, x · tableᵀ,
# over the vocabulary padded to the result's columns (the padded logits are zero).

def _lm_head(xs, attrs, result):
    x, table = xs[0].astype(np.float64), xs[1].astype(np.float64)
    out = np.zeros((x.shape[0], result.ir_shape[1]))
    out[:, :table.shape[0]] = x @ table.T
    return out


register("lm_head",
         lambda names, operands, result, attrs:
         f"{result.ssa} = kb.lm_head {names[0]}, {names[1]} : {_types(operands)} -> "
         f"{result.mlir_type}",
         _lm_head)
