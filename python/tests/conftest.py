import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kb import parallel_state  # noqa: E402


@pytest.fixture(autouse=True)
def reset_parallel_state():
    parallel_state.destroy_model_parallel()
    yield
    parallel_state.destroy_model_parallel()


def pytest_configure(config):
    config.addinivalue_line("markers", "gpt2_small: the full-size GPT-2 small example "
                            "(minutes; runs with KB_RUN_GPT2_SMALL=1)")
