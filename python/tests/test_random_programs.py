"""A fixed-seed sample of random programs; `python -m kb.random_programs --cases 1000`
runs the full campaign."""
import numpy as np
import pytest

from kb.random_programs import check_case


@pytest.mark.parametrize("index", range(12))
def test_random_program(index):
    check_case(np.random.default_rng(1000 + index), index)
