"""The examples run from a fresh build and match the numpy reference (they exit
non-zero otherwise)."""
import os
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
PYTHON_DIR = os.path.join(os.path.dirname(__file__), "..")


def run_example(name):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_seed_mlp():
    out = run_example("seed_mlp.py")
    assert "seed MLP block, TP world size 4" in out
    assert "device time:" in out and "max error vs the numpy reference" in out


def test_llama2_7b_mlp():
    out = run_example("llama2_7b_mlp.py")
    assert "Llama-2-7B MLP (gelu(gate) + up in place of silu(gate) * up), TP 8" in out
    assert "TP world size 8" in out and "max error vs the numpy reference" in out
