"""`pip install ./python` works offline in a fresh virtual environment, with the build
backend from Debian (python3-setuptools, python3-wheel), and the installed package
finds the tools it recorded and runs an example from outside the source tree."""
import os
import shutil
import subprocess
import sys

import pytest

from kb.tools import find_tool

PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SYSTEM_PYTHON = "/usr/bin/python3"


def venv_available():
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import ensurepip, venv, setuptools, wheel"],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not venv_available(),
                    reason="needs /usr/bin/python3 with venv, ensurepip, setuptools and wheel "
                           "(Debian: python3-venv python3-setuptools python3-wheel; "
                           "scripts/setup.sh installs them)")
def test_offline_install_into_a_fresh_venv_runs_an_example(tmp_path):
    # setup.py records the directory absolute and normalized; compare with the same form.
    tools_dir = os.path.abspath(os.path.dirname(find_tool("kb-run")))
    # Install from a copy, so the build's leftovers never touch the source tree.
    source = tmp_path / "src"
    shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns(
        "build*", "*.egg-info", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, capture_output=True)
    # No index, no build isolation: nothing may come from the network.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    env.update(KB_TOOLS_DIR=tools_dir, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                           "--no-index", str(source)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully installed kb-ahbm-0.1.0" in done.stdout

    # Run it from elsewhere, with neither PATH nor KB_TOOLS_DIR naming the tools: the
    # package finds them where it recorded them at install.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    example = run_dir / "seed_mlp.py"
    shutil.copy(os.path.join(PYTHON_DIR, "examples", "seed_mlp.py"), example)
    env.pop("KB_TOOLS_DIR")
    env["PATH"] = f"{venv / 'bin'}:/usr/bin:/bin"
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import kb, kernbench, kb.tools as t; "
                            "print(kb.__file__); print(kernbench.__file__); "
                            "print(t.configured_tools_dir()); print(t.find_tool('kb-opt'))"],
                           cwd=run_dir, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    kb_file, kernbench_file, recorded, kb_opt = where.stdout.split("\n")[:4]
    assert kb_file.startswith(str(venv)) and kernbench_file.startswith(str(venv))
    assert recorded == tools_dir and kb_opt == os.path.join(tools_dir, "kb-opt")
    done = subprocess.run([python, str(example)], cwd=run_dir, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seed MLP block, TP world size 4" in done.stdout
    assert "max error vs the numpy reference" in done.stdout
    assert not (source / "kb" / "_configured.py").exists()
    # The seed's own file, through the installed kernbench compatibility package.
    done = subprocess.run([python, str(source / "examples" / "seed_unchanged.py")],
                          cwd=run_dir, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("check: passed") == 2

    # Where nothing names the tools, the error says how to make them found.
    missing = subprocess.run(
        [python, "-c", "import kb.tools as t; t.configured_tools_dir = lambda: None; "
                       "t.find_tool('kb-opt')"],
        cwd=run_dir, env=env, capture_output=True, text=True)
    assert missing.returncode != 0
    assert "kb-opt: not found" in missing.stderr and "KB_TOOLS_DIR" in missing.stderr
