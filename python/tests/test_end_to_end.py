"""Compile with kb-opt, run with kb-run, compare with the numpy reference."""
import numpy as np
import pytest

import kb
from kb.parallel_state import initialize_model_parallel

TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 3e-2}


def mlp(world, dtype, bias, m=8, hidden=16, ffn=64):
    initialize_model_parallel(tensor_model_parallel_size=world)
    with kb.Program("mlp") as p:
        x = p.input("x", (m, hidden), dtype=dtype)
        h = kb.ColumnParallelLinear(hidden, ffn, bias=bias, dtype=dtype)(x)
        p.output(kb.RowParallelLinear(ffn, hidden, bias=bias, dtype=dtype)(kb.gelu(h)))
    return p


@pytest.mark.parametrize("world", [1, 2, 4])
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_run_matches_reference(world, dtype):
    p = mlp(world, dtype, bias=True)
    x = np.random.default_rng(world).uniform(-1, 1, (8, 16))
    result = p.run({"x": x}, check=True)
    expected = p.reference({"x": x})[0].astype(np.float32)
    got = result.output.astype(np.float32)
    assert got.shape == (8, 16)
    assert result.output.dtype == (np.float16 if dtype == "f16" else np.float32)
    assert np.max(np.abs(got - expected)) <= TOLERANCE[dtype] * np.max(np.abs(expected))
    assert result.report["world_size"] == world
    assert result.report["check"]["passed"]


def test_report_is_a_python_object_with_the_ring_at_its_bound(tmp_path):
    p = mlp(4, "f32", bias=False)
    result = p.run({"x": np.ones((8, 16))}, trace=tmp_path / "trace.json")
    report = result.report
    assert report["device_time_s"] > 0 and len(report["sips"]) == 4
    for c in report["collectives"]:
        assert c["bytes_sent_per_rank"] == c["lower_bound_bytes_per_rank"]
    assert (tmp_path / "trace.json").exists()


def test_compile_returns_the_device_program():
    lowered = mlp(2, "f16", bias=True).compile()
    assert "gemm_tile.matmul" in lowered and "gemm_tile.reduce_scatter_step" in lowered
    local = mlp(2, "f16", bias=True).compile(lower_to_device=False)
    assert "kb.all_reduce <sum>" in local and "kb.spmd" in local


def test_device_override_reaches_kb_run():
    p = mlp(2, "f32", bias=False)
    slow = p.run({"x": np.ones((8, 16))}, device={"link_gbps": 1})
    fast = p.run({"x": np.ones((8, 16))})
    assert slow.report["device"]["link_gbps"] == 1
    assert slow.report["sips"][0]["collective_s"] > fast.report["sips"][0]["collective_s"]


def test_kb_run_errors_are_tool_errors():
    p = mlp(2, "f32", bias=False)
    with pytest.raises(kb.ToolError) as e:
        p.run({"x": np.ones((8, 16))}, device={"cubes": 0})
    assert "kb-run" in str(e.value) and "'cubes' must be positive, got 0" in str(e.value)
