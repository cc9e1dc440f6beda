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
from .program import current_program

_DEFAULT_SEED = 2718


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


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
