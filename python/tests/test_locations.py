"""Every recorded op, argument and return carries the user's file:line:col, and the
tools' errors name that line (not the temporary file the front end wrote)."""
import inspect
import os
import re

import numpy as np
import pytest

import kb
import kb.location
from kb.location import Location, at, caller_location
from kb.parallel_state import initialize_model_parallel

HERE = os.path.abspath(__file__)


def line():
    """The line of the caller."""
    return inspect.currentframe().f_back.f_lineno


def loc_of(text, pattern):
    match = re.search(pattern + r'.* loc\("([^"]*)":(\d+):(\d+)\)$', text, re.M)
    assert match, f"{pattern!r} has no location in\n{text}"
    return match.group(1), int(match.group(2)), int(match.group(3))


def test_ops_arguments_and_return_carry_the_users_lines():
    initialize_model_parallel(tensor_model_parallel_size=2)
    program_line = line() + 1
    with kb.Program("p") as p:
        x_line = line() + 1
        x = p.input("x", (4, 8), dtype="f32")
        col_line = line() + 1
        col = kb.ColumnParallelLinear(8, 16, bias=True, dtype="f32")
        h_line = line() + 1
        h = col(x)
        g_line = line() + 1
        g = kb.gelu(h)
        out_line = line() + 1
        p.output(g)
    text = p.to_mlir(debug_info=True)
    assert loc_of(text, r"%0 = kb.column_parallel_linear") == (HERE, h_line, 13)
    assert loc_of(text, r"%1 = kb.gelu") == (HERE, g_line, 13)
    assert loc_of(text, r"return %1") == (HERE, out_line, 9)
    assert loc_of(text, r"^  }") == (HERE, program_line, 10)
    assert f'%x: tensor<4x8xf32> loc("{HERE}":{x_line}:' in text
    assert f'%w1: tensor<8x16xf32> loc("{HERE}":{col_line}:' in text
    assert f'%b1: tensor<16xf32> loc("{HERE}":{col_line}:' in text
    # The readable form has none, as mlir-opt prints without --mlir-print-debuginfo.
    assert "loc(" not in p.to_mlir()


def helper_block(x):
    """A user's own helper: its lines are the user's too (the innermost user frame)."""
    return kb.gelu(x), line()


def test_the_innermost_frame_outside_kb_is_the_users():
    with kb.Program("p") as p:
        y, helper_line = helper_block(p.input((2, 2), dtype="f32"))
        p.output(y)
    assert loc_of(p.to_mlir(debug_info=True), "kb.gelu")[:2] == (HERE, helper_line)


def test_frames_of_a_registered_package_are_not_the_users(tmp_path, monkeypatch):
    """A package that records ops for its caller registers its directory; its frames are
    skipped, so the op is located at the caller's line."""
    package = tmp_path / "recording_package"
    package.mkdir()
    (package / "helpers.py").write_text("import kb\n\ndef act(x):\n    return kb.gelu(x)\n")
    monkeypatch.syspath_prepend(str(package))
    import helpers
    with kb.Program("p") as p:
        x = p.input((2, 2), dtype="f32")
        p.output(helpers.act(x))
    assert loc_of(p.to_mlir(debug_info=True), "kb.gelu")[0] == str(package / "helpers.py")
    monkeypatch.setattr(kb.location, "_INTERNAL_DIRS", list(kb.location._INTERNAL_DIRS))
    kb.location.register_internal_directory(str(package))
    with kb.Program("p") as p:
        x = p.input((2, 2), dtype="f32")
        act_line = line() + 1
        p.output(helpers.act(x))
    assert loc_of(p.to_mlir(debug_info=True), "kb.gelu") == (HERE, act_line, 18)


def test_a_location_can_be_given_for_recorded_code():
    with kb.Program("p") as p:
        with at(Location('dir/my "model".py', 13, 9)):
            y = kb.gelu(p.input((2, 2), dtype="f32"))
        p.output(y)
    text = p.to_mlir(debug_info=True)
    assert r'kb.gelu %x : tensor<2x2xf32> loc("dir/my \"model\".py":13:9)' in text
    assert caller_location().file == HERE  # the override ended with the block


def test_a_kb_opt_verifier_error_names_the_users_line():
    """A column layer whose out_features (10) does not divide by W = 4: the front end's
    own check is bypassed on purpose, so that kb-opt's verifier reports it."""
    initialize_model_parallel(tensor_model_parallel_size=1)
    layer = kb.ColumnParallelLinear(16, 10, dtype="f32")
    layer.world_size = 4  # past the front end's check, deliberately
    with kb.Program("bad", world_size=4) as p:
        x = p.input((8, 16), dtype="f32")
        bad_line = line() + 1
        p.output(layer(x))
    with pytest.raises(kb.ToolError) as e:
        p.compile()
    stderr = e.value.stderr
    assert (f"{HERE}:{bad_line}:18: error: 'kb.column_parallel_linear' op out_features (10) "
            f"must be divisible by TP world size (4)") in stderr
    assert "test_locations.py" in str(e.value) and f":{bad_line}:" in str(e.value)
    assert "bad.mlir" not in stderr
    with pytest.raises(kb.ToolError) as e:  # kb-run compiles the same text
        p.run(np.ones((8, 16)), check=False)
    assert f"{HERE}:{bad_line}:18: error: 'kb.column_parallel_linear' op" in e.value.stderr


def test_a_kb_run_device_error_names_the_layers_line():
    """The policy fits the default device but not the one given to kb-run."""
    with kb.Program("p") as p:
        layer_line = line() + 1
        layer = kb.ColumnParallelLinear(8, 8, dtype="f32", dp=kb.DPPolicy(num_cubes=4))
        p.output(layer(p.input((2, 8), dtype="f32")))
    p.run(np.ones((2, 8)))
    with pytest.raises(kb.ToolError) as e:
        p.run(np.ones((2, 8)), device={"cubes": 2})
    assert f"{HERE}:{layer_line}:" in e.value.stderr
    assert "DPPolicy names 4 cubes, but the device has 2" in e.value.stderr
