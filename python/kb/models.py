"""What a whole model needs around its decoder layers: Megatron-LM's
VocabParallelEmbedding (megatron/core/tensor_parallel/layers.py).

Like the linear layers, the embedding holds its table in full (the global view,
[num_embeddings, embedding_dim]) and kb-tp-partition splits it: the vocabulary is cut
into W shards of ceil(V / W) ids, each rank looks up the ids of its shard and writes
zeros for the others, and the partial sums are all-reduced (reduce-scattered along the
tokens under sequence parallelism). A vocabulary W does not divide is padded to W
shards of ceil(V / W) (Megatron's make-vocab-size-divisible-by, with the multiple W);
the padded rows are never looked up, so they are not stored (docs/Models.md).

Token ids are an input of dtype "i32" or "i64" and shape [tokens]:

    with kb.Program("embed") as p:
        ids = p.input("ids", (9,), dtype="i32")
        x = kb.VocabParallelEmbedding(50257, 768)(ids)
"""
import numpy as np

from .dtypes import ID_DTYPES, check_dtype, round_to
from .ir import check_name
from .location import caller_location
from .ops import as_tensor
from .parallel_state import get_tensor_model_parallel_world_size
from .program import current_program

_DEFAULT_SEED = 2718


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_sequence_parallel_tokens(model, tokens):
    """kb does not pad tokens for sequence parallelism: refused here with both numbers,
    as kb-tp-partition refuses it."""
    ws = current_program().world_size
    if model.sequence_parallel and tokens % ws != 0:
        raise ValueError(f"{model.__class__.__name__} with sequence_parallel=True splits "
                         f"its {tokens} tokens over TP world size {ws}, which does not "
                         f"divide them (kb does not pad)")


class VocabParallelEmbedding:
    """Megatron's VocabParallelEmbedding(num_embeddings, embedding_dim): out[s] =
    weight[ids[s]] with weight [num_embeddings, embedding_dim]. `weight` may be given
    (a numpy array of that shape, rounded to dtype); otherwise it is drawn uniformly in
    [-1, 1) from `seed`. GPT-2's wte and wpe are two of them (wpe looked up at the
    positions, or sliced: kb.transformer.extract_slice)."""

    def __init__(self, num_embeddings, embedding_dim, dtype="f16", weight=None,
                 seed=None, name=None):
        self.loc = caller_location()
        self.num_embeddings = _positive("num_embeddings", num_embeddings)
        self.embedding_dim = _positive("embedding_dim", embedding_dim)
        self.dtype = check_dtype(dtype)
        self.name = None if name is None else check_name(name, "layer name")
        self.dp = None
        self.bias = None
        shape = (num_embeddings, embedding_dim)
        if weight is None:
            g = np.random.default_rng(_DEFAULT_SEED + num_embeddings if seed is None
                                      else seed)
            weight = g.uniform(-1, 1, size=shape)
        weight = np.asarray(weight)
        if weight.shape != shape:
            raise ValueError(f"{self} takes a weight of shape {shape}, got {weight.shape}")
        self.weight = round_to(weight, self.dtype)

    def __call__(self, ids):
        return self.forward(ids)

    def forward(self, ids):
        ids = as_tensor(ids, self)
        if ids.dtype not in ID_DTYPES or len(ids.shape) != 1:
            raise ValueError(f"{self} takes token ids: a [tokens] input of dtype i32 or "
                             f"i64, got {ids.shape} {ids.dtype}")
        program = current_program()
        weight, _ = program.layer_parameters(self, self.name)
        return program.emit("embedding", [ids, weight],
                            (ids.shape[0], self.embedding_dim), self.dtype)

    def __repr__(self):
        return f"VocabParallelEmbedding({self.num_embeddings}, {self.embedding_dim})"


class ParallelLMHead:
    """The output layer, untied: logits = x @ weight with weight [hidden_size,
    vocab_size] (kb's in x out), column-parallel over the vocabulary, built from kb's
    own ops: a kb.column_parallel_linear of the padded vocabulary, a kb.all_gather of
    its columns (gather_output=True, Megatron's gather_output) and a
    tensor.extract_slice that drops the padded logits.

    The vocabulary is padded, as Megatron's make-vocab-size-divisible-by pads it, to a
    multiple of make_vocab_size_divisible_by * W (W the TP world size; default
    make_vocab_size_divisible_by=1: a multiple of W), so GPT-2's 50257 runs at W = 4 and
    8: the layer's parameter is the padded weight [hidden_size, padded_vocab_size],
    `weight` (or the random default) in its first vocab_size columns and zeros after.
    With gather_output=False the logits stay vocab-parallel (split along the
    vocabulary) and keep their padded columns, as Megatron hands them to its
    vocab-parallel cross entropy.

    Tied (`embedding=` a VocabParallelEmbedding of [vocab_size, hidden_size], as
    Megatron's share_embeddings_and_output_weights): logits = x @ wte^T by kb.lm_head,
    which reads the embedding's own table argument (no second copy, no transpose) and
    computes the padded logits' columns per rank, the padded ones zero."""

    def __init__(self, hidden_size, vocab_size, dtype="f16", weight=None, seed=None,
                 gather_output=True, make_vocab_size_divisible_by=1, name=None,
                 embedding=None):
        from .layers import ColumnParallelLinear
        self.hidden_size = _positive("hidden_size", hidden_size)
        self.vocab_size = _positive("vocab_size", vocab_size)
        multiple = (_positive("make_vocab_size_divisible_by", make_vocab_size_divisible_by)
                    * get_tensor_model_parallel_world_size())
        self.padded_vocab_size = -(-vocab_size // multiple) * multiple
        self.gather_output = bool(gather_output)
        self.embedding = embedding
        if embedding is not None:
            if weight is not None:
                raise ValueError(f"{self} is tied to {embedding}: it takes no weight")
            if (embedding.num_embeddings, embedding.embedding_dim) != (vocab_size,
                                                                      hidden_size):
                raise ValueError(f"{self} cannot be tied to {embedding}: the table must "
                                 f"be [{vocab_size}, {hidden_size}]")
            self.linear = None
            self.dtype = embedding.dtype
            return
        self.linear = ColumnParallelLinear(hidden_size, self.padded_vocab_size, bias=False,
                                           dtype=dtype, seed=seed, name=name)
        self.dtype = self.linear.dtype
        if weight is None:
            weight = self.linear.weight[:, :vocab_size]
        weight = np.asarray(weight)
        if weight.shape != (hidden_size, vocab_size):
            raise ValueError(f"{self} takes a weight of shape {(hidden_size, vocab_size)}, "
                             f"got {weight.shape}")
        padded = np.zeros((hidden_size, self.padded_vocab_size), np.float32)
        padded[:, :vocab_size] = weight
        self.linear.weight = round_to(padded, self.dtype)

    @property
    def weight(self):
        """The unpadded weight [hidden_size, vocab_size] (wte^T when tied)."""
        if self.embedding is not None:
            return self.embedding.weight.T
        return self.linear.weight[:, :self.vocab_size]

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        from .ops import all_gather
        from .transformer import extract_slice
        if self.embedding is None:
            logits = self.linear(x)
        else:
            x = as_tensor(x, self)
            if len(x.shape) != 2 or x.shape[1] != self.hidden_size:
                raise ValueError(f"{self} takes [tokens, {self.hidden_size}], got "
                                 f"{x.shape}")
            program = current_program()
            table, _ = program.layer_parameters(self.embedding, self.embedding.name)
            logits = program.emit("lm_head", [x, table],
                                  (x.shape[0], self.padded_vocab_size), self.dtype)
        if not self.gather_output:
            return logits
        logits = all_gather(logits, 1)
        if self.padded_vocab_size == self.vocab_size:
            return logits
        return extract_slice(logits, (0, 0), (logits.shape[0], self.vocab_size))

    def __repr__(self):
        return f"ParallelLMHead({self.hidden_size}, {self.vocab_size})"


class _Positions:
    """GPT-2's learned positions wpe [n_ctx, hidden], a parameter of the model read as
    its first S rows (a prompt at position 0): tensor.extract_slice, no ids."""

    def __init__(self, n_ctx, hidden, dtype, seed):
        self.n_ctx, self.hidden, self.dtype = n_ctx, hidden, dtype
        self.weight = round_to(np.random.default_rng(seed).uniform(-1, 1, (n_ctx, hidden)),
                               dtype)
        self.bias, self.dp = None, None
        self.parameter_names = ("wpe", None)

    def __call__(self, tokens):
        from .transformer import extract_slice
        if tokens > self.n_ctx:
            raise ValueError(f"{tokens} tokens do not fit GPT-2's context of {self.n_ctx}")
        wpe, _ = current_program().layer_parameters(self, None)
        return extract_slice(wpe, (0, 0), (tokens, self.hidden))


class GPT2Model:
    """GPT-2 from token ids to logits: wte(ids) + wpe[:S], n GPT2Blocks, the final
    LayerNorm, and the output layer over the vocabulary (kb.ParallelLMHead, padded to a
    multiple of W). Tied (the default, as GPT-2): the head multiplies by wte itself
    (kb.lm_head). With tied=False the head has its own padded weight [H, Vp], holding
    wte^T's values, as one more argument.

    Arguments in order: ids [S] (i32), wte [V, H], wpe [n_ctx, H], each block's 12
    weights (ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_fc, b_fc, w_proj,
    b_proj), ln_f_w, ln_f_b (then lm_head [H, Vp] when untied): the order of GPT-2's
    checkpoints. sequence_parallel=True runs the blocks with Megatron's sequence
    parallelism (the token count must then be a multiple of W: kb does not pad)."""

    def __init__(self, num_layers, hidden_size, num_heads, vocab_size, n_ctx,
                 dtype="f16", seed=None, eps=1e-5, tied=True, sequence_parallel=False):
        from .transformer import GPT2Block, LayerNorm
        seed = 31 if seed is None else seed
        self.sequence_parallel = bool(sequence_parallel)
        self.embedding = VocabParallelEmbedding(vocab_size, hidden_size, dtype,
                                                seed=seed, name="wte")
        self.embedding.parameter_names = ("wte", None)
        self.positions = _Positions(n_ctx, hidden_size, self.embedding.dtype, seed + 1)
        self.blocks = [GPT2Block(hidden_size, num_heads, eps, dtype, seed + 1000 * (i + 1),
                                 sequence_parallel=sequence_parallel)
                       for i in range(_positive("num_layers", num_layers))]
        self.ln_f = LayerNorm(hidden_size, eps, dtype, seed + 2)
        self.ln_f.parameter_names = ("ln_f_w", "ln_f_b")
        if tied:
            self.head = ParallelLMHead(hidden_size, vocab_size, dtype,
                                       embedding=self.embedding)
        else:
            self.head = ParallelLMHead(hidden_size, vocab_size, dtype,
                                       weight=self.embedding.weight.T)
            self.head.linear.parameter_names = ("lm_head", None)

    def __call__(self, ids):
        return self.forward(ids)

    def forward(self, ids):
        _check_sequence_parallel_tokens(self, ids.shape[0])
        x = self.embedding(ids) + self.positions(ids.shape[0])
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


class LlamaModel:
    """A Llama model from token ids to logits (prefill): embed_tokens(ids), n
    LlamaDecoderLayers (RoPE, grouped-query attention when num_kv_heads < num_heads,
    SwiGLU), the final RMSNorm, and the untied output layer (kb.ParallelLMHead, its
    vocabulary padded to a multiple of W).

    Arguments in order: ids [S] (i32), embed_tokens [V, H], each layer's 9 weights
    (attn_norm_w, wq, wk, wv, wo, mlp_norm_w, w_gate, w_up, w_down), norm_w [H], then
    lm_head [H, Vp] (the head's weight padded with zero columns). sequence_parallel=True
    runs the layers with Megatron's sequence parallelism."""

    def __init__(self, num_layers, hidden_size, num_heads, num_kv_heads, ffn_hidden_size,
                 vocab_size, dtype="f16", seed=None, eps=1e-5, theta=10000.0,
                 sequence_parallel=False):
        from .transformer import LlamaDecoderLayer, RMSNorm
        seed = 47 if seed is None else seed
        self.sequence_parallel = bool(sequence_parallel)
        self.embedding = VocabParallelEmbedding(vocab_size, hidden_size, dtype, seed=seed,
                                                name="embed_tokens")
        self.embedding.parameter_names = ("embed_tokens", None)
        self.layers = [LlamaDecoderLayer(hidden_size, num_heads, num_kv_heads,
                                         ffn_hidden_size, eps, theta, dtype,
                                         seed + 1000 * (i + 1),
                                         sequence_parallel=sequence_parallel)
                       for i in range(_positive("num_layers", num_layers))]
        self.norm = RMSNorm(hidden_size, eps, dtype, seed + 2)
        self.norm.parameter_names = ("norm_w", None)
        self.head = ParallelLMHead(hidden_size, vocab_size, dtype, seed=seed + 3)
        self.head.linear.parameter_names = ("lm_head", None)

    def __call__(self, ids):
        return self.forward(ids)

    def forward(self, ids):
        _check_sequence_parallel_tokens(self, ids.shape[0])
        x = self.embedding(ids)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x))
