"""Missing and failing tools surface as kb.ToolError with what went wrong: the tool,
its command line, its exit status and its stderr."""
import inspect
import subprocess

import numpy as np
import pytest

import kb
from kb import tools


def fake_tool(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def small_program():
    with kb.Program("p") as p:
        x = p.input("x", (2, 2), dtype="f32")
        p.output(kb.gelu(x))
    return p


def test_missing_tool_says_where_it_looked_and_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    monkeypatch.setattr(tools, "_REPO_BIN", str(tmp_path / "nothing"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(kb.ToolError) as e:
        small_program().compile()
    message = str(e.value)
    assert message.startswith("kb-opt: not found (looked in ")
    assert str(tmp_path) in message and str(tmp_path / "nothing") in message
    assert ", PATH)" in message and "scripts/build.sh" in message
    assert "put its build/bin on PATH, set KB_TOOLS_DIR" in message
    assert "KB_TOOLS_DIR=/path/to/build/bin pip install ./python" in message
    assert e.value.tool == "kb-opt" and e.value.returncode is None


def test_the_directory_recorded_at_install_is_searched_before_path(monkeypatch, tmp_path):
    recorded, on_path = tmp_path / "recorded", tmp_path / "on_path"
    recorded.mkdir()
    on_path.mkdir()
    fake_tool(recorded, "kb-opt", "echo recorded\n")
    fake_tool(on_path, "kb-opt", "echo path\n")
    monkeypatch.delenv("KB_TOOLS_DIR", raising=False)
    monkeypatch.setattr(tools, "_REPO_BIN", None)  # as an installed copy has none
    monkeypatch.setenv("PATH", str(on_path))
    assert tools.find_tool("kb-opt") == str(on_path / "kb-opt")
    monkeypatch.setattr(tools, "configured_tools_dir", lambda: str(recorded))
    assert tools.find_tool("kb-opt") == str(recorded / "kb-opt")
    assert small_program().compile() == "recorded\n"
    monkeypatch.setattr(tools, "configured_tools_dir", lambda: str(tmp_path / "gone"))
    with pytest.raises(kb.ToolError, match=r"looked in .*gone, PATH\)") as e:
        tools.find_tool("kb-run")
    assert "install this package with KB_TOOLS_DIR set" in str(e.value)


def test_failing_tool_surfaces_its_stderr(monkeypatch, tmp_path):
    fake_tool(tmp_path, "kb-opt", "echo 'error: something specific' >&2\nexit 3\n")
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    with pytest.raises(kb.ToolError) as e:
        small_program().compile()
    error = e.value
    message = str(error)
    assert isinstance(error, RuntimeError)
    assert not isinstance(error, subprocess.CalledProcessError)
    assert error.returncode == 3 and error.tool == "kb-opt"
    assert error.command[0] == str(tmp_path / "kb-opt") and "--kb-pipeline" in error.command
    assert message.startswith("kb-opt: failed")
    assert f"command: {tmp_path / 'kb-opt'} --kb-pipeline " in message
    assert "exit status: 3" in message
    assert "error: something specific" in message and error.stderr.strip() == (
        "error: something specific")


def test_a_tool_killed_by_a_signal_says_so(monkeypatch, tmp_path):
    fake_tool(tmp_path, "kb-opt", "kill -SEGV $$\n")
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    with pytest.raises(kb.ToolError, match="kb-opt: killed by signal 11"):
        small_program().compile()


def test_kb_tools_dir_comes_first(monkeypatch, tmp_path):
    fake_tool(tmp_path, "kb-opt", "echo lowered by the fake\n")
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    assert small_program().compile() == "lowered by the fake\n"


def test_a_failed_check_keeps_kb_runs_report(monkeypatch, tmp_path):
    """kb-run writes its report before it exits 1 on a failed --check; the error keeps it."""
    fake_tool(tmp_path, "kb-run", """
while [ $# -gt 0 ]; do
  if [ "$1" = --report ]; then
    echo '{"check": {"passed": false, "max_rel_err": 0.5}}' > "$2"; fi
  shift
done
echo 'kb-run: check failed: result 0' >&2
exit 1
""")
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    with pytest.raises(kb.ToolError) as e:
        small_program().run({"x": np.ones((2, 2))}, check=True)
    assert e.value.tool == "kb-run" and "--check" in e.value.command
    assert "check failed: result 0" in str(e.value)
    assert e.value.report == {"check": {"passed": False, "max_rel_err": 0.5}}


def test_kb_opt_errors_reach_the_user_with_their_location(tmp_path):
    """A policy naming more cubes than the device has is kb-opt's to reject (the device
    can be overridden); its message names both numbers and the line that built the
    layer, not the temporary file kb-opt read."""
    with kb.Program("p") as p:
        layer_line = inspect.currentframe().f_lineno + 1
        layer = kb.ColumnParallelLinear(8, 64, dtype="f32",
                                        dp=kb.DPPolicy(cube="shard", num_cubes=8))
        p.output(layer(p.input((2, 8), dtype="f32")))
    p.compile()  # the default device has 16 cubes
    with pytest.raises(kb.ToolError) as e:
        p.compile(device={"preset": "small"})
    assert e.value.returncode == 1
    assert "DPPolicy names 8 cubes, but the device has 4" in e.value.stderr
    assert f"{__file__}:{layer_line}:17: error: DPPolicy names 8 cubes" in e.value.stderr
    assert "p.mlir" not in e.value.stderr
