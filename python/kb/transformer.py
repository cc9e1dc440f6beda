"""Transformer decoder layers built from kb's ops, Megatron-LM style: RMSNorm and
LayerNorm, a tensor-parallel attention (grouped-query, RoPE or none, biases, GPT-2's
fused QKV), the MLP (GELU, or Llama's SwiGLU), and whole Llama and GPT-2 layers.

The math is docs/Transformer.md's (Hugging Face's): weights in x out (y = x @ W),
activations [tokens, features] with the heads side by side in the feature axis. Like
the linear layers, every layer holds its weights in full (the global view) and
kb-tp-partition splits them: q, k, v column-parallel by heads, RoPE and attention local
to each rank's heads, the output projection row-parallel and all-reduced, the norms and
residuals on whole rows.

Decode: `forward(x, k_cache=..., v_cache=...)` runs the tokens of x at positions
P, P + 1, ... after a cache of P tokens (keys already rotated) and returns
`(y, k_new, v_new)`, the new tokens' rotated k rows and v rows to append to the cache.

These programs compile down to the device like any other: `program.run(inputs,
check=True)`.
"""
import numpy as np

from .dtypes import check_dtype, round_to
from .ir import DEFAULT_EPS, DEFAULT_THETA, check_name
from .layers import ColumnParallelLinear, RowParallelLinear, _init
from .ops import as_tensor, gelu, silu
from .location import caller_location
from .parallel_state import get_tensor_model_parallel_world_size
from .program import current_program

_DEFAULT_SEED = 4321


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _rows(x, layer, features):
    """Checks that x is a [tokens, features] Tensor of the layer's dtype."""
    x = as_tensor(x, layer)
    if len(x.shape) != 2 or x.shape[1] != features:
        raise ValueError(f"{layer} takes [tokens, {features}] inputs, got {x.shape}")
    if x.dtype != layer.dtype:
        raise ValueError(f"{layer} is {layer.dtype}, its input is {x.dtype}")
    return x


class _Norm:
    """A norm's parameters: weight (and bias) of the hidden size, deterministic around
    1 (and 0) so that a missing multiply or add shows in a comparison."""

    def __init__(self, hidden, eps, dtype, seed, name, bias):
        self.loc = caller_location()
        self.hidden = _positive("hidden_size", hidden)
        self.eps = float(eps)
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        self.dtype = check_dtype(dtype)
        self.name = None if name is None else check_name(name, "layer name")
        self.dp = None
        seed = _DEFAULT_SEED + hidden if seed is None else seed
        g = np.random.default_rng(seed)
        self.weight = round_to(1 + 0.1 * g.uniform(-1, 1, hidden), self.dtype)
        self.bias = round_to(0.1 * g.uniform(-1, 1, hidden), self.dtype) if bias else None

    def __call__(self, x):
        return self.forward(x)

    def _check(self, x):
        x = as_tensor(x, self)
        if x.shape[-1] != self.hidden or x.dtype != self.dtype:
            raise ValueError(f"{self} ({self.dtype}) takes [..., {self.hidden}] inputs of "
                             f"its dtype, got {x.shape} {x.dtype}")
        return x

    def __repr__(self):
        return f"{type(self).__name__}({self.hidden})"


class RMSNorm(_Norm):
    """x / sqrt(mean(x^2) + eps) * weight over the last axis (kb.rms_norm); weight
    [hidden]. Runs on whole rows: the TP ranks each compute it on the replicated
    activation."""

    def __init__(self, hidden_size, eps=DEFAULT_EPS, dtype="f16", seed=None, name=None):
        super().__init__(hidden_size, eps, dtype, seed, name, bias=False)

    def forward(self, x):
        x = self._check(x)
        program = current_program()
        weight, _ = program.layer_parameters(self, self.name)
        return program.emit("rms_norm", [x, weight], x.shape, x.dtype, x.policy, eps=self.eps)


class LayerNorm(_Norm):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis, biased
    variance (kb.layer_norm); weight and bias [hidden]."""

    def __init__(self, hidden_size, eps=DEFAULT_EPS, dtype="f16", seed=None, name=None):
        super().__init__(hidden_size, eps, dtype, seed, name, bias=True)

    def forward(self, x):
        x = self._check(x)
        program = current_program()
        weight, bias = program.layer_parameters(self, self.name)
        return program.emit("layer_norm", [x, weight, bias], x.shape, x.dtype, x.policy,
                             eps=self.eps)


def rope(x, head_dim, offset=0, theta=DEFAULT_THETA):
    """Hugging Face's rotate_half RoPE of x [tokens, n * head_dim], row s at position
    offset + s (kb.rope)."""
    x = as_tensor(x, "rope")
    _positive("head_dim", head_dim)
    if head_dim % 2 or x.shape[-1] % head_dim:
        raise ValueError(f"rope needs an even head_dim that divides {x.shape[-1]}, got "
                         f"{head_dim}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"rope's offset must be a position >= 0, got {offset!r}")
    return current_program().emit("rope", [x], x.shape, x.dtype, x.policy,
                                  head_dim=head_dim, offset=offset, theta=float(theta))


def attention(q, k, v, num_heads, num_kv_heads):
    """Causal grouped-query attention (kb.attention): q [S, nH * hd], k and v
    [T, nKV * hd] with T >= S; query s sits at position T - S + s."""
    q, k, v = (as_tensor(t, "attention") for t in (q, k, v))
    return current_program().emit("attention", [q, k, v], q.shape, q.dtype, q.policy,
                                  heads=num_heads, kv_heads=num_kv_heads)


def kv_append(cache, new):
    """The cache's rows followed by the new rows (kb.kv_append)."""
    cache, new = as_tensor(cache, "kv_append"), as_tensor(new, "kv_append")
    if cache.shape[1:] != new.shape[1:] or cache.dtype != new.dtype:
        raise ValueError(f"kv_append needs rows of one width and dtype, got {cache.shape} "
                         f"{cache.dtype} and {new.shape} {new.dtype}")
    return current_program().emit("kv_append", [cache, new],
                                  (cache.shape[0] + new.shape[0],) + cache.shape[1:],
                                  cache.dtype)


def extract_slice(x, offsets, sizes):
    """The static slice x[offsets : offsets + sizes] (tensor.extract_slice)."""
    x = as_tensor(x, "extract_slice")
    offsets, sizes = tuple(offsets), tuple(sizes)
    if len(offsets) != len(x.shape) or len(sizes) != len(x.shape) or any(
            o < 0 or n < 1 or o + n > d for o, n, d in zip(offsets, sizes, x.shape)):
        raise ValueError(f"extract_slice of {x.shape} at {offsets} of size {sizes} is "
                         f"out of bounds")
    return current_program().emit("extract_slice", [x], sizes, x.dtype,
                                  offsets=offsets, sizes=sizes)


class _Fused:
    """GPT-2's fused q|k|v projection: one weight [hidden, (nH + 2 nKV) * hd] and bias,
    sliced into q, k and v in the program (tensor.extract_slice), each slice then
    column-parallel by heads."""

    def __init__(self, hidden, q_cols, kv_cols, bias, dtype, seed, names):
        self.loc = caller_location()
        self.dtype, self.dp = dtype, None
        cols = q_cols + 2 * kv_cols
        self.weight = _init((hidden, cols), seed, dtype, hidden)
        self.bias = _init((cols,), seed + 1, dtype, hidden) if bias else None
        self.parameter_names = names
        self.q_cols, self.kv_cols = q_cols, kv_cols

    def __call__(self, x):
        program = current_program()
        weight, bias = program.layer_parameters(self, None)
        hidden = weight.shape[0]
        outputs, start = [], 0
        for cols in (self.q_cols, self.kv_cols, self.kv_cols):
            w = extract_slice(weight, (0, start), (hidden, cols))
            operands = [x, w]
            if bias is not None:
                operands.append(extract_slice(bias, (start,), (cols,)))
            outputs.append(program.emit("column_parallel_linear", operands,
                                        (x.shape[0], cols), x.dtype))
            start += cols
        return outputs


class ParallelAttention:
    """Megatron's tensor-parallel self-attention.

    ParallelAttention(hidden_size, num_heads, num_kv_heads=None, rope=True, bias=False,
    fused_qkv=False, theta=10000.0, dtype="f16", seed=None, names=None)

    q = x @ wq, k = x @ wk, v = x @ wv (column-parallel: each rank holds nH / W query
    heads and nKV / W KV heads), RoPE on q and k when `rope`, causal attention with
    query head h reading KV head h // (nH / nKV), then @ wo (row-parallel, all-reduced).
    num_kv_heads defaults to num_heads (multi-head attention); head_dim is
    hidden_size / num_heads. num_heads must divide by the TP world size W; with fewer
    KV heads than ranks each KV head is replicated over W / nKV consecutive ranks (as
    Megatron does for GQA), so nKV must divide W, else nKV must divide by W: a
    ValueError naming both numbers otherwise.
    `fused_qkv` holds one [hidden, (nH + 2 nKV) * hd] weight (and bias) split as
    [q | k | v], as GPT-2 does. `names` gives the parameters' argument names.
    """

    def __init__(self, hidden_size, num_heads, num_kv_heads=None, rope=True, bias=False,
                 fused_qkv=False, theta=DEFAULT_THETA, dtype="f16", seed=None, names=None):
        self.loc = caller_location()
        self.hidden = _positive("hidden_size", hidden_size)
        self.num_heads = _positive("num_heads", num_heads)
        self.num_kv_heads = _positive("num_kv_heads",
                                      num_heads if num_kv_heads is None else num_kv_heads)
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size ({hidden_size}) must be divisible by num_heads "
                             f"({num_heads})")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads ({num_heads}) must be divisible by num_kv_heads "
                             f"({self.num_kv_heads})")
        self.head_dim = hidden_size // num_heads
        if rope and self.head_dim % 2:
            raise ValueError(f"RoPE needs an even head_dim, got {self.head_dim} "
                             f"(hidden_size {hidden_size} / num_heads {num_heads})")
        ws = get_tensor_model_parallel_world_size()
        if self.num_heads % ws:
            raise ValueError(f"num_heads ({self.num_heads}) must be divisible by TP world "
                             f"size ({ws})")
        if self.num_kv_heads < ws and ws % self.num_kv_heads:
            raise ValueError(f"num_kv_heads ({self.num_kv_heads}) is below TP world size "
                             f"({ws}) and must divide it, to replicate each KV head over "
                             f"equal groups of ranks")
        if self.num_kv_heads >= ws and self.num_kv_heads % ws:
            raise ValueError(f"num_kv_heads ({self.num_kv_heads}) must be divisible by TP "
                             f"world size ({ws})")
        self.rope, self.theta, self.world_size = bool(rope), float(theta), ws
        self.dtype = check_dtype(dtype)
        self.fused_qkv = bool(fused_qkv)
        names = names or {}
        seed = _DEFAULT_SEED + 17 * hidden_size + num_heads if seed is None else seed
        q_cols, kv_cols = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        if self.fused_qkv:
            self.qkv = _Fused(hidden_size, q_cols, kv_cols, bias, self.dtype, seed,
                              (names.get("qkv", "w_qkv"), names.get("qkv_bias", "b_qkv")))
        else:
            self.q_proj, self.k_proj, self.v_proj = (
                ColumnParallelLinear(hidden_size, cols, bias=bias, dtype=self.dtype,
                                     seed=seed + i)
                for i, cols in ((0, q_cols), (2, kv_cols), (4, kv_cols)))
            for layer, key in ((self.q_proj, "q"), (self.k_proj, "k"), (self.v_proj, "v")):
                layer.parameter_names = (names.get(key, f"w{key}"),
                                         names.get(f"{key}_bias", f"b{key}"))
        self.o_proj = RowParallelLinear(q_cols, hidden_size, bias=bias, dtype=self.dtype,
                                        seed=seed + 6)
        self.o_proj.parameter_names = (names.get("o", "wo"), names.get("o_bias", "bo"))

    def __call__(self, x, k_cache=None, v_cache=None, return_kv=False):
        return self.forward(x, k_cache, v_cache, return_kv)

    def forward(self, x, k_cache=None, v_cache=None, return_kv=False):
        """Records the attention of x [tokens, hidden]. Without a cache: the output
        [tokens, hidden] (tokens at positions 0, 1, ...), or with return_kv=True
        `(output, k, v)`, the rotated keys and values to start a cache. With
        k_cache and v_cache [P, nKV * hd] (keys rotated): the tokens sit at positions
        P, P + 1, ..., attend to the cache and themselves, and the result is
        `(output, k_new, v_new)`."""
        x = _rows(x, self, self.hidden)
        if (k_cache is None) != (v_cache is None):
            raise ValueError(f"{self} needs both k_cache and v_cache, or neither")
        position = 0
        if k_cache is not None:
            kv_cols = self.num_kv_heads * self.head_dim
            for cache in (k_cache, v_cache):
                as_tensor(cache, self)
                if len(cache.shape) != 2 or cache.shape[1] != kv_cols:
                    raise ValueError(f"{self} takes caches of [P, {kv_cols}] (num_kv_heads "
                                     f"x head_dim), got {cache.shape}")
            if k_cache.shape != v_cache.shape:
                raise ValueError(f"k_cache {k_cache.shape} and v_cache {v_cache.shape} "
                                 f"differ")
            position = k_cache.shape[0]
        if self.fused_qkv:
            q, k, v = self.qkv(x)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        if self.rope:
            q = rope(q, self.head_dim, position, self.theta)
            k = rope(k, self.head_dim, position, self.theta)
        keys, values = k, v
        if k_cache is not None:
            keys, values = kv_append(k_cache, k), kv_append(v_cache, v)
        out = self.o_proj(attention(q, keys, values, self.num_heads, self.num_kv_heads))
        return (out, k, v) if (k_cache is not None or return_kv) else out

    def __repr__(self):
        return (f"ParallelAttention({self.hidden}, heads={self.num_heads}, "
                f"kv_heads={self.num_kv_heads})")


class ParallelMLP:
    """Megatron's tensor-parallel MLP: ParallelMLP(hidden_size, ffn_hidden_size,
    activation="gelu" | "swiglu", bias=False, dtype="f16", seed=None, names=None).

    gelu: gelu(x @ w_fc + b_fc) @ w_proj + b_proj; swiglu (Llama):
    (silu(x @ w_gate) * (x @ w_up)) @ w_down. The first projections are
    column-parallel, the last row-parallel and all-reduced."""

    def __init__(self, hidden_size, ffn_hidden_size, activation="gelu", bias=False,
                 dtype="f16", seed=None, names=None):
        self.loc = caller_location()
        if activation not in ("gelu", "swiglu"):
            raise ValueError(f"activation must be 'gelu' or 'swiglu', got {activation!r}")
        self.activation, self.dtype = activation, check_dtype(dtype)
        names = names or {}
        seed = _DEFAULT_SEED + 31 * ffn_hidden_size if seed is None else seed
        column = lambda s: ColumnParallelLinear(hidden_size, ffn_hidden_size,  # noqa: E731
                                                bias=bias, dtype=self.dtype, seed=s)
        if activation == "swiglu":
            self.gate, self.up = column(seed), column(seed + 2)
            self.gate.parameter_names = (names.get("gate", "w_gate"), "b_gate")
            self.up.parameter_names = (names.get("up", "w_up"), "b_up")
            self.down = RowParallelLinear(ffn_hidden_size, hidden_size, bias=bias,
                                          dtype=self.dtype, seed=seed + 4)
            self.down.parameter_names = (names.get("down", "w_down"), "b_down")
        else:
            self.fc = column(seed)
            self.fc.parameter_names = (names.get("fc", "w_fc"), names.get("fc_bias", "b_fc"))
            self.proj = RowParallelLinear(ffn_hidden_size, hidden_size, bias=bias,
                                          dtype=self.dtype, seed=seed + 4)
            self.proj.parameter_names = (names.get("proj", "w_proj"),
                                         names.get("proj_bias", "b_proj"))

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        if self.activation == "swiglu":
            return self.down(silu(self.gate(x)) * self.up(x))
        return self.proj(gelu(self.fc(x)))


def SwiGLU(hidden_size, ffn_hidden_size, dtype="f16", seed=None, names=None):
    """Llama's MLP: ParallelMLP with activation="swiglu" (no biases)."""
    return ParallelMLP(hidden_size, ffn_hidden_size, "swiglu", False, dtype, seed, names)


def _turn_on_sequence_parallel(layer):
    """Sequence parallelism is the program's (the module attribute kb.sequence_parallel,
    which kb-tp-partition reads): a layer built with it turns it on where it runs, as
    Megatron's linear layers with sequence_parallel=True do."""
    if layer.sequence_parallel:
        current_program().sequence_parallel = True


class LlamaDecoderLayer:
    """A Llama decoder layer: h = x + attention(rmsnorm(x)), y = h + swiglu(rmsnorm(h)).

    LlamaDecoderLayer(hidden_size, num_heads, num_kv_heads, ffn_hidden_size,
    eps=1e-5, theta=10000.0, dtype="f16", seed=None, sequence_parallel=False)

    With sequence_parallel=True the layer turns Megatron's sequence parallelism on for
    the program it runs in (kb.sequence_parallel): its norms and residuals work on 1/W
    of the tokens, all-gathered before the projections and reduce-scattered after.

    Its parameters, in the order the program's arguments take them (those of
    examples/llama2_7b_layer.mlir): attn_norm_w, wq, wk, wv, wo, mlp_norm_w, w_gate,
    w_up, w_down. `forward(x)` is prefill (returns y); `forward(x, k_cache, v_cache)`
    a decode step (returns y, k_new, v_new)."""

    def __init__(self, hidden_size, num_heads, num_kv_heads, ffn_hidden_size,
                 eps=DEFAULT_EPS, theta=DEFAULT_THETA, dtype="f16", seed=None,
                 sequence_parallel=False):
        seed = _DEFAULT_SEED if seed is None else seed
        self.sequence_parallel = bool(sequence_parallel)
        self.attn_norm = RMSNorm(hidden_size, eps, dtype, seed)
        self.attn_norm.parameter_names = ("attn_norm_w", None)
        self.attention = ParallelAttention(hidden_size, num_heads, num_kv_heads, rope=True,
                                           theta=theta, dtype=dtype, seed=seed + 100)
        self.mlp_norm = RMSNorm(hidden_size, eps, dtype, seed + 200)
        self.mlp_norm.parameter_names = ("mlp_norm_w", None)
        self.mlp = SwiGLU(hidden_size, ffn_hidden_size, dtype, seed + 300)

    @property
    def weights(self):
        """The parameters' values in argument order."""
        a, m = self.attention, self.mlp
        return [self.attn_norm.weight, a.q_proj.weight, a.k_proj.weight, a.v_proj.weight,
                a.o_proj.weight, self.mlp_norm.weight, m.gate.weight, m.up.weight,
                m.down.weight]

    def __call__(self, x, k_cache=None, v_cache=None, return_kv=False):
        return self.forward(x, k_cache, v_cache, return_kv)

    def forward(self, x, k_cache=None, v_cache=None, return_kv=False):
        _turn_on_sequence_parallel(self)
        attended = self.attention(self.attn_norm(x), k_cache, v_cache, return_kv)
        out, kv = (attended[0], attended[1:]) if isinstance(attended, tuple) else (attended, ())
        h = x + out
        y = h + self.mlp(self.mlp_norm(h))
        return (y,) + tuple(kv) if kv else y


class GPT2Block:
    """A GPT-2 block: h = x + attention(layernorm(x)) @ w_o + b_o with the fused
    w_qkv, b_qkv; y = h + gelu(layernorm(h) @ w_fc + b_fc) @ w_proj + b_proj.

    GPT2Block(hidden_size, num_heads, eps=1e-5, dtype="f16", seed=None,
    sequence_parallel=False); the MLP is 4 x hidden_size. Its parameters, in argument
    order (examples/gpt2_block.mlir): ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w,
    ln2_b, w_fc, b_fc, w_proj, b_proj. sequence_parallel=True turns Megatron's sequence
    parallelism on for the program (as LlamaDecoderLayer's)."""

    def __init__(self, hidden_size, num_heads, eps=DEFAULT_EPS, dtype="f16", seed=None,
                 sequence_parallel=False):
        seed = _DEFAULT_SEED if seed is None else seed
        self.sequence_parallel = bool(sequence_parallel)
        self.ln1 = LayerNorm(hidden_size, eps, dtype, seed)
        self.ln1.parameter_names = ("ln1_w", "ln1_b")
        self.attention = ParallelAttention(hidden_size, num_heads, rope=False, bias=True,
                                           fused_qkv=True, dtype=dtype, seed=seed + 100,
                                           names={"o": "w_o", "o_bias": "b_o"})
        self.ln2 = LayerNorm(hidden_size, eps, dtype, seed + 200)
        self.ln2.parameter_names = ("ln2_w", "ln2_b")
        self.mlp = ParallelMLP(hidden_size, 4 * hidden_size, "gelu", bias=True, dtype=dtype,
                               seed=seed + 300)

    @property
    def weights(self):
        """The parameters' values in argument order."""
        a, m = self.attention, self.mlp
        return [self.ln1.weight, self.ln1.bias, a.qkv.weight, a.qkv.bias, a.o_proj.weight,
                a.o_proj.bias, self.ln2.weight, self.ln2.bias, m.fc.weight, m.fc.bias,
                m.proj.weight, m.proj.bias]

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        _turn_on_sequence_parallel(self)
        h = x + self.attention(self.ln1(x))
        return h + self.mlp(self.ln2(h))
