"""The attention block lowered to the device (gemm_tile.attention on the PEs) against
an independent float64 numpy reference: q/k/v column-parallel projections, causal
grouped-query attention on each rank's heads, the row-parallel output projection and
its all-reduce, compiled by `kb-opt --kb-pipeline` and run by kb-run on given inputs.
The reference is kb.reference.attention on the float64 products of the same (rounded)
inputs; kb rounds every op's result to the dtype, the reference never rounds."""
import math

import numpy as np
import pytest

from kb import reference as ref
from kb.dtypes import round_to
from kb.tools import run_tool

# Largest error allowed, relative to the output's largest magnitude: the 1e-2 for
# f16; bf16's 8 significant bits through three roundings; f32's roundings only.
TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 3e-2}
HIDDEN = 32


def block(world, dtype, queries, keys, heads, kv_heads, head_dim):
    t = lambda *shape: f"tensor<{'x'.join(map(str, shape))}x{dtype}>"  # noqa: E731
    qc, kvc = heads * head_dim, kv_heads * head_dim
    return f"""module attributes {{kb.world_size = {world} : i64}} {{
  func.func @attention_block(%x: {t(queries, HIDDEN)}, %ctx: {t(keys, HIDDEN)},
      %wq: {t(HIDDEN, qc)}, %wk: {t(HIDDEN, kvc)}, %wv: {t(HIDDEN, kvc)},
      %wo: {t(qc, HIDDEN)}) -> {t(queries, HIDDEN)} {{
    %q = kb.column_parallel_linear %x, %wq : ({t(queries, HIDDEN)}, {t(HIDDEN, qc)}) -> {t(queries, qc)}
    %k = kb.column_parallel_linear %ctx, %wk : ({t(keys, HIDDEN)}, {t(HIDDEN, kvc)}) -> {t(keys, kvc)}
    %v = kb.column_parallel_linear %ctx, %wv : ({t(keys, HIDDEN)}, {t(HIDDEN, kvc)}) -> {t(keys, kvc)}
    %a = kb.attention %q, %k, %v heads {heads} kv_heads {kv_heads} : ({t(queries, qc)}, {t(keys, kvc)}, {t(keys, kvc)}) -> {t(queries, qc)}
    %y = kb.row_parallel_linear %a, %wo : ({t(queries, qc)}, {t(qc, HIDDEN)}) -> {t(queries, HIDDEN)}
    return %y : {t(queries, HIDDEN)}
  }}
}}
"""


@pytest.mark.parametrize("world,dtype,queries,keys,heads,kv_heads,head_dim", [
    (1, "f32", 7, 7, 4, 4, 8),     # multi-head prefill, odd tokens
    (2, "bf16", 5, 5, 8, 2, 8),    # GQA, 4 query heads per KV head
    (4, "f16", 9, 9, 8, 4, 8),     # GQA at W = 4
    (8, "f16", 3, 3, 16, 8, 4),    # GQA at W = 8
    (4, "f16", 1, 2, 8, 4, 8),     # decode at P = 1
    (2, "f32", 1, 38, 8, 2, 8),    # decode at P = 37
    (8, "bf16", 1, 20, 8, 8, 16),  # decode at P = 19, W = 8
])
def test_device_attention_matches_float64(tmp_path, world, dtype, queries, keys, heads,
                                           kv_heads, head_dim):
    g = np.random.default_rng(world * 100 + keys)
    qc, kvc = heads * head_dim, kv_heads * head_dim

    def value(*shape, scale=1.0):
        return round_to(g.uniform(-1, 1, shape) * scale, dtype)

    inputs = [value(queries, HIDDEN), value(keys, HIDDEN),
              value(HIDDEN, qc, scale=math.sqrt(3 / HIDDEN)),
              value(HIDDEN, kvc, scale=math.sqrt(3 / HIDDEN)),
              value(HIDDEN, kvc, scale=math.sqrt(3 / HIDDEN)),
              value(qc, HIDDEN, scale=math.sqrt(3 / qc))]
    source = tmp_path / "block.mlir"
    source.write_text(block(world, dtype, queries, keys, heads, kv_heads, head_dim))
    lowered = tmp_path / "block.lowered.mlir"
    run_tool("kb-opt", [source, "--kb-pipeline", "-o", lowered])
    assert "gemm_tile.attention" in lowered.read_text()
    args = [lowered, "--output-dir", tmp_path, "--quiet"]
    for i, x in enumerate(inputs):
        np.save(tmp_path / f"arg{i}.npy", x)
        args += ["--input", tmp_path / f"arg{i}.npy"]
    run_tool("kb-run", args)
    got = np.load(tmp_path / "result0.npy").astype(np.float64)

    x, ctx, wq, wk, wv, wo = (a.astype(np.float64) for a in inputs)
    expected = ref.attention(x @ wq, ctx @ wk, ctx @ wv, heads, kv_heads) @ wo
    scale = np.max(np.abs(expected))
    error = np.max(np.abs(got - expected))
    assert got.shape == expected.shape
    assert error <= TOLERANCE[dtype] * scale, f"error {error:.3g} of max |y| {scale:.3g}"
    # The check can fail: a wrong causal offset moves the result by far more.
    shifted = ref.attention(x @ wq, ctx @ wk, np.roll(ctx @ wv, 1, axis=0), heads,
                            kv_heads) @ wo
    assert np.max(np.abs(got - shifted)) > TOLERANCE[dtype] * scale
