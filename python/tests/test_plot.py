"""kb.plot draws a kb-run's timeline of one SIP and its time by layer into a PNG; without
matplotlib it says so and exits non-zero."""
import json
import struct
import subprocess
import sys

import numpy as np
import pytest

import kb
from kb import plot
from kb.parallel_state import initialize_model_parallel

PYTHON_DIR = __file__.rsplit("/tests/", 1)[0]


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    """The report and trace of a two-layer block at W = 2."""
    tmp = tmp_path_factory.mktemp("plot")
    initialize_model_parallel(tensor_model_parallel_size=2)
    with kb.Program("mlp") as program:
        x = program.input("x", (16, 32), dtype="f32")
        h = kb.ColumnParallelLinear(32, 64, bias=True, dtype="f32")(x)
        program.output(kb.RowParallelLinear(64, 32, bias=True, dtype="f32")(kb.gelu(h)))
    x_value = np.random.default_rng(0).uniform(-1, 1, (16, 32))
    result = program.run({"x": x_value}, trace=tmp / "trace.json")
    (tmp / "report.json").write_text(json.dumps(result.report))
    return tmp / "report.json", tmp / "trace.json"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert kind == b"IHDR" and length == 13
    return width, height


def test_renders_a_png_of_sane_size(run_files, tmp_path):
    report, trace = run_files
    out = tmp_path / "run.png"
    assert plot.main([str(report), str(trace), "-o", str(out)]) == 0
    width, height = png_size(out)
    assert 300 <= width <= 10000 and 300 <= height <= 10000, (width, height)


def test_timeline_has_the_sips_engines_and_the_layers_sum_to_the_device_time(run_files):
    report = json.loads(run_files[0].read_text())
    trace = json.loads(run_files[1].read_text())
    tracks = plot.timeline(trace, 0)
    names = list(tracks)
    assert names[0] == "cube 0 / pe 0" and names[-1] == "ring link", names
    assert any(name.endswith("/ DMA") for name in names)
    ops = {op for slices in tracks.values() for _, _, op in slices}
    # The seed's row-parallel gemm and its all-reduce are one overlapped op.
    assert any(op.startswith("matmul_") for op in ops) and any(
        "all_reduce_" in op for op in ops), ops
    layers = plot.time_by_layer(report)
    assert {label.split()[0] for label, _ in layers} >= {"ColumnParallelLinear",
                                                         "RowParallelLinear"}
    total = sum(seconds for _, seconds in layers)
    assert abs(total - report["device_time_s"]) <= 0.01 * report["device_time_s"]


def test_without_matplotlib_a_clear_error_and_nonzero_exit(run_files, tmp_path):
    report, trace = run_files
    out = tmp_path / "none.png"
    code = ("import sys, runpy; sys.modules['matplotlib'] = None; "
            "sys.argv = ['kb.plot'] + sys.argv[1:]; "
            "runpy.run_module('kb.plot', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code, str(report), str(trace), "-o",
                           str(out)], capture_output=True, text=True,
                          env={"PYTHONPATH": PYTHON_DIR})
    assert done.returncode == 2
    assert "matplotlib is not installed" in done.stderr
    assert "python3-matplotlib" in done.stderr
    assert not out.exists()


def test_a_file_that_is_not_a_report_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert plot.main([str(bad), str(bad), "-o", str(tmp_path / "x.png")]) == 2
    assert "the report is not JSON" in capsys.readouterr().err
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    assert plot.main([str(empty), str(empty), "-o", str(tmp_path / "x.png")]) == 2
    assert "has no per-op table" in capsys.readouterr().err
