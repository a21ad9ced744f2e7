import pytest


@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory):
    """A benchbox cache folder shared by this folder's tests, so that the digits classifier is trained once (it is
    deterministic, so every test sees the same weights); never the user's cache."""
    return tmp_path_factory.mktemp("check-cache")


@pytest.fixture()
def shared_cache(classifier_cache, monkeypatch):
    """The shared cache and no downloads, for one test."""
    monkeypatch.setenv("BENCHBOX_CACHE", str(classifier_cache))
    monkeypatch.setenv("BENCHBOX_OFFLINE", "1")
    return classifier_cache
