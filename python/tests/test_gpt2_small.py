"""GPT-2 small at full size (examples/gpt2_small.mlir): kb-run --check, and the
logits against an independent float64 GPT-2 with inputs in the documented order.
It takes minutes, so it runs only with KB_RUN_GPT2_SMALL=1 (marker gpt2_small):

    KB_RUN_GPT2_SMALL=1 KB_TOOLS_DIR=$PWD/build/bin /usr/bin/python3 -m pytest -q \\
        -p no:cacheprovider python/tests/test_gpt2_small.py

The reduced copy runs in CI: test/Integration/kb-run/gpt2-small.test."""
import os
import subprocess
import sys

import pytest

from kb.tools import find_tool

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "gpt2_small.mlir")
REFERENCE = os.path.join(ROOT, "test", "Integration", "kb-run", "Inputs", "gpt2_reference.py")

pytestmark = [pytest.mark.gpt2_small,
              pytest.mark.skipif(os.environ.get("KB_RUN_GPT2_SMALL") != "1",
                                 reason="full-size GPT-2 takes minutes: KB_RUN_GPT2_SMALL=1")]


def test_gpt2_small_matches_a_float64_reference(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    args = subprocess.run([sys.executable, REFERENCE, "inputs", str(inputs), "12", "768",
                           "12", "50257", "1024", "9", "13"], check=True,
                          capture_output=True, text=True).stdout.split()
    done = subprocess.run([find_tool("kb-run"), EXAMPLE, *args, "--check", "--output-dir",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "check: passed" in done.stdout
    ref = subprocess.run([sys.executable, REFERENCE, "check", str(inputs), "12", "12",
                          str(tmp_path / "out" / "result0.npy")], capture_output=True,
                         text=True)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    assert "gpt2 logits match the float64 reference: 9x50257" in ref.stdout
