"""Finding weights: the documented order, SHA-256 checks (whole digests and published prefixes), atomic downloads
from a local file:// URL, and the errors that say where to put the file. Digests are computed here with hashlib."""

import hashlib
import http.client
import os
import urllib.request
from pathlib import Path

import pytest

import benchbox.features.weights as weights_module
from benchbox.errors import BenchboxError
from benchbox.features.weights import WeightsSpec, cache_root, download, resolve_weights

ENV_VAR = "BENCHBOX_TEST_NET_WEIGHTS"
CONTENT = b"the published weights\n" * 1000
OTHER = b"somebody else's weights\n" * 1000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_spec(digest: str | None = None, url: str | None = None) -> WeightsSpec:
    return WeightsSpec(
        name="TestNet",
        filename="testnet.pth",
        url=url,
        sha256=sha256(CONTENT) if digest is None else digest,
        env_var=ENV_VAR,
        option="--testnet-weights",
    )


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture()
def cache(offline_cache, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    return offline_cache


def cached_file(data: bytes) -> Path:
    return write(cache_root() / "weights" / "testnet.pth", data)


def test_cache_root_is_the_benchbox_cache_variable(cache):
    assert cache_root() == cache


def test_explicit_path_wins_over_env_var_which_wins_over_cache_folder(cache, tmp_path, monkeypatch):
    explicit = write(tmp_path / "explicit.pth", CONTENT)
    from_env = write(tmp_path / "env.pth", CONTENT)
    in_cache = cached_file(CONTENT)
    monkeypatch.setenv(ENV_VAR, str(from_env))
    spec = make_spec()
    assert resolve_weights(spec, explicit).path == explicit
    assert resolve_weights(spec, str(explicit)).path == explicit  # a str path is a path too
    assert resolve_weights(spec).path == from_env
    monkeypatch.delenv(ENV_VAR)
    found = resolve_weights(spec)
    assert found.path == in_cache and found.sha256 == sha256(CONTENT) and found.canonical


def test_explicit_path_wins_even_when_the_others_are_broken(cache, tmp_path, monkeypatch):
    """The first source that is given decides: a bad env var or cache file is never consulted after it."""
    explicit = write(tmp_path / "explicit.pth", CONTENT)
    cached_file(OTHER)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.pth"))
    assert resolve_weights(make_spec(), explicit).path == explicit


def test_cache_folder_file_with_wrong_digest_is_refused_even_with_allow_custom(cache):
    path = cached_file(OTHER)
    for allow_custom in (False, True):
        with pytest.raises(BenchboxError) as err:
            resolve_weights(make_spec(), allow_custom=allow_custom)
        assert str(path) in str(err.value) and sha256(OTHER)[:16] in str(err.value)
    assert path.read_bytes() == OTHER  # refused, not silently deleted or overwritten


def test_cache_folder_file_with_wrong_digest_error_says_to_delete_or_replace_it(cache):
    cached_file(OTHER)
    with pytest.raises(BenchboxError) as err:
        resolve_weights(make_spec())
    hint = err.value.hint.lower()
    assert "delete" in hint or "replace" in hint or "remove" in hint
    assert "--custom-weights" not in hint


@pytest.mark.parametrize("how", ["explicit", "env"])
def test_given_file_with_wrong_digest_is_refused_unless_allow_custom(cache, tmp_path, monkeypatch, how):
    path = write(tmp_path / "other.pth", OTHER)
    given = path if how == "explicit" else None
    if how == "env":
        monkeypatch.setenv(ENV_VAR, str(path))
    with pytest.raises(BenchboxError) as err:
        resolve_weights(make_spec(), given)
    assert str(path) in str(err.value) and "--custom-weights" in str(err.value)
    custom = resolve_weights(make_spec(), given, allow_custom=True)
    assert custom.path == path and custom.sha256 == sha256(OTHER) and custom.canonical is False


def test_allow_custom_with_the_published_file_is_still_canonical(cache, tmp_path):
    path = write(tmp_path / "w.pth", CONTENT)
    assert resolve_weights(make_spec(), path, allow_custom=True).canonical is True


@pytest.mark.parametrize("length", [8, 10, 64])
def test_published_digest_prefix_matches_in_either_case(cache, tmp_path, length):
    path = write(tmp_path / f"net-{sha256(CONTENT)[:8]}.pth", CONTENT)
    for prefix in (sha256(CONTENT)[:length], sha256(CONTENT)[:length].upper()):
        found = resolve_weights(make_spec(prefix), path)
        assert found.canonical and found.sha256 == sha256(CONTENT)  # the full digest is recorded, not the prefix


def test_prefix_of_another_digest_does_not_match(cache, tmp_path):
    path = write(tmp_path / "w.pth", CONTENT)
    wrong = sha256(OTHER)[:8]
    assert wrong != sha256(CONTENT)[:8]
    with pytest.raises(BenchboxError, match="not the published"):
        resolve_weights(make_spec(wrong), path)
    # a digest that contains the published prefix elsewhere than at its start does not match either
    with pytest.raises(BenchboxError):
        resolve_weights(make_spec(sha256(CONTENT)[1:9]), path)


def test_spec_without_digest_accepts_any_file(cache, tmp_path):
    path = write(tmp_path / "user.ckpt", OTHER)
    spec = WeightsSpec("UserNet", "user.ckpt", None, None, ENV_VAR, "--user-weights")
    found = resolve_weights(spec, path)
    assert found.canonical and found.sha256 == sha256(OTHER)


@pytest.mark.parametrize("how", ["explicit", "env"])
def test_missing_given_file_names_where_it_came_from(cache, tmp_path, monkeypatch, how):
    missing = tmp_path / "nowhere.pth"
    if how == "env":
        monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(BenchboxError) as err:
        resolve_weights(make_spec(), missing if how == "explicit" else None)
    assert str(missing) in str(err.value)
    assert ("--testnet-weights" if how == "explicit" else f"${ENV_VAR}") in str(err.value)


def test_offline_without_file_names_env_var_option_and_cache_path(cache):
    spec = make_spec(url="https://example.invalid/testnet.pth")
    with pytest.raises(BenchboxError) as err:
        resolve_weights(spec)
    message = str(err.value)
    assert "BENCHBOX_OFFLINE" in message and ENV_VAR in message and "--testnet-weights" in message
    assert str(cache / "weights" / "testnet.pth") in message
    assert not (cache / "weights" / "testnet.pth").exists()


def test_no_url_and_no_file_says_where_to_put_it(cache):
    with pytest.raises(BenchboxError) as err:
        resolve_weights(make_spec(url=None))
    message = str(err.value)
    assert ENV_VAR in message and "--testnet-weights" in message
    assert str(cache / "weights" / "testnet.pth") in message


@pytest.fixture()
def online(cache, monkeypatch):
    """Downloads allowed (from file:// URLs only) and the cache folder under tmp."""
    monkeypatch.delenv("BENCHBOX_OFFLINE", raising=False)
    assert "BENCHBOX_OFFLINE" not in os.environ
    return cache


def test_download_from_file_url_lands_the_file_whole_and_alone(online, tmp_path, monkeypatch):
    source = write(tmp_path / "release" / "testnet.pth", CONTENT)
    dest = tmp_path / "dl" / "testnet.pth"
    replaced = []
    real_replace = os.replace

    def watching_replace(src, dst):
        # at the moment of the rename: the destination is absent, the temporary file is complete and beside it
        assert not Path(dst).exists()
        assert Path(src).parent == Path(dst).parent and Path(src).read_bytes() == CONTENT
        replaced.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(weights_module.os, "replace", watching_replace)
    download(make_spec(url=source.as_uri()), dest)
    assert dest.read_bytes() == CONTENT
    assert len(replaced) == 1 and Path(replaced[0][1]) == dest
    assert sorted(p.name for p in dest.parent.iterdir()) == ["testnet.pth"]


def test_resolve_downloads_into_cache_folder_then_reuses_it(online, tmp_path):
    source = write(tmp_path / "release" / "testnet.pth", CONTENT)
    spec = make_spec(sha256(CONTENT)[:8], url=source.as_uri())
    found = resolve_weights(spec)
    assert found.path == online / "weights" / "testnet.pth" and found.canonical
    assert found.path.read_bytes() == CONTENT
    source.unlink()  # a second resolution must not need the network
    assert resolve_weights(spec).path == found.path


def test_download_with_digest_mismatch_leaves_nothing(online, tmp_path):
    source = write(tmp_path / "release" / "testnet.pth", OTHER)
    folder = tmp_path / "dl"
    with pytest.raises(BenchboxError, match="not the published"):
        download(make_spec(url=source.as_uri()), folder / "testnet.pth")
    assert list(folder.iterdir()) == []  # neither the file nor a temporary .part file


def test_resolve_with_corrupt_download_leaves_cache_folder_empty(online, tmp_path):
    source = write(tmp_path / "release" / "testnet.pth", CONTENT[:-1])  # truncated release
    with pytest.raises(BenchboxError):
        resolve_weights(make_spec(url=source.as_uri()))
    assert list((online / "weights").iterdir()) == []


def test_download_of_missing_url_is_a_benchbox_error_and_leaves_nothing(online, tmp_path):
    folder = tmp_path / "dl"
    with pytest.raises(BenchboxError) as err:
        download(make_spec(url=(tmp_path / "absent.pth").as_uri()), folder / "testnet.pth")
    assert "--testnet-weights" in err.value.hint and str(folder / "testnet.pth") in err.value.hint
    assert list(folder.iterdir()) == []


def test_download_respects_offline_even_with_a_url(cache, tmp_path):
    source = write(tmp_path / "release" / "testnet.pth", CONTENT)
    with pytest.raises(BenchboxError, match="BENCHBOX_OFFLINE"):
        download(make_spec(url=source.as_uri()), tmp_path / "dl" / "testnet.pth")
    assert not (tmp_path / "dl").exists()


class _TruncatedResponse:
    """What urlopen returns when the server closes the connection early: read() raises IncompleteRead."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size=-1):
        raise http.client.IncompleteRead(b"partial", 1000)


def test_truncated_http_download_is_a_benchbox_error_and_leaves_nothing(online, tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: _TruncatedResponse())
    folder = tmp_path / "dl"
    try:
        with pytest.raises(BenchboxError):
            download(make_spec(url="https://example.invalid/testnet.pth"), folder / "testnet.pth")
    finally:
        assert list(folder.iterdir()) == []


def test_a_caller_that_does_not_download_gets_the_offline_error_and_no_file(online, tmp_path):
    """Runs score mid-way with download=False: a reachable release is still not fetched, and nothing lands."""
    source = write(tmp_path / "release" / "testnet.pth", CONTENT)
    spec = make_spec(url=source.as_uri())
    with pytest.raises(BenchboxError, match="not in the cache and this caller does not download"):
        resolve_weights(spec, allow_download=False)
    assert not (online / "weights" / "testnet.pth").exists()
    assert resolve_weights(spec).canonical  # the same call that may download fetches it
