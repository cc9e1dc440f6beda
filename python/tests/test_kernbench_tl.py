"""kernbench's own API on kb: its DPPolicy spellings in kb.DPPolicy, the `tl` kernel
language traced into gemm_tile, the ctx facade and `python -m kb.kernbench run`, and
the benchmark files of python/examples/kernbench run unmodified with --check."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import kb
from kb import device
from kb.kernbench import main, run_bench
from kernbench.context import CheckError, Context
from kernbench.policy.placement.dp import DPPolicy
from kernbench.tp import parallel_state

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples", "kernbench")


def bench(name):
    return os.path.join(EXAMPLES, name)


# kb.DPPolicy speaks kernbench.
def test_kb_dppolicy_takes_kernbench_layouts():
    assert kb.DPPolicy(pe="column_wise", num_cubes=1, num_pes=8).to_mlir() == (
        "#kb.dp<cube = replicate, pe = shard(1), num_cubes = 1, num_pes = 8>")
    assert kb.DPPolicy(cube="row_wise", num_cubes=2).to_mlir() == (
        "#kb.dp<cube = shard(0), pe = replicate, num_cubes = 2, num_pes = 1>")
    assert kb.DPPolicy(pe="column_wise") == kb.DPPolicy(pe="shard", pe_dim=1)
    assert repr(kb.DPPolicy(pe="column_wise")) == (
        "DPPolicy(cube='replicate', pe='column_wise', num_cubes=1, num_pes=1)")


def test_kb_dppolicy_none_is_the_devices_count():
    cubes, pes = device.counts()
    policy = kb.DPPolicy(cube="column_wise", num_cubes=None, num_pes=None)
    # #kb.dp leaves a None count out: kb-opt resolves it on the device it runs for.
    assert policy.to_mlir() == "#kb.dp<cube = shard(1), pe = replicate>"
    assert kb.DPPolicy(pe="row_wise", num_cubes=2, num_pes=None).to_mlir() == (
        "#kb.dp<cube = replicate, pe = shard(0), num_cubes = 2>")
    assert kb.DPPolicy(num_cubes=None, num_pes=3).to_mlir() == (
        "#kb.dp<cube = replicate, pe = replicate, num_pes = 3>")
    assert device.counts({"cubes": 2, "pes_per_cube": 4}) == (2, 4)
    assert policy.resolved({"cubes": 2, "pes_per_cube": 4}).to_mlir() == (
        "#kb.dp<cube = shard(1), pe = replicate, num_cubes = 2, num_pes = 4>")
    with pytest.raises(ValueError, match=rf"dimension 1 \(size 6\) does not divide by "
                                         rf"num_cubes \({cubes}\)"):
        policy.check((8, 6))


@pytest.mark.parametrize("key", ["sip", "num_sips"])
def test_kb_dppolicy_has_no_sip_field(key):
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{key}'.*SIP is the "
                                        f"TP rank"):
        kb.DPPolicy(**{key: 1})


def test_kb_dppolicy_named_split_with_another_dim_is_refused():
    with pytest.raises(ValueError, match=r"pe='column_wise' splits dimension 1, but "
                                         r"pe_dim=0"):
        kb.DPPolicy(pe="column_wise", pe_dim=0)


# The runner on the example benchmarks, unmodified.
@pytest.mark.parametrize("name, world", [
    ("gemm_qkv.py", 1), ("gemm_qkv.py", 2), ("gemm_single_pe.py", 1),
    ("gemm_staging.py", 1), ("gemm_load.py", 1), ("gemm_ref.py", 1), ("mlp_gelu.py", 1),
    ("seed_tp_block.py", 4)])
def test_example_runs_with_check(name, world, capsys):
    assert main(["run", bench(name), "--world-size", str(world), "--fill", "random",
                 "--seed", "3", "--check"]) == 0
    out = capsys.readouterr().out
    assert "check: passed" in out
    assert float(re.search(r"device time: ([0-9.]+) us\n\Z", out).group(1)) > 0


def test_none_counts_run_as_a_module_with_check():
    """kernbench's DPPolicy(pe="column_wise") leaves both counts None: the benchmark,
    run as `python -m kb.kernbench run`, spreads over every PE of every cube and
    --check passes."""
    cubes, pes = device.counts()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(HERE, "..")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    done = subprocess.run([sys.executable, "-m", "kb.kernbench", "run", bench("gemm_qkv.py"),
                           "--fill", "random", "--seed", "4", "--check"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert f"launch 'qkv_gemm': {cubes * pes} PE(s) in {cubes} cube(s)" in done.stdout
    assert "check: passed" in done.stdout


def test_runner_says_where_each_launch_ran(capsys):
    assert main(["run", bench("gemm_single_pe.py")]) == 0
    assert "launch 'qkv_gemm': 1 PE(s) in 1 cube(s), 48 tile operation(s) per SIP" in (
        capsys.readouterr().out)
    cubes, pes = device.counts()
    assert main(["run", bench("seed_tp_block.py"), "--world-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "launch 'col_parallel_gemm': 1 PE(s) in 1 cube(s)" in out
    assert "all_reduce 'row_parallel_partial' (64, 256) over 2 SIPs" in out
    assert main(["run", bench("gemm_qkv.py")]) == 0
    assert f"launch 'qkv_gemm': {cubes * pes} PE(s) in {cubes} cube(s)" in (
        capsys.readouterr().out)


def test_single_pe_takes_longer_than_the_cube():
    spread_program, spread = run_bench(bench("gemm_qkv.py"), fill="random", check=True)
    single_program, single = run_bench(bench("gemm_single_pe.py"), fill="random",
                                       check=True)
    assert single.device_time_s > 4 * spread.device_time_s
    # The single-PE program computes on PE 0 of cube 0 only; the spread one on every PE.
    assert set(re.findall(r"matmul pe (\d+)", single_program.text)) == {"0"}
    assert "#gemm_tile.cube<1>" not in single_program.text
    _, pes = device.counts()
    assert set(re.findall(r"matmul pe (\d+)", spread_program.text)) == {
        str(p) for p in range(pes)}


def test_load_stages_and_ref_streams():
    load_program, load = run_bench(bench("gemm_load.py"), fill="random", check=True)
    ref_program, ref = run_bench(bench("gemm_ref.py"), fill="random", check=True)
    assert "gemm_tile.dma" in load_program.text and "gemm_tile.dma" not in ref_program.text
    assert load.report["sips"][0]["dma_bytes"] > 0 == ref.report["sips"][0]["dma_bytes"]
    assert load.device_time_s > ref.device_time_s


def test_seed_block_all_reduces_across_sips():
    program, outcome = run_bench(bench("seed_tp_block.py"), world_size=4, fill="random",
                                 check=True)
    assert program.text.count("gemm_tile.reduce_scatter_step <sum>") == 3
    assert outcome.report["sips"][0]["link_bytes_sent"] > 0
    assert outcome.outputs[1].shape == (4 * 64, 256)  # the ranks' results, stacked


def test_report_and_trace_files(tmp_path, capsys):
    report, trace = tmp_path / "r.json", tmp_path / "t.json"
    assert main(["run", bench("gemm_ref.py"), "--report", str(report), "--trace",
                 str(trace)]) == 0
    assert '"device_time_s"' in report.read_text()
    assert '"traceEvents"' in trace.read_text()


# --check fails when kb's numbers are wrong.
def _program(kernel, shapes=((64, 64), (64, 64), (64, 64)), dp=None, scalars=()):
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    ctx = Context()
    tensors = [ctx.zeros(s, dtype="f16", dp=dp, name=f"t{i}") for i, s in enumerate(shapes)]
    ctx.launch("k", kernel, *tensors, *scalars)
    return ctx.program("k")


def _gemm(a_ptr, b_ptr, c_ptr, tl):
    tl.wait(tl.composite(op="gemm", a=tl.ref(a_ptr), b=tl.ref(b_ptr), out_ptr=c_ptr))


def test_check_names_the_first_mismatching_index():
    program = _program(_gemm, dp=DPPolicy(num_cubes=1, num_pes=1))
    # The first output tile multiplies the wrong rows of a.
    assert "matmul pe 0 %t0_c0 [0, 0]," in program.text
    program.text = program.text.replace("matmul pe 0 %t0_c0 [0, 0],",
                                        "matmul pe 0 %t0_c0 [32, 0],", 1)
    with pytest.raises(CheckError, match=r"tensor 't2' \(64, 64\) f16 differs from numpy "
                                         r"at rank 0 index \(0, 0\)"):
        program.run(fill="random", check=True)


def test_check_never_passes_nan():
    program = _program(_gemm, dp=DPPolicy(num_cubes=1, num_pes=1))
    outcome = program.run(fill="random")
    values = program.values("random")
    outputs = [o.copy() for o in outcome.outputs]
    outputs[0][5, 7] = np.nan
    with pytest.raises(CheckError, match=r"index \(5, 7\): kb nan"):
        program.check(outputs, program.reference(values))
    assert program.check(outcome.outputs, program.reference(values)) < 1e-2


# The yield contract.
def _no_wait(a_ptr, b_ptr, c_ptr, tl):
    tl.composite(op="gemm", a=tl.load(a_ptr), b=tl.ref(b_ptr), out_ptr=c_ptr)


def test_a_kernel_without_wait_is_refused_with_the_contract():
    with pytest.raises(ValueError, match=r"launch 'k' on cube 0 PE 0: the kernel has a "
                                         r"path with no tl.wait; kernbench's yield-safety "
                                         r"contract"):
        _program(_no_wait, dp=DPPolicy(num_cubes=1, num_pes=1))


def test_kb_opt_checks_the_program_for_waits():
    program = _program(_gemm, dp=DPPolicy(num_cubes=1, num_pes=1))
    program.verify()
    program.text = "\n".join(l for l in program.text.splitlines()
                             if "gemm_tile.wait" not in l)
    with pytest.raises(ValueError, match=r"leave a path with no wait: kernbench's "
                                         r"yield-safety contract(.|\n)*on a path with no "
                                         r"gemm_tile.wait"):
        program.verify()


def test_runner_reports_the_contract_and_exits_1(tmp_path, capsys):
    path = tmp_path / "no_wait.py"
    path.write_text("def k(a_ptr, b_ptr, tl):\n"
                    "    tl.composite(op='gelu', a=tl.load(a_ptr), out_ptr=b_ptr)\n\n"
                    "def run(ctx):\n"
                    "    a = ctx.zeros((32, 32), name='a')\n"
                    "    b = ctx.empty((32, 32), name='b')\n"
                    "    ctx.launch('k', k, a, b)\n")
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:7: ValueError: launch 'k' on cube 0 PE 0" in err
    assert "yield-safety contract" in err


# What tl refuses.
def test_send_and_recv_name_the_alternative():
    def ring(a_ptr, b_ptr, c_ptr, tl):
        tl.send(a_ptr, dst=1)

    with pytest.raises(NotImplementedError, match=r"tl.send .* torch.distributed.all_reduce"):
        _program(ring)


def test_silu_and_mul_composites_run_as_runtime_kernels():
    # Llama's SwiGLU joint on one tile: c = silu(a) * b, checked against numpy.
    def swiglu(a_ptr, b_ptr, c_ptr, tl):
        tl.wait(tl.composite(op="silu", a=tl.ref(a_ptr), out_ptr=c_ptr))
        tl.wait(tl.composite(op="mul", a=tl.ref(c_ptr), b=tl.ref(b_ptr), out_ptr=c_ptr))

    program = _program(swiglu, dp=DPPolicy(num_cubes=1, num_pes=2))
    assert re.search(r'gemm_tile.map "silu" pe 0 ', program.text)
    assert re.search(r'gemm_tile.zip "mul" pe 1 ', program.text)
    outcome = program.run(fill="random", check=True)
    values = program.values("random")
    expected = program.reference(values)
    assert program.check(outcome.outputs, expected) < 1e-2
    # The same check fails when the device computes something else.
    program.text = program.text.replace('gemm_tile.zip "mul"', 'gemm_tile.zip "add"')
    with pytest.raises(CheckError, match=r"tensor 't2' \(64, 64\) f16 differs from numpy"):
        program.run(fill="random", check=True)


def test_load_shape_must_fit_the_shard():
    def bad(a_ptr, b_ptr, c_ptr, tl):
        tl.wait(tl.composite(op="gemm", a=tl.load(a_ptr, shape=(64, 128)), b=tl.ref(b_ptr),
                             out_ptr=c_ptr))

    with pytest.raises(ValueError, match=r"tl.load\(shape=\(64, 128\)\) does not fit the "
                                         r"shard \(64, 8\) of tensor 't0' \(64, 64\)"):
        _program(bad, dp=DPPolicy(num_cubes=1, pe="column_wise", num_pes=8))


def test_gemm_output_must_match_its_shard():
    with pytest.raises(ValueError, match=r"computes \(64, 64\), but out_ptr's shard of "
                                         r"'t2' is \(64, 8\)"):
        parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
        ctx = Context()
        a = ctx.zeros((64, 64), name="t0", dp=DPPolicy(num_cubes=1, num_pes=1))
        b = ctx.zeros((64, 64), name="t1", dp=DPPolicy(num_cubes=1, num_pes=1))
        c = ctx.zeros((64, 64), name="t2", dp=DPPolicy(num_cubes=1, pe="column_wise"))
        ctx.launch("k", _gemm, a, b, c)


def test_policy_beyond_the_device_names_both_numbers():
    _, pes = device.counts()
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    with pytest.raises(ValueError, match=rf"num_pes \({pes + 1}\) exceeds the device's "
                                         rf"{pes} PEs per cube"):
        Context().zeros((8, 8), dp=DPPolicy(num_pes=pes + 1))
    with pytest.raises(ValueError, match=r"pe split of dimension 1 \(size 12\) does not "
                                         r"divide by num_pes"):
        Context().zeros((8, 12), dp=DPPolicy(pe="column_wise"))


def test_ranks_must_run_the_same_program():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    ctx = Context()
    for rank, n in ((0, 64), (1, 32)):
        ctx.ahbm.set_device(rank)
        ts = [ctx.zeros((n, n), name=f"t{i}") for i in range(3)]
        ctx.launch("k", _gemm, *ts)
    with pytest.raises(ValueError, match="rank 1 differs from rank 0 at tensor 0"):
        ctx.program()


def test_missing_bench_file_exits_1(capsys):
    assert main(["run", "/nonexistent/bench.py"]) == 1
    assert "no benchmark file '/nonexistent/bench.py'" in capsys.readouterr().err


def test_kb_dppolicy_row_split_places_rows_on_pes():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    ctx = Context()
    rows = kb.DPPolicy(pe="row_wise", num_cubes=1, num_pes=4)
    x = ctx.zeros((64, 32), name="x", dp=rows)
    w = ctx.zeros((32, 48), name="w", dp=kb.DPPolicy(num_cubes=1, num_pes=1))
    y = ctx.empty((64, 48), name="y", dp=rows)
    ctx.launch("k", _gemm, x, w, y)
    program = ctx.program("rows")
    # PE p multiplies its 16 rows of x, in place, by the whole w.
    for p in range(4):
        assert (f"matmul pe {p} %t0_c0 [{16 * p}, 0], %t1_c0 [0, 0] to %t2_c0 [{16 * p}, 0] "
                f"sizes [16, 32, 32]") in program.text
    assert program.run(fill="random", check=True).check < 1e-2


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_the_seeds_kernel_reads_its_tensors_dtype(dtype, tmp_path, capsys):
    # _gemm_kernel defaults DTYPE to "f16"; kb passes the tensors' own dtype.
    path = tmp_path / f"gemm_{dtype}.py"
    path.write_text("from kernbench.policy.placement.dp import DPPolicy\n"
                    "from kernbench.tp.kernels import _gemm_kernel\n\n"
                    "def run(ctx):\n"
                    f"    x = ctx.zeros((64, 96), dtype='{dtype}', name='x')\n"
                    f"    w = ctx.zeros((96, 128), dtype='{dtype}', "
                    "dp=DPPolicy(pe='column_wise'), name='w')\n"
                    f"    y = ctx.empty((64, 128), dtype='{dtype}', "
                    "dp=DPPolicy(pe='column_wise'), name='y')\n"
                    "    ctx.launch('gemm', _gemm_kernel, x, w, y, 64, 96, 128)\n")
    assert main(["run", str(path), "--fill", "random", "--check", "--emit-ir",
                 str(tmp_path / "ir.mlir")]) == 0, capsys.readouterr().err
    assert f"memref<64x96x{dtype}, #gemm_tile.cube<0>>" in (tmp_path / "ir.mlir").read_text()


def test_the_docs_device_times_are_what_runs():
    """docs/Kernbench.md's table of the examples' device times (on `small`) stays
    true."""
    with open(os.path.join(HERE, "..", "..", "docs", "Kernbench.md")) as f:
        rows = re.findall(r"^\| `(\w+\.py)` \|.*\| ([0-9.]+) us", f.read(), re.M)
    assert len(rows) == 7
    for name, documented in rows:
        world = 4 if name == "seed_tp_block.py" else 1
        _, outcome = run_bench(bench(name), world_size=world, fill="random", seed=1,
                               device={"preset": "small"})
        assert outcome.device_time_s * 1e6 == pytest.approx(float(documented), rel=0.01), name


def _two_writes(a_ptr, b_ptr, c_ptr, tl):
    a, b = tl.ref(a_ptr), tl.ref(b_ptr)
    first = tl.composite(op="gemm", a=a, b=b, out_ptr=c_ptr)
    second = tl.composite(op="gemm", a=a, b=b, out_ptr=c_ptr)  # before waiting for first
    tl.wait(first, second)


def test_a_race_in_a_kernel_is_reported_at_its_lines():
    import inspect
    first_line = inspect.getsourcelines(_two_writes)[1] + 2
    program = _program(_two_writes, dp=DPPolicy(num_cubes=1, num_pes=1))
    with pytest.raises(kb.ToolError, match=rf"test_kernbench_tl.py:{first_line + 1}:\d+: "
                                           rf"writes a region that the operation at "
                                           rf"\S*test_kernbench_tl.py:{first_line}:\d+ "
                                           rf"writes, before waiting for it"):
        program.run()


def test_num_pes_is_honoured_under_replicate(tmp_path):
    """A PE-replicated output lies once in its cube; the num_pes PEs that hold it share
    its tiles, so fewer PEs take longer."""
    times, pes_used = {}, {}
    for num_pes in (1, 2, 8):
        path = tmp_path / f"replicate_{num_pes}.py"
        path.write_text(
            "from kernbench.policy.placement.dp import DPPolicy\n"
            "from kernbench.tp.kernels import _gemm_kernel\n\n"
            "def run(ctx):\n"
            f"    dp = DPPolicy(num_cubes=1, num_pes={num_pes})\n"
            "    x = ctx.zeros((64, 128), dp=dp, name='x')\n"
            "    w = ctx.zeros((128, 256), dp=dp, name='w')\n"
            "    y = ctx.empty((64, 256), dp=dp, name='y')\n"
            "    ctx.launch('gemm', _gemm_kernel, x, w, y, 64, 128, 256)\n")
        program, outcome = run_bench(str(path), fill="random", check=True)
        times[num_pes] = outcome.device_time_s
        pes_used[num_pes] = {int(p) for p in re.findall(r"matmul pe (\d+)", program.text)}
        # Every output tile is computed once.
        assert program.text.count("gemm_tile.matmul") == (64 // 32) * (256 // 32)
    assert pes_used == {1: {0}, 2: {0, 1}, 8: set(range(8))}
    assert times[1] > 1.9 * times[2] > 3.8 * times[8]


def test_ctx_wait_takes_launches():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    ctx = Context()
    ts = [ctx.zeros((32, 32), name=f"t{i}") for i in range(3)]
    ctx.wait(ctx.launch("k", _gemm, *ts))
    assert (ctx.float16, ctx.bfloat16, ctx.float32) == ("f16", "bf16", "f32")
    assert ctx.zeros((2, 2), dtype=ctx.bfloat16).dtype == "bf16"
    with pytest.raises(TypeError, match="ctx.wait takes what ctx.launch returned"):
        ctx.wait(ts[0])


def test_elementwise_rows_are_shared_by_the_pes_holding_the_output():
    def gelu(x_ptr, y_ptr, tl):
        tl.wait(tl.composite(op="gelu", a=tl.ref(x_ptr), out_ptr=y_ptr))

    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    ctx = Context()
    dp = DPPolicy(num_cubes=1, num_pes=4)
    x, y = ctx.zeros((10, 16), dp=dp, name="x"), ctx.empty((10, 16), dp=dp, name="y")
    ctx.launch("gelu", gelu, x, y)
    program = ctx.program("gelu")
    rows = re.findall(r"\"gelu\" pe (\d) %t0_c0 \[(\d+), 0\] to %t1_c0 \[\d+, 0\] sizes "
                      r"\[(\d+), 16\]", program.text)
    assert rows == [("0", "0", "3"), ("1", "3", "3"), ("2", "6", "3"), ("3", "9", "1")]
    assert program.run(fill="random", check=True).check < 1e-2


def test_tl_wait_takes_several_handles_or_a_list():
    def two(a_ptr, b_ptr, c_ptr, tl):
        a, b = tl.ref(a_ptr), tl.ref(b_ptr)
        tl.wait([tl.composite(op="gelu", a=a, out_ptr=c_ptr)])
        tl.wait(tl.composite(op="add", a=a, b=b, out_ptr=b_ptr),
                tl.composite(op="gelu", a=a, out_ptr=c_ptr))

    program = _program(two, dp=DPPolicy(num_cubes=1, num_pes=1))
    assert program.run(fill="random", check=True).check < 1e-2

    def none(a_ptr, b_ptr, c_ptr, tl):
        tl.wait()

    with pytest.raises(TypeError, match="tl.wait needs at least one handle"):
        _program(none)


def test_kb_layers_take_kernbench_policies_with_none_counts():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    cubes, _ = device.counts()
    layer = kb.ColumnParallelLinear(64, 64 * cubes, dtype="f16",
                                    dp=kb.DPPolicy(cube="column_wise", num_cubes=None,
                                                   num_pes=None))
    with kb.Program("col") as p:
        p.output(layer(p.input((16, 64), dtype="f16")))
    assert "#kb.dp<cube = shard(1), pe = replicate>" in p.to_mlir()
    x = np.random.default_rng(0).uniform(-1, 1, (16, 64))
    assert p.run(x, check=True).report["check"]["passed"]


def test_all_reduce_of_a_tensor_replicated_over_cubes_updates_every_replica():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    ctx = Context()
    two_cubes = DPPolicy(num_cubes=2, num_pes=1)
    for rank in range(2):
        ctx.ahbm.set_device(rank)
        ts = [ctx.zeros((32, 32), dp=two_cubes, name=f"t{i}") for i in range(3)]
        ctx.launch("k", _gemm, *ts)
        ctx.distributed.all_reduce(ts[2])
        ctx.distributed.all_reduce(ts[2])  # again: twice the sum of the partials
    program = ctx.program("twice")
    assert program.text.count("gemm_tile.reduce_scatter_step <sum> %t2_c0 step 0 of 2") == 2
    assert program.text.count("gemm_tile.dma %t2_c0 [0, 0] to %t2_c1 [0, 0]") == 2
    assert program.run(fill="random", check=True).check < 1e-2


def test_every_rank_must_run():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    ctx = Context()
    ctx.ahbm.set_device(0)
    ctx.launch("k", _gemm, *[ctx.zeros((32, 32), name=f"t{i}") for i in range(3)])
    with pytest.raises(ValueError, match=r"rank 1 of 2 ran nothing: run the per-rank code "
                                         r"once for each rank"):
        ctx.program()


@pytest.mark.parametrize("body, message", [
    ("x = 1\n", "defines no run(ctx) function"),
    ("def run(ctx)\n    pass\n", "SyntaxError: expected ':'"),
    ("def run(ctx):\n    ctx.zeros((0, 4))\n",
     ":2: ValueError: zeros() needs a shape of positive integers, got (0, 4)"),
    ("def run(ctx):\n    ctx.zeros((4, 4), dp='column_wise')\n",
     ":2: TypeError: dp must be a DPPolicy"),
    ("def run(ctx):\n    ctx.zeros((4, 4), dtype='f64')\n",
     ":2: ValueError: dtype must be one of f16, bf16, f32"),
    ("def k(a, b, tl):\n    tl.wait(tl.composite(op='softmax', a=tl.ref(a), out_ptr=b))\n\n"
     "def run(ctx):\n    ctx.launch('k', k, ctx.zeros((4, 4)), ctx.zeros((4, 4)))\n",
     ":2: ValueError: launch 'k' on cube 0 PE 0: tl.composite op must be one of gemm, gelu, "
     "silu, add, mul, got 'softmax'"),
    ("def run(ctx):\n    pass\n", "ValueError: the benchmark launched no kernel"),
])
def test_a_bad_benchmark_is_one_message_and_exit_1(body, message, tmp_path, capsys):
    path = tmp_path / "bad.py"
    path.write_text(body)
    assert main(["run", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kb.kernbench: error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err
