"""Missing and failing tools surface as kb.ToolError with what went wrong."""
import os
import stat

import pytest

import kb
from kb import tools


def test_missing_tool_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    monkeypatch.setattr(tools, "_REPO_BIN", str(tmp_path / "nothing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(kb.ToolError) as e:
        tools.find_tool("kb-opt")
    assert "kb-opt: not found" in str(e.value) and str(tmp_path) in str(e.value)
    assert "scripts/build.sh" in str(e.value)


def test_failing_tool_surfaces_its_stderr(monkeypatch, tmp_path):
    fake = tmp_path / "kb-opt"
    fake.write_text("#!/bin/sh\necho 'error: something specific' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("KB_TOOLS_DIR", str(tmp_path))
    with kb.Program("p") as p:
        x = p.input("x", (2, 2), dtype="f32")
        p.output(kb.gelu(x))
    with pytest.raises(kb.ToolError) as e:
        p.compile()
    message = str(e.value)
    assert e.value.returncode == 3 and e.value.tool == "kb-opt"
    assert "error: something specific" in message and "exit status: 3" in message
    assert "--kb-pipeline" in message
    assert isinstance(e.value, RuntimeError)
