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


def relative_error(got, expected):
    got, expected = got.astype(np.float32), expected.astype(np.float32)
    return float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-30))


@pytest.mark.parametrize("world", [1, 2, 4, 8])
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_run_matches_reference(world, dtype):
    p = mlp(world, dtype, bias=True)
    x = np.random.default_rng(world).uniform(-1, 1, (8, 16))
    result = p.run({"x": x}, check=True)
    expected = p.reference({"x": x})[0]
    assert result.output.shape == (8, 16)
    assert result.output.dtype == (np.float16 if dtype == "f16" else np.float32)
    assert relative_error(result.output, expected) <= TOLERANCE[dtype]
    assert result.report["world_size"] == world
    assert result.report["check"]["passed"]


def test_bias_matters():
    """A dropped or doubled bias would be far outside the tolerance."""
    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("mlp") as p:
        row = kb.RowParallelLinear(64, 16, bias=True, dtype="f32")
        col = kb.ColumnParallelLinear(16, 64, bias=True, dtype="f32")
        p.output(row(kb.gelu(col(p.input((8, 16), dtype="f32")))))
    x = np.random.default_rng(0).uniform(-1, 1, (8, 16))
    got = p.run(x, check=False).output
    expected = p.reference(x)[0]
    assert relative_error(got, expected) <= 1e-4
    assert relative_error(got, expected - row.bias) > 1e-2
    assert relative_error(got, expected + row.bias) > 1e-2


def test_report_is_a_python_object_with_the_ring_at_its_bound(tmp_path):
    p = mlp(4, "f32", bias=False)
    result = p.run({"x": np.ones((8, 16))}, trace=tmp_path / "trace.json")
    report = result.report
    assert report["device_time_s"] > 0 and report["device"]
    assert [s["rank"] for s in report["sips"]] == [0, 1, 2, 3]
    for sip in report["sips"]:
        for key in ("compute_s", "dma_s", "collective_s", "flops", "dma_bytes",
                    "link_bytes_sent"):
            assert sip[key] >= 0
    # One ring all-reduce per piece of the row-parallel output; together, the output.
    assert sum(c["bytes"] for c in report["collectives"]) == 8 * 16 * 4
    for c in report["collectives"]:
        assert c["op"] == "all_reduce"
        assert c["bytes_sent_per_rank"] == c["lower_bound_bytes_per_rank"]
    assert set(report["check"]) >= {"passed", "max_abs_err", "max_rel_err", "tolerance"}
    assert (tmp_path / "trace.json").exists()
    assert result.summary  # kb-run's printed report


def test_without_check_the_report_has_none():
    result = mlp(2, "f32", bias=False).run({"x": np.ones((8, 16))}, check=False)
    assert result.report["check"] is None


def test_a_richer_program_runs():
    """Two inputs, a reused layer, policies on weights and input, a bias from an input,
    several outputs, positional inputs."""
    initialize_model_parallel(tensor_model_parallel_size=2)
    dp = kb.DPPolicy(cube="shard", pe="shard", num_cubes=4, num_pes=2)
    with kb.Program("rich") as p:
        x = p.input((4, 32), dtype="f16", dp=kb.DPPolicy(num_cubes=2))
        b = p.input("b", (64,), dtype="f16")
        up = kb.ColumnParallelLinear(32, 64, bias=True, dtype="f16", dp=dp, name="up")
        gate = kb.ColumnParallelLinear(32, 64, dtype="f16")
        h = kb.add(kb.add(kb.gelu(gate(x)), up(x)), b)
        down = kb.RowParallelLinear(64, 32, bias=True, dtype="f16")
        y = down(h)
        p.output(down(kb.gelu(up(y))), h)
    rng = np.random.default_rng(7)
    inputs = [rng.uniform(-1, 1, (4, 32)), rng.uniform(-1, 1, (64,))]
    result = p.run(inputs, check=True)
    expected = p.reference(inputs)
    assert [o.shape for o in result.outputs] == [(4, 32), (4, 64)]
    for got, want in zip(result.outputs, expected):
        assert relative_error(got, want) <= TOLERANCE["f16"]
    # Two row-parallel layers, each all-reducing a 4 x 32 f16 output.
    assert sum(c["bytes"] for c in result.report["collectives"]) == 2 * 4 * 32 * 2


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
    assert e.value.tool == "kb-run" and e.value.returncode == 1
    assert "'cubes' must be positive, got 0" in str(e.value)
