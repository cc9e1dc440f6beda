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
    assert names[-3:] == ["ln_f_w", "ln_f_b", "lm_head"] and len(names) == 3 + 2 * 12 + 3
    ids = np.array([60, 0, 15, 16, 31, 32, 47, 48, 5], np.int32)
    got = p.run([ids], check=True).outputs[0].astype(np.float64)
    expected = p.reference([ids])[0].astype(np.float64)
    assert got.shape == (9, 61)
    assert np.abs(got - expected).max() <= 1e-2 * np.abs(expected).max()
