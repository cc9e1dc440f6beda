"""The examples run from a fresh build and match the numpy reference (they exit
non-zero otherwise)."""
import os
import re
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
PYTHON_DIR = os.path.join(os.path.dirname(__file__), "..")


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_seed_mlp():
    out = run_example("seed_mlp.py")
    assert "seed MLP block, TP world size 4" in out
    assert "device time:" in out and "max error vs the numpy reference" in out


def test_llama2_7b_mlp():
    out = run_example("llama2_7b_mlp.py")
    assert "Llama-2-7B MLP (SwiGLU), TP 8" in out
    assert "TP world size 8" in out and "max error vs the numpy reference" in out


def test_seed_unchanged():
    """The seed's own file through the kernbench compatibility package, both placements
    checked; the seed's one-PE placement costs more device time than kb's choice."""
    out = run_example("seed_unchanged.py")
    assert "the seed's Column -> Row block, TP world size 4" in out
    assert "launch 'col_parallel_gemm': ColumnParallelLinear(256, 1024)" in out
    assert "(a slice of dimension 1)" in out and "(a slice of dimension 0)" in out
    assert out.count("check: passed") == 2 and "FAILED" not in out
    line = [l for l in out.splitlines() if l.startswith("device time: kb's placement")][0]
    ours, seeds = (float(v) for v in re.findall(r"([0-9.]+) us", line))
    assert seeds > ours > 0


def test_llama2_7b_layer():
    """Prefill and decode of a Llama-2-7B layer on the device, against the float64
    reference and decode against the prefill's row (the example exits 1 otherwise).
    On the default ahbm device, with its mesh and latencies: the decode step keeps its
    KV cache with its heads and prices the append from where the cache's pieces sit,
    so its one row costs less than the prefill's sixteen (57.0 us against 99.0 us)."""
    out = run_example("llama2_7b_layer.py")
    prefill = re.search(r"Llama-2-7B layer, TP 8, prefill of 16 tokens: device time "
                        r"([0-9.]+) us; check passed", out)
    decode = re.search(r"decode of token 16 against the prefill's cache: device time "
                       r"([0-9.]+) us; check passed", out)
    assert prefill and decode, out
    # One token streams the same weights as sixteen for a fraction of the FLOPs.
    assert 0 < float(decode.group(1)) < float(prefill.group(1))
    assert "decode of token 16 vs row 16 of a prefill over 17 tokens" in out


def test_gpt2_small_reduced():
    """GPT-2 small's example at a reduced size (the full one runs from test_gpt2_small.py):
    the same script, W = 4, check=True, the device time printed."""
    out = run_example("gpt2_small.py", "--layers", "1", "--hidden", "64", "--heads", "4")
    assert "GPT-2 (1 layers, hidden 64, vocabulary 50257) at TP world size 4, 9 tokens" in out
    assert re.search(r"device time [0-9.]+ ms; \d+ link bytes sent per rank; check passed", out)
