"""A fixed-seed sample of random programs; `python -m kb.random_programs --cases 1000`
runs the full campaign."""
import re

import numpy as np
import pytest

from kb.random_programs import check_case, random_program


@pytest.mark.parametrize("index", range(12))
def test_random_program(index):
    check_case(np.random.default_rng(1000 + index), index)


def test_the_generator_uses_every_op():
    """The generator keeps making programs with each kb op, decode steps with a KV
    cache among them, and MLPs without decoder ops."""
    kinds, decoder, grouped = set(), 0, 0
    rng = np.random.default_rng(2000)
    for index in range(60):
        program, _, description = random_program(rng, index)
        kinds |= {kind for kind, _, _ in program.ops}
        decoder += any(kind in ("rms_norm", "layer_norm") for kind, _, _ in program.ops)
        # Fewer KV heads than ranks (each KV head replicated over a group of ranks).
        world = int(re.search(r"W=(\d+)", description).group(1))
        grouped += any(int(kv) < world
                       for kv in re.findall(r"attention\(h=\d+,kv=(\d+)", description))
    assert grouped > 0
    assert kinds >= {"column_parallel_linear", "row_parallel_linear", "gelu", "add", "silu",
                     "mul", "scale", "rms_norm", "layer_norm", "rope", "attention",
                     "kv_append"}
    assert 10 < decoder < 50
