"""The Python snippets of the READMEs (and of docs/Transformer.md) run as written: each ```python block, alone, in a
fresh interpreter outside the source tree (with the package on PYTHONPATH)."""
import os
import re
import subprocess
import sys

import pytest

PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
READMES = [os.path.join(PYTHON_DIR, "..", "README.md"), os.path.join(PYTHON_DIR, "README.md"),
           os.path.join(PYTHON_DIR, "..", "docs", "Transformer.md")]


def python_blocks(path):
    with open(path) as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)


CASES = [(os.path.relpath(path, os.path.dirname(PYTHON_DIR)), i, block)
         for path in READMES for i, block in enumerate(python_blocks(path))]


def test_the_readmes_have_python_snippets():
    assert [(p, i) for p, i, _ in CASES] == [
        ("README.md", 0), ("python/README.md", 0), ("python/README.md", 1),
        ("python/README.md", 2), ("docs/Transformer.md", 0)]


@pytest.mark.parametrize("readme, index, block", CASES, ids=[f"{p}#{i}" for p, i, _ in CASES])
def test_a_readme_snippet_runs_as_written(readme, index, block, tmp_path):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{readme} python block {index}:\n{done.stdout}{done.stderr}"
