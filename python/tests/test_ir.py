"""The kb IR the front end writes: the global view, in the dialect's assembly format.

The golden tests need no tool. The round-trip tests have kb-opt parse and verify the
text and print it back: apart from argument names (kb-opt prints %arg0, ...) its output
must be our text, character for character.
"""
import os
import re
import subprocess

import pytest

import kb
from kb.parallel_state import initialize_model_parallel
from kb.tools import find_tool, run_tool

SPEC_EXAMPLE = """\
module attributes {kb.world_size = 4 : i64} {
  func.func @mlp(%x: tensor<8x16xf16>, %w1: tensor<16x64xf16>, %b1: tensor<64xf16>, %w2: tensor<64x16xf16>) -> tensor<8x16xf16> {
    %0 = kb.column_parallel_linear %x, %w1 bias %b1 : (tensor<8x16xf16>, tensor<16x64xf16>, tensor<64xf16>) -> tensor<8x64xf16>
    %1 = kb.gelu %0 : tensor<8x64xf16>
    %2 = kb.row_parallel_linear %1, %w2 : (tensor<8x64xf16>, tensor<64x16xf16>) -> tensor<8x16xf16>
    return %2 : tensor<8x16xf16>
  }
}
"""


def seed_block():
    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("mlp") as p:
        x = p.input((8, 16), dtype="f16")
        col = kb.ColumnParallelLinear(16, 64, bias=True, dtype="f16")
        row = kb.RowParallelLinear(64, 16, dtype="f16")
        p.output(row(kb.gelu(col(x))))
    return p


def test_the_seed_block_is_the_spec_example_exactly():
    assert seed_block().to_mlir() == SPEC_EXAMPLE
    assert str(seed_block()) == SPEC_EXAMPLE


def test_arguments_are_inputs_then_parameters_in_order_of_use():
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("p") as p:
        x = p.input((4, 8), dtype="f32")
        up = kb.ColumnParallelLinear(8, 16, bias=True, dtype="f32", name="up")
        gate = kb.ColumnParallelLinear(8, 16, dtype="f32")
        h = kb.add(gate(x), up(x))
        bias = p.input("bias", (16,), dtype="f32")  # declared late, still an input
        h = kb.add(h, bias)
        down = kb.RowParallelLinear(16, 8, bias=True, dtype="f32")
        p.output(down(h))
    assert [t.name for t in p.arguments] == ["x", "bias", "w1", "up_w", "up_b", "w3", "b3"]
    ir = p.to_mlir()
    assert "%0 = kb.column_parallel_linear %x, %w1 : " in ir
    assert "%1 = kb.column_parallel_linear %x, %up_w bias %up_b : " in ir
    assert "%2 = kb.add %0, %1 : tensor<4x16xf32>, tensor<4x16xf32>" in ir
    assert "%3 = kb.add %2, %bias : tensor<4x16xf32>, tensor<16xf32>" in ir
    assert ("%4 = kb.row_parallel_linear %3, %w3 bias %b3 : (tensor<4x16xf32>, "
            "tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>") in ir


def test_a_layer_applied_twice_adds_its_parameters_once():
    with kb.Program("p") as p:
        layer = kb.ColumnParallelLinear(8, 8, bias=True, dtype="f32")
        x = p.input((2, 8), dtype="f32")
        p.output(layer(layer(x)))
    assert [t.name for t in p.arguments] == ["x", "w1", "b1"]
    assert "kb.column_parallel_linear %0, %w1 bias %b1" in p.to_mlir()


def test_names_never_collide():
    with kb.Program("p") as p:
        w1 = p.input("w1", (2, 4), dtype="f32")
        x = p.input((2, 4), dtype="f32")
        x2 = p.input((2, 4), dtype="f32")
        h = kb.ColumnParallelLinear(4, 4, dtype="f32")(kb.add(kb.add(w1, x), x2))
        p.output(h)
    assert [t.name for t in p.arguments] == ["w1", "x", "x_1", "w1_1"]


def test_policies_are_encodings_and_gelu_add_keep_them():
    initialize_model_parallel(tensor_model_parallel_size=2)
    dp = kb.DPPolicy(cube="shard", pe="shard", num_cubes=4, num_pes=2)
    enc = "#kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 2>"
    with kb.Program("p") as p:
        x = p.input((8, 16), dtype="bf16", dp=kb.DPPolicy(num_cubes=4))
        h = kb.ColumnParallelLinear(16, 64, dtype="bf16", dp=dp)(x)
        p.output(kb.gelu(x), h)
    ir = p.to_mlir()
    x_type = ("tensor<8x16xbf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 4, "
              "num_pes = 1>>")
    assert f"%x: {x_type}" in ir
    assert f"%w1: tensor<16x64xbf16, {enc}>" in ir
    assert f"%1 = kb.gelu %x : {x_type}" in ir
    assert f"-> ({x_type}, tensor<8x64xbf16>) {{" in ir
    assert f"return %1, %0 : {x_type}, tensor<8x64xbf16>" in ir


def test_silu_mul_scale_are_the_dialects_ops():
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("p") as p:
        x = p.input("x", (4, 8), dtype="f32")
        w = p.input("w", (8,), dtype="f32")
        p.output(kb.silu(x) * x, x * w, 0.5 * x, x + x)
        with pytest.raises(ValueError, match="finite factor"):
            kb.scale(x, float("inf"))
        with pytest.raises(ValueError, match="mul needs b of shape"):
            kb.mul(x, p.input("v", (4,), dtype="f32"))
    ir = p.to_mlir()
    assert "%0 = kb.silu %x : tensor<4x8xf32>" in ir
    assert "%1 = kb.mul %0, %x : tensor<4x8xf32>, tensor<4x8xf32>" in ir
    assert "%2 = kb.mul %x, %w : tensor<4x8xf32>, tensor<8xf32>" in ir
    assert "%3 = kb.scale %x by 5.000000e-01 : tensor<4x8xf32>" in ir
    assert "%4 = kb.add %x, %x : tensor<4x8xf32>, tensor<4x8xf32>" in ir


def test_all_gather_and_reduce_scatter_are_the_dialects_ops():
    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("p") as p:
        x = p.input("x", (8, 16), dtype="f16")
        p.output(kb.all_gather(kb.reduce_scatter(x, 0), -1))
        with pytest.raises(ValueError, match=r"dimension of a rank-2 tensor, got 2"):
            kb.all_gather(x, 2)
        with pytest.raises(ValueError, match=r"splits dimension 1 \(size 6\) over the "
                                             r"ranks; it must be divisible by TP world "
                                             r"size \(4\)"):
            kb.reduce_scatter(p.input("y", (8, 6), dtype="f16"), 1)
    ir = p.to_mlir()
    assert ("%0 = kb.reduce_scatter <sum> %x along 0 : tensor<8x16xf16> -> "
            "tensor<8x16xf16>") in ir
    assert "%1 = kb.all_gather %0 along 1 : tensor<8x16xf16> -> tensor<8x16xf16>" in ir


def test_a_program_needs_an_output():
    with kb.Program("p") as p:
        p.input((2, 2))
    with pytest.raises(ValueError, match="has no outputs"):
        p.to_mlir()


# Round trips through kb-opt (which exists in every build).

def programs():
    yield "seed", seed_block()
    initialize_model_parallel(tensor_model_parallel_size=2)
    dp = kb.DPPolicy(cube="shard", pe="shard", num_cubes=2, num_pes=4, cube_dim=0, pe_dim=1)
    with kb.Program("everything") as p:
        x = p.input("x", (4, 8), dtype="bf16", dp=kb.DPPolicy(num_cubes=2))
        col = kb.ColumnParallelLinear(8, 16, bias=True, dtype="bf16", dp=dp, name="up")
        h = kb.add(kb.gelu(col(x)), p.input("b", (16,), dtype="bf16"))
        row = kb.RowParallelLinear(16, 8, bias=True, dtype="bf16")
        p.output(row(h), h, x)
    yield "everything", p
    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("swiglu") as p:
        x = p.input("x", (8, 32), dtype="f16")
        gate = kb.ColumnParallelLinear(32, 64, dtype="f16", name="gate")
        up = kb.ColumnParallelLinear(32, 64, dtype="f16", name="up")
        down = kb.RowParallelLinear(64, 32, dtype="f16", name="down")
        h = kb.silu(gate(x)) * up(x)
        p.output(down(0.125 * h), kb.scale(x, 0.1) * x)
    yield "swiglu", p
    with kb.Program("collectives") as p:
        x = p.input("x", (8, 32), dtype="f32")
        col = kb.ColumnParallelLinear(input_size=32, output_size=64, bias=False,
                                      gather_output=True, dtype="fp32")
        h, _ = col(x)
        p.output(kb.all_gather(kb.reduce_scatter(kb.gelu(h), 0), 0))
    yield "collectives", p
    initialize_model_parallel(tensor_model_parallel_size=1)
    with kb.Program("one") as p:
        p.output(kb.gelu(p.input((3,), dtype="f32")))
    yield "rank1", p


def canonical(text):
    """Our text with arguments renamed as kb-opt prints them."""
    header = text.splitlines()[1]
    names = re.findall(r"(%[A-Za-z_][A-Za-z0-9_$.]*):", header)
    for i, name in sorted(enumerate(names), key=lambda n: -len(n[1])):
        text = re.sub(re.escape(name) + r"\b", f"%arg{i}", text)
    return text


@pytest.mark.parametrize("name, program", list(programs()), ids=lambda v: v if
                         isinstance(v, str) else "")
def test_kb_opt_parses_verifies_and_prints_back_the_same_text(tmp_path, name, program):
    text = program.to_mlir()
    source = tmp_path / "in.mlir"
    source.write_text(text)
    printed = run_tool("kb-opt", [source]).stdout
    assert printed.rstrip("\n") == canonical(text).rstrip("\n")


def test_kb_opt_rejects_what_the_front_end_would_not_write(tmp_path):
    """The front end's checks match the verifier's: the seed's message is kb-opt's too."""
    source = tmp_path / "bad.mlir"
    source.write_text(SPEC_EXAMPLE.replace("tensor<16x64xf16>", "tensor<16x62xf16>")
                      .replace("tensor<64xf16>", "tensor<62xf16>")
                      .replace("tensor<8x64xf16>", "tensor<8x62xf16>")
                      .replace("tensor<64x16xf16>", "tensor<62x16xf16>"))
    done = subprocess.run([find_tool("kb-opt"), os.fspath(source)], capture_output=True,
                          text=True)
    assert done.returncode != 0
    assert "out_features (62) must be divisible by TP world size (4)" in done.stderr
