"""kb.VocabParallelEmbedding and integer (token id) inputs: the IR the front end writes,
its numpy meaning against a float64 lookup, the checks on ids, and kb-run on the device
at W = 1, 2 and 4 with vocabularies W divides and does not (padding)."""
import numpy as np
import pytest

import kb
from kb.parallel_state import initialize_model_parallel
from kb.tools import ToolError


def embed_program(vocab, hidden=32, tokens=9, id_dtype="i32"):
    embedding = kb.VocabParallelEmbedding(vocab, hidden, seed=7)
    with kb.Program("embed") as p:
        ids = p.input("ids", (tokens,), dtype=id_dtype)
        pos = p.input("pos", (tokens, hidden))
        p.output(embedding(ids) + pos)
    return p, embedding


def test_ir_names_the_ids_and_the_table():
    p, _ = embed_program(61)
    text = p.to_mlir()
    assert "%ids: tensor<9xi32>" in text
    assert "kb.embedding %ids, %w1 : tensor<9xi32>, tensor<61x32xf16> -> tensor<9x32xf16>" \
        in text
    p64, _ = embed_program(61, id_dtype=np.int64)
    assert "%ids: tensor<9xi64>" in p64.to_mlir()


def test_reference_is_the_float64_lookup():
    p, embedding = embed_program(61)
    ids = np.array([60, 0, 48, 59, 15, 16, 47, 1, 31], np.int32)
    pos = np.random.default_rng(2).uniform(-1, 1, (9, 32))
    got = p.reference([ids, pos])[0].astype(np.float64)
    expected = embedding.weight.astype(np.float64)[ids] + pos.astype(np.float16)
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_ids_are_checked():
    p, _ = embed_program(61)
    pos = np.zeros((9, 32))
    with pytest.raises(ValueError, match="token id 61 at position 3 is outside the "
                                         "vocabulary of 61 ids"):
        p.reference([np.array([0, 1, 2, 61, 0, 0, 0, 0, 0], np.int32), pos])
    with pytest.raises(ValueError, match="must be integers, got float64"):
        p.reference([np.zeros(9), pos])
    with pytest.raises(ValueError, match="beyond int32"):
        p.reference([np.full(9, 2**40, np.int64), pos])
    with pytest.raises(ValueError, match=r"has shape \(8,\)"):
        p.reference([np.zeros(8, np.int32), pos])


def test_layer_checks_its_arguments():
    with pytest.raises(ValueError, match="num_embeddings must be a positive integer"):
        kb.VocabParallelEmbedding(0, 8)
    with pytest.raises(ValueError, match="takes a weight of shape"):
        kb.VocabParallelEmbedding(4, 8, weight=np.zeros((8, 4)))
    embedding = kb.VocabParallelEmbedding(4, 8)
    with kb.Program("bad"):
        with pytest.raises(ValueError, match="takes token ids"):
            embedding(kb.Program.input(kb.program.current_program(), (3, 8)))
    with pytest.raises(ValueError, match="dtype must be one of"):
        kb.VocabParallelEmbedding(4, 8, dtype="i32")


@pytest.mark.parametrize("world_size", [1, 2, 4])
@pytest.mark.parametrize("vocab", [64, 61])
def test_runs_on_the_device(world_size, vocab):
    initialize_model_parallel(tensor_model_parallel_size=world_size)
    p, embedding = embed_program(vocab)
    ids = np.random.default_rng(vocab + world_size).integers(0, vocab, 9).astype(np.int32)
    ids[0], ids[1] = vocab - 1, 0  # the last shard's last id and the first
    pos = np.random.default_rng(1).uniform(-1, 1, (9, 32))
    result = p.run([ids, pos], check=True)
    expected = embedding.weight.astype(np.float64)[ids] + pos.astype(np.float16)
    got = result.outputs[0].astype(np.float64)
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_an_id_past_the_vocabulary_stops_kb_run():
    initialize_model_parallel(tensor_model_parallel_size=4)
    p, _ = embed_program(61)
    ids = np.array([0, 1, 2, 3, 4, 5, 6, 7, 61], np.int32)
    with pytest.raises(ToolError, match="token id 61 at position 8 is outside the "
                                        "vocabulary of 61 ids"):
        p.run([ids, np.zeros((9, 32))], check=False)


def head_program(hidden, vocab, **options):
    head = kb.ParallelLMHead(hidden, vocab, seed=11, **options)
    with kb.Program("head") as p:
        x = p.input("x", (9, hidden))
        p.output(head(x))
    return p, head


def test_lm_head_pads_the_vocabulary_to_a_multiple_of_w():
    initialize_model_parallel(tensor_model_parallel_size=4)
    p, head = head_program(16, 61)
    assert head.padded_vocab_size == 64
    assert (head.linear.weight[:, 61:] == 0).all() and head.weight.shape == (16, 61)
    text = p.to_mlir()
    assert "kb.column_parallel_linear %x, %w1 : (tensor<9x16xf16>, tensor<16x64xf16>)" \
        in text
    assert "kb.all_gather %0 along 1 : tensor<9x64xf16> -> tensor<9x64xf16>" in text
    assert "tensor.extract_slice %1[0, 0] [9, 61] [1, 1]" in text
    _, megatron = head_program(16, 61, make_vocab_size_divisible_by=128)
    assert megatron.padded_vocab_size == 512
    _, exact = head_program(16, 64)
    assert exact.padded_vocab_size == 64
    with pytest.raises(ValueError, match="takes a weight of shape"):
        kb.ParallelLMHead(16, 61, weight=np.zeros((61, 16)))


@pytest.mark.parametrize("world_size,vocab", [(1, 61), (2, 61), (4, 61), (4, 64),
                                              (4, 50257), (8, 50257)])
def test_lm_head_runs_on_the_device(world_size, vocab):
    # GPT-2's 50257 at W = 4 and 8 (padded to 50260 and 50264), hidden size 16.
    initialize_model_parallel(tensor_model_parallel_size=world_size)
    p, head = head_program(16, vocab)
    x = np.random.default_rng(vocab).uniform(-1, 1, (9, 16))
    result = p.run([x], check=True)
    expected = x.astype(np.float16).astype(np.float64) @ head.weight.astype(np.float64)
    got = result.outputs[0].astype(np.float64)
    assert got.shape == (9, vocab)
    assert np.abs(got - expected).max() <= 1e-2 * np.abs(expected).max()


def test_lm_head_left_vocab_parallel_keeps_the_padded_logits():
    initialize_model_parallel(tensor_model_parallel_size=4)
    p, head = head_program(16, 61, gather_output=False)
    assert "all_gather" not in p.to_mlir()
    x = np.random.default_rng(3).uniform(-1, 1, (9, 16))
    got = p.run([x], check=True).outputs[0].astype(np.float64)
    assert got.shape == (9, 64) and (got[:, 61:] == 0).all()
    expected = x.astype(np.float16).astype(np.float64) @ head.weight.astype(np.float64)
    assert np.abs(got[:, :61] - expected).max() <= 1e-2 * np.abs(expected).max()


def test_embedding_and_head_from_ids_to_logits():
    # GPT-2's ends: ids -> wte + wpe -> (the layers) -> logits over 50257 at W = 4,
    # the head's weight the embedding's table transposed (tied values).
    initialize_model_parallel(tensor_model_parallel_size=4)
    embedding = kb.VocabParallelEmbedding(50257, 16, seed=5)
    head = kb.ParallelLMHead(16, 50257, weight=embedding.weight.T)
    with kb.Program("gpt2_ends") as p:
        ids = p.input("ids", (9,), dtype="i32")
        pos = p.input("pos", (9, 16))
        p.output(head(embedding(ids) + pos))
    ids = np.array([50256, 0, 12564, 12565, 25130, 37695, 50000, 1, 2], np.int32)
    pos = np.random.default_rng(4).uniform(-1, 1, (9, 16))
    got = p.run([ids, pos], check=True).outputs[0].astype(np.float64)
    table = embedding.weight.astype(np.float64)
    x = (table[ids] + pos.astype(np.float16)).astype(np.float16).astype(np.float64)
    expected = x @ table.T
    assert np.abs(got - expected).max() <= 1e-2 * np.abs(expected).max()


def test_gpt2_model_from_ids_to_logits():
    # Two layers, hidden 32, 4 heads, a 61-id vocabulary (padded to 64 in the head) at
    # W = 4: on the device with --check, and against the numpy model.
    initialize_model_parallel(tensor_model_parallel_size=4)
    model = kb.GPT2Model(2, 32, 4, 61, 16)
    with kb.Program("gpt2") as p:
        ids = p.input("ids", (9,), dtype="i32")
        p.output(model(ids))
    names = [t.name for t in p.arguments]
    assert names[:4] == ["ids", "wte", "wpe", "ln1_w"]
    # Tied: GPT-2's own arguments, the head reading wte (kb.lm_head).
    assert names[-2:] == ["ln_f_w", "ln_f_b"] and len(names) == 3 + 2 * 12 + 2
    assert "kb.lm_head %" in p.to_mlir()
    ids = np.array([60, 0, 15, 16, 31, 32, 47, 48, 5], np.int32)
    got = p.run([ids], check=True).outputs[0].astype(np.float64)
    expected = p.reference([ids])[0].astype(np.float64)
    assert got.shape == (9, 61)
    assert np.abs(got - expected).max() <= 1e-2 * np.abs(expected).max()


def test_gpt2_model_untied_has_its_own_head_weight():
    initialize_model_parallel(tensor_model_parallel_size=2)
    model = kb.GPT2Model(1, 16, 2, 61, 16, tied=False)
    with kb.Program("gpt2") as p:
        ids = p.input("ids", (4,), dtype="i32")
        p.output(model(ids))
    assert [t.name for t in p.arguments][-1] == "lm_head"
    assert "kb.lm_head" not in p.to_mlir()
    np.testing.assert_array_equal(model.head.weight, model.embedding.weight.T)


def test_tied_head_checks_its_table():
    initialize_model_parallel(tensor_model_parallel_size=4)
    embedding = kb.VocabParallelEmbedding(61, 16)
    with pytest.raises(ValueError, match=r"cannot be tied .*\[61, 32\]"):
        kb.ParallelLMHead(32, 61, embedding=embedding)
    with pytest.raises(ValueError, match="takes no weight"):
        kb.ParallelLMHead(16, 61, weight=np.zeros((16, 61)), embedding=embedding)
    head = kb.ParallelLMHead(16, 61, embedding=embedding, gather_output=False)
    with kb.Program("head") as p:
        ids = p.input("ids", (9,), dtype="i32")
        p.output(head(embedding(ids)))
    text = p.to_mlir()
    # One table argument, read by both; the vocab-parallel logits keep their padding.
    assert len(p.arguments) == 2
    assert "-> tensor<9x64xf16>" in text and "kb.all_gather" not in text
    ids_value = np.array([60, 0, 15, 16, 31, 32, 47, 48, 5], np.int32)
    got = p.run([ids_value], check=True).outputs[0].astype(np.float64)
    table = embedding.weight.astype(np.float64)
    expected = np.zeros((9, 64))
    expected[:, :61] = table[ids_value] @ table.T
    assert not got[:, 61:].any()
    assert np.abs(got - expected).max() <= 1e-2 * np.abs(expected).max()


def test_sequence_parallel_on_the_models_emits_the_sp_form():
    initialize_model_parallel(tensor_model_parallel_size=4)
    for model in (kb.GPT2Model(1, 32, 4, 61, 16, sequence_parallel=True),
                  kb.LlamaModel(1, 32, 4, 2, 64, 61, sequence_parallel=True)):
        with kb.Program("sp") as p:
            ids = p.input("ids", (8,), dtype="i32")
            p.output(model(ids))
        assert "kb.sequence_parallel" in p.to_mlir()
        local = p.compile(lower_to_device=False)
        assert "kb.reduce_scatter" in local and "kb.all_gather" in local
    for model in (kb.GPT2Model(1, 32, 4, 61, 16, sequence_parallel=True),
                  kb.LlamaModel(1, 32, 4, 2, 64, 61, sequence_parallel=True)):
        with kb.Program("sp9") as p:
            ids = p.input("ids", (9,), dtype="i32")
            with pytest.raises(ValueError, match="its 9 tokens over TP world size 4"):
                model(ids)
    block = kb.GPT2Block(32, 4)
    with kb.Program("off") as p:
        x = p.input("x", (8, 32))
        p.output(block(x))
    assert "kb.sequence_parallel" not in p.to_mlir()


def _llama_float64(ids, weights, layers, heads, kv_heads, eps=1e-5, theta=10000.0):
    """A Llama forward in float64 from the model's math (RMSNorm, rotate_half RoPE,
    causal GQA, SwiGLU), independent of kb.reference."""
    w = [a.astype(np.float64) for a in weights]
    x = w[0][ids]
    s = len(ids)

    def rmsnorm(v, g):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + eps) * g

    def rope(v, n):
        hd = v.shape[1] // n
        inv = theta ** (-np.arange(0, hd, 2) / hd)
        ang = np.arange(s)[:, None] * inv[None, :]
        cos, sin = np.cos(np.concatenate([ang, ang], 1)), np.sin(np.concatenate([ang, ang], 1))
        out = np.empty_like(v)
        for h in range(n):
            c = v[:, h * hd:(h + 1) * hd]
            rot = np.concatenate([-c[:, hd // 2:], c[:, :hd // 2]], 1)
            out[:, h * hd:(h + 1) * hd] = c * cos + rot * sin
        return out

    for i in range(layers):
        an, wq, wk, wv, wo, mn, wg, wu, wd = w[1 + 9 * i: 10 + 9 * i]
        n = rmsnorm(x, an)
        q, k, v = rope(n @ wq, heads), rope(n @ wk, kv_heads), n @ wv
        hd = q.shape[1] // heads
        att = np.empty_like(q)
        for h in range(heads):
            g = h // (heads // kv_heads)
            sc = q[:, h * hd:(h + 1) * hd] @ k[:, g * hd:(g + 1) * hd].T / np.sqrt(hd)
            sc += np.triu(np.full((s, s), -np.inf), 1)
            p = np.exp(sc - sc.max(-1, keepdims=True))
            att[:, h * hd:(h + 1) * hd] = (p / p.sum(-1, keepdims=True)) @ v[:, g * hd:(g + 1) * hd]
        h_ = x + att @ wo
        m = rmsnorm(h_, mn)
        gate = m @ wg
        x = h_ + (gate / (1 + np.exp(-gate)) * (m @ wu)) @ wd
    norm_w, lm_head = w[1 + 9 * layers], w[2 + 9 * layers]
    return rmsnorm(x, norm_w) @ lm_head


@pytest.mark.parametrize("sequence_parallel", [False, True])
def test_llama_model_two_layers(sequence_parallel):
    # Two layers, hidden 64, 4 heads sharing 2 KV heads (GQA), ffn 128, a 61-id
    # vocabulary (the head padded to 64) at W = 4, 8 tokens: on the device with
    # --check, and against a float64 Llama written here.
    initialize_model_parallel(tensor_model_parallel_size=4)
    model = kb.LlamaModel(2, 64, 4, 2, 128, 61, sequence_parallel=sequence_parallel)
    with kb.Program("llama") as p:
        ids = p.input("ids", (8,), dtype="i32")
        p.output(model(ids))
    names = [t.name for t in p.arguments]
    assert names[:3] == ["ids", "embed_tokens", "attn_norm_w"]
    assert names[-2:] == ["norm_w", "lm_head"] and len(names) == 2 + 2 * 9 + 2
    assert ("kb.sequence_parallel" in p.to_mlir()) == sequence_parallel
    ids_value = np.array([60, 0, 15, 16, 31, 32, 47, 5], np.int32)
    got = p.run([ids_value], check=True).outputs[0].astype(np.float64)
    values = p.argument_values([ids_value])
    expected = _llama_float64(ids_value, values[1:-1] + [values[-1][:, :61]], 2, 4, 2)
    assert got.shape == (8, 61)
    assert np.abs(got - expected).max() <= 1e-2 * np.abs(expected).max()
