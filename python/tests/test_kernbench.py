"""The kernbench compatibility package: kernbench's DPPolicy, parallel_state and
kernels, and the recorder that turns per-rank (local-view) code into kb's global view.
The seed's own file (tests/data/seed_layers.py, unmodified) is the main customer."""
import hashlib
import inspect
import os
import sys

import numpy as np
import pytest

import kb
from kernbench import registry
from kernbench.policy.placement.dp import DPPolicy
from kernbench.recorder import Recorder
from kernbench.tp import kernels, parallel_state

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
sys.path.insert(0, DATA)
import seed_layers  # noqa: E402

SEED_POLICY = DPPolicy(cube="replicate", pe="replicate", num_cubes=1, num_pes=1)


def test_the_seed_file_is_the_users_code_byte_for_byte():
    with open(os.path.join(DATA, "seed_layers.py"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    # The sha256 of seeds/000_687c2087620434ad.reindented.py.
    assert digest == "da4e8815eb1e95a7de7ed3b041488f09fe12f9bcce12c51ed70cd09f369e2693"


# DPPolicy, as kernbench defines it.
def test_dppolicy_defaults_and_fields():
    p = DPPolicy()
    assert (p.cube, p.pe, p.num_cubes, p.num_pes) == ("replicate", "replicate", None, None)
    q = DPPolicy(pe="column_wise")  # the first line of kernbench's QKV benchmark
    assert q.pe == "column_wise" and q == DPPolicy("replicate", "column_wise")
    assert DPPolicy(cube="row_wise", num_cubes=2, num_pes=1).num_cubes == 2


@pytest.mark.parametrize("kwargs", [dict(sip=0), dict(num_sips=4)])
def test_dppolicy_has_no_sip_field(kwargs):
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{next(iter(kwargs))}'"):
        DPPolicy(**kwargs)
    with pytest.raises(TypeError, match="unexpected keyword argument 'cube_dim'"):
        DPPolicy(cube_dim=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cube="shard"), "cube must be one of replicate, column_wise, row_wise, got 'shard'"),
    (dict(pe="columns"), "pe must be one of"),
    (dict(num_cubes=0), "num_cubes must be None (all) or a positive integer, got 0"),
    (dict(num_pes=1.0), "num_pes must be None (all) or a positive integer, got 1.0"),
])
def test_dppolicy_bad_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError) as e:
        DPPolicy(**kwargs)
    assert message in str(e.value)


def test_dppolicy_maps_to_kbs_shard_dims_and_counts():
    to = DPPolicy(cube="column_wise", pe="row_wise").to_kb((64, 128), 4, 8)
    assert to == kb.DPPolicy(cube="shard", pe="shard", num_cubes=4, num_pes=8, cube_dim=1,
                             pe_dim=0)
    assert DPPolicy(cube="row_wise", num_cubes=2, num_pes=1).to_kb((8, 8), 4, 8) == \
        kb.DPPolicy(cube="shard", cube_dim=0, num_cubes=2, num_pes=1)
    assert SEED_POLICY.to_kb((8, 8), 4, 8) == kb.DPPolicy()  # replicate on 1 cube, 1 PE
    assert DPPolicy(pe="column_wise").to_kb((16,), 2, 4).to_mlir() == (
        "#kb.dp<cube = replicate, pe = shard(0), num_cubes = 2, num_pes = 4>")
    # Without the device's counts, None stays None: #kb.dp leaves it to the device.
    assert DPPolicy(pe="column_wise").to_kb((16,)).to_mlir() == (
        "#kb.dp<cube = replicate, pe = shard(0)>")
    assert DPPolicy(cube="row_wise", num_pes=2).to_kb((8, 8)).to_mlir() == (
        "#kb.dp<cube = shard(0), pe = replicate, num_pes = 2>")


def test_parallel_state_is_kbs():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=4)
    assert kb.parallel_state.get_tensor_model_parallel_world_size() == 4
    parallel_state.set_tensor_model_parallel_rank(3)
    assert parallel_state.get_tensor_model_parallel_rank() == 3
    with pytest.raises(ValueError, match=r"integer in \[0, 4\), got 4"):
        parallel_state.set_tensor_model_parallel_rank(4)


# Recording the seed.
def record_seed(world=4, m=8, hidden=32, ffn=64, fill="random", device=None):
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=world)
    torch = Recorder()
    for rank in range(world):
        torch.ahbm.set_device(rank)
        assert parallel_state.get_tensor_model_parallel_rank() == rank
        x = torch.zeros((m, hidden), dtype="f16", dp=SEED_POLICY, name="x")
        column = seed_layers.ColumnParallelLinear(hidden, ffn, torch=torch)
        row = seed_layers.RowParallelLinear(ffn, hidden, torch=torch)
        row.forward(column.forward(x))
    return torch.trace("seed_block", fill=fill, seed=3, device=device)


def test_the_seed_is_traced_into_the_global_view():
    trace = record_seed()
    assert [(l["layer"], l["split_dim"], l["rank_shape"]) for l in trace.layers] == [
        ("ColumnParallelLinear(32, 64)", 1, (32, 16)),
        ("RowParallelLinear(64, 32)", 0, (16, 32))]
    text = trace.program("kb").to_mlir()
    assert "kb.column_parallel_linear %x, %col_parallel_gemm_w : (tensor<8x32xf16>, " \
           "tensor<32x64xf16>) -> tensor<8x64xf16>" in text
    assert "kb.row_parallel_linear %0, %row_parallel_gemm_w : (tensor<8x64xf16>, " \
           "tensor<64x32xf16>) -> tensor<8x32xf16>" in text
    assert "#kb.dp" not in text
    given = trace.program("given").to_mlir()
    # x, both weights and both results: every tensor type carries the seed's policy.
    assert given.count("#kb.dp<cube = replicate, pe = replicate, num_cubes = 1, "
                       "num_pes = 1>>") == given.count("tensor<") == 11


@pytest.mark.parametrize("placement", ["kb", "given"])
def test_the_seed_runs_with_check_and_matches_its_per_rank_math(placement):
    """Each rank's math, done in numpy on the slices the seed's code made: rank r's
    column weight is the global weight's column block r, its row weight the row block
    r, and all_reduce sums the ranks' partial products."""
    trace = record_seed()
    result = trace.run(placement, check=True)
    assert result.report["check"]["passed"]
    program = trace.program(placement)
    x = trace.inputs["x"].astype(np.float32)
    wc, wr = (layer.weight.astype(np.float32) for _, layer, _ in program.parameters)
    n = 64 // 4
    partial = []
    for r in range(4):
        y_r = (x @ wc[:, r * n:(r + 1) * n]).astype(np.float16).astype(np.float32)
        partial.append(y_r @ wr[r * n:(r + 1) * n, :])
    want = np.sum(partial, axis=0)
    got = result.output.astype(np.float32)
    assert np.max(np.abs(got - want)) <= 1e-2 * np.max(np.abs(want))
    assert np.max(np.abs(want)) > 0.1  # random fill: a real comparison


def test_the_seeds_placement_costs_more_than_kbs_choice():
    trace = record_seed(m=64, hidden=256, ffn=1024)
    ours = trace.run("kb").report["device_time_s"]
    seeds = trace.run("given").report["device_time_s"]
    assert seeds > 2 * ours


def test_fill_zeros_is_kernbenchs_zeros():
    result = record_seed(fill="zeros").run("kb")
    assert not result.output.any()


def test_num_cubes_none_means_all_of_the_devices():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    for device, cubes in ((None, 16), ({"cubes": 2}, 2)):
        torch = Recorder()
        for rank in range(2):
            torch.ahbm.set_device(rank)
            x = torch.zeros((8, 16), dtype="f32", name="x")
            w = torch.zeros((16, 16), dtype="f32", dp=DPPolicy(cube="column_wise"), name="w")
            y = torch.empty((8, 16), dtype="f32", name="y")
            torch.launch("gemm", kernels._gemm_kernel, x, w, y, 8, 16, 16)
        trace = torch.trace("p", device=device)
        # The count stays open in the IR; kb-run's device decides what it is.
        assert "tensor<16x32xf32, #kb.dp<cube = shard(1), pe = replicate>>" in \
            trace.program("given").to_mlir()
        result = trace.run("given")
        assert result.report["check"]["passed"]
        assert result.report["device"]["cubes"] == cubes


# The kernel registry.
def column_gelu_add_row(torch, rank, m=4, h=16, f=32, world=2):
    x = torch.zeros((m, h), dtype="f32", name="x")
    w_up = torch.zeros((h, f // world), dtype="f32", name="w_up")
    w_gate = torch.zeros((h, f // world), dtype="f32", name="w_gate")
    w_down = torch.zeros((f // world, h), dtype="f32", name="w_down")
    bias = torch.zeros((f // world,), dtype="f32", name="bias")
    up, gate, act, s, t, out = (torch.empty((m, f // world), dtype="f32") for _ in range(6))
    y = torch.empty((m, h), dtype="f32", name="y")
    torch.launch("up", kernels._gemm_kernel, x, w_up, up, m, h, f // world)
    torch.launch("gate", kernels._gemm_kernel, x, w_gate, gate, m, h, f // world)
    torch.launch("gelu", kernels._gelu_kernel, gate, act, m, f // world)
    torch.launch("add", kernels._add_kernel, act, up, s, m, f // world)
    torch.launch("bias", kernels._add_kernel, s, bias, t, m, f // world)
    torch.launch("down", kernels._gemm_kernel, t, w_down, y, m, f // world, h)
    torch.distributed.all_reduce(y, op="sum")


def test_gelu_and_add_kernels_map_through_the_registry():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    torch = Recorder()
    for rank in range(2):
        torch.ahbm.set_device(rank)
        column_gelu_add_row(torch, rank)
    trace = torch.trace("mlp")
    text = trace.program().to_mlir()
    assert "kb.gelu %1 : tensor<4x32xf32>" in text
    assert "kb.add %2, %0 : tensor<4x32xf32>, tensor<4x32xf32>" in text
    assert "kb.add %3, %bias : tensor<4x32xf32>, tensor<32xf32>" in text  # split bias
    assert sorted(trace.inputs) == ["bias", "x"] and trace.inputs["bias"].shape == (32,)
    result = trace.run(check=True)
    expected = trace.program().reference(trace.inputs)[0]
    assert np.allclose(result.output, expected, atol=1e-4)


def test_an_unknown_kernel_is_refused_by_name_and_can_be_registered():
    def _silu_kernel(x_ptr, y_ptr, M, N, tl, DTYPE="f16"):
        pass

    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    torch = Recorder()
    x, y = torch.zeros((2, 2), name="x"), torch.empty((2, 2), name="y")
    with pytest.raises(NotImplementedError, match="launch 'act': kb does not know kernel "
                                                  "'_silu_kernel' .*_gemm_kernel"):
        torch.launch("act", _silu_kernel, x, y, 2, 2)
    with pytest.raises(ValueError, match="kernel op must be one of gemm, gelu, add"):
        registry.register(_silu_kernel, "silu")

    def my_gelu(x_ptr, y_ptr, M, N, tl):
        pass

    registry.register(my_gelu, "gelu")
    torch.launch("act", my_gelu, x, y, 2, 2)
    assert "kb.gelu %x" in torch.trace("p").program().to_mlir()


# What cannot be traced is refused with the reason.
def one_rank():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=1)
    return Recorder()


def test_launch_arguments_are_checked_where_the_code_launches():
    torch = one_rank()
    x, w = torch.zeros((4, 8), name="x"), torch.zeros((8, 2), name="w")
    y = torch.empty((4, 3), name="y")
    with pytest.raises(ValueError, match=r"launch 'g': argument 2 \('y'\) is \(4, 3\), the "
                                         r"gemm kernel reads \(4, 2\) from M=4, K=8, N=2"):
        torch.launch("g", kernels._gemm_kernel, x, w, y, 4, 8, 2)
    with pytest.raises(TypeError, match="takes 3 tensors and M, K, N; got 5 arguments"):
        torch.launch("g", kernels._gemm_kernel, x, w, y, 4, 8)
    with pytest.raises(ValueError, match="mix dtypes"):
        torch.launch("g", kernels._gemm_kernel, x, torch.zeros((8, 2), dtype="f32"),
                     torch.empty((4, 2)), 4, 8, 2)
    with pytest.raises(NotImplementedError, match=r"all_reduce\(op='max'\)"):
        torch.distributed.all_reduce(y, op="max")


def test_every_rank_must_run_the_same_code():
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    torch = Recorder()
    torch.ahbm.set_device(0)
    seed_layers.ColumnParallelLinear(8, 8, torch=torch).forward(torch.zeros((2, 8)))
    with pytest.raises(ValueError, match="rank 1 of 2 recorded nothing"):
        torch.trace()
    torch.ahbm.set_device(1)
    seed_layers.ColumnParallelLinear(8, 8, torch=torch).forward(torch.zeros((3, 8)))
    with pytest.raises(ValueError, match="rank 1 differs from rank 0 at tensor 1"):
        torch.trace()
    with pytest.raises(ValueError, match=r"belongs to rank 0, the code runs on rank 1"):
        torch.distributed.all_reduce(torch._tensors[0][0])


def test_a_partial_sum_must_be_all_reduced():
    torch = one_rank()
    x = torch.zeros((2, 4), name="x")
    h = torch.empty((2, 4), name="h")
    y = torch.empty((2, 4), name="y")
    torch.launch("col", kernels._gemm_kernel, x, torch.zeros((4, 4), name="w1"), h, 2, 4, 4)
    torch.launch("row", kernels._gemm_kernel, h, torch.zeros((4, 4), name="w2"), y, 2, 4, 4)
    with pytest.raises(ValueError, match=r"tensor 'y' \(2, 4\) is a partial sum that no "
                                         r"all_reduce completed"):
        torch.trace()
    torch.distributed.all_reduce(h)
    with pytest.raises(NotImplementedError, match="all_reduce of tensor 'h' .* split"):
        torch.trace()


def test_reading_an_empty_tensor_before_writing_it_is_an_error():
    torch = one_rank()
    torch.launch("g", kernels._gelu_kernel, torch.empty((2, 2), name="e"),
                 torch.empty((2, 2)), 2, 2)
    with pytest.raises(ValueError, match=r"tensor 'e' \(2, 2\) is read before any kernel "
                                         r"wrote it \(it was made with empty\(\)\)"):
        torch.trace()


def test_kb_opt_errors_name_the_line_of_the_per_rank_code():
    """A policy on more cubes than the device has: kb-opt names the line that made the
    weight (in the per-rank code), not the front end's."""
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=2)
    torch = Recorder()
    for rank in range(2):
        torch.ahbm.set_device(rank)
        x = torch.zeros((2, 8), dtype="f32", name="x")
        weight_line = inspect.currentframe().f_lineno + 1
        w = torch.zeros((8, 4), dtype="f32", dp=DPPolicy(num_cubes=32), name="w")
        torch.launch("g", kernels._gemm_kernel, x, w, torch.empty((2, 4), dtype="f32"),
                     2, 8, 4)
    trace = torch.trace("p")
    trace.run("kb")  # kb's placement ignores the policy
    with pytest.raises(kb.ToolError) as e:
        trace.run("given")
    assert f"{__file__}:{weight_line}:13: error: DPPolicy names 32 cubes, but the device " \
           f"has 16" in e.value.stderr
