import pytest
import torch

from benchbox.registry import load_builtins


@pytest.fixture(autouse=True, scope="session")
def _builtins():
    load_builtins()


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests compare runs to the last bit; fix the thread count so reductions run in one order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
