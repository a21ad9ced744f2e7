import pytest
import torch

import benchbox.builtins  # noqa: F401  (the built-in entries of every registry)
from benchbox.registry import EXTRACTORS
from benchbox.testing import PixelExtractor, make_inception_weights


@pytest.fixture(autouse=True, scope="session")
def _builtins():
    # a cheap stand-in feature space for engine tests: `--feature pixels`
    EXTRACTORS.add("pixels", lambda variant, options: PixelExtractor(options.device))


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests compare runs to the last bit; fix the thread count so reductions run in one order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "inception-random.pth"
    make_inception_weights(path)
    return path


@pytest.fixture()
def offline_cache(tmp_path, monkeypatch):
    """A fresh benchbox cache folder and no downloads: tests never touch the user's cache or the network."""
    monkeypatch.setenv("BENCHBOX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCHBOX_OFFLINE", "1")
    for var in ("BENCHBOX_INCEPTION_WEIGHTS", "BENCHBOX_CLIP_WEIGHTS", "BENCHBOX_DINOV2_WEIGHTS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache"
