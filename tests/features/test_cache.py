"""The feature cache and batched extraction with the cheap "pixels" extractor: hits are exact, any change to the
images or the extractor's identity is a miss, corrupt entries are recomputed, failed extractions leave nothing, and
features do not depend on how the images are batched."""

import hashlib

import numpy as np
import pytest
import torch

from benchbox.data.images import content_hash
from benchbox.errors import BenchboxError
from benchbox.features import cache_identity
from benchbox.features.cache import FeatureCache, feature_key
from benchbox.features.extract import cached_features, extract, extract_batches
from benchbox.testing import PixelExtractor, blocky_images


def files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def reference_features(images: torch.Tensor) -> dict[str, np.ndarray]:
    """The extractor called on one image at a time, without the engine."""
    net = PixelExtractor()
    rows = [net.features(images[i : i + 1]) for i in range(len(images))]
    return {k: torch.cat([r[k] for r in rows]).numpy() for k in net.outputs}


@pytest.fixture()
def images():
    return blocky_images(12, seed=3)


@pytest.fixture()
def cache(offline_cache):
    return FeatureCache()


def test_cache_lives_under_the_benchbox_cache_folder(cache, offline_cache):
    assert cache.root == offline_cache / "features"
    key = "ab" + "0" * 62
    assert cache.path(key) == offline_cache / "features" / "ab" / f"{key}.npz"


def test_feature_key_is_sha256_of_hash_and_identity():
    assert feature_key("h", "id") == hashlib.sha256(b"h\nid").hexdigest()
    assert feature_key("h", "id") != feature_key("h", "id2") != feature_key("h2", "id")


def test_second_call_is_an_exact_hit(cache, images, offline_cache):
    first, h1, hit1 = cached_features(PixelExtractor(), images, cache)
    second, h2, hit2 = cached_features(PixelExtractor(), images.clone(), cache)
    assert (hit1, hit2) == (False, True) and h1 == h2 == content_hash(images)
    assert set(second) == {"pool", "logits"}
    for name in ("pool", "logits"):
        assert second[name].dtype == first[name].dtype
        np.testing.assert_array_equal(second[name], first[name])
        np.testing.assert_allclose(first[name], reference_features(images)[name], rtol=1e-6)
    key = feature_key(content_hash(images), cache_identity(PixelExtractor()))
    assert files_under(offline_cache) == [cache.path(key).relative_to(offline_cache)]  # one entry, no temp files


def test_a_hit_does_not_run_the_extractor(cache, images, monkeypatch):
    cached_features(PixelExtractor(), images, cache)
    calls = []
    monkeypatch.setattr(PixelExtractor, "features", lambda self, x: calls.append(x) or {})
    _, _, hit = cached_features(PixelExtractor(), images, cache)
    assert hit and calls == []


def test_one_changed_pixel_is_a_miss_never_a_stale_hit(cache, images, offline_cache):
    before, h1, _ = cached_features(PixelExtractor(), images, cache)
    changed = images.clone()
    changed[7, 2, 31, 0] ^= 0xFF  # one channel of one pixel of one image
    after, h2, hit = cached_features(PixelExtractor(), changed, cache)
    assert not hit and h1 != h2
    np.testing.assert_array_equal(after["pool"][:7], before["pool"][:7])
    assert not np.array_equal(after["pool"][7], before["pool"][7])
    np.testing.assert_allclose(after["pool"], reference_features(changed)["pool"], rtol=1e-6)
    assert len(files_under(offline_cache / "features")) == 2


def test_same_pixels_in_another_order_or_shape_is_a_miss(cache, images):
    cached_features(PixelExtractor(), images, cache)
    assert not cached_features(PixelExtractor(), images.flip(0), cache)[2]
    same_bytes = images.reshape(12, 3, 16, 64)
    assert same_bytes.numpy().tobytes() == images.numpy().tobytes()
    assert not cached_features(PixelExtractor(), same_bytes, cache)[2]


class Version2(PixelExtractor):
    version = "2"


class OtherWeights(PixelExtractor):
    weights_sha256 = "pixels-projection-seed-1"


class OtherPreprocessing(PixelExtractor):
    preprocessing = PixelExtractor.preprocessing + " (bicubic)"


class OtherName(PixelExtractor):
    name = "pixels2"


class FewerOutputs(PixelExtractor):
    outputs = {"pool": 16}  # noqa: RUF012

    def features(self, images):
        return {"pool": super().features(images)["pool"]}


@pytest.mark.parametrize("other", [Version2, OtherWeights, OtherPreprocessing, OtherName, FewerOutputs])
def test_another_extractor_identity_is_another_key(cache, images, other):
    base, changed = PixelExtractor(), other()
    assert cache_identity(base) != cache_identity(changed)
    cached_features(base, images, cache)
    features, _, hit = cached_features(changed, images, cache)
    assert not hit and set(features) == set(changed.outputs)
    assert cached_features(base, images, cache)[2]  # the first entry is still there and still a hit


def test_entry_with_other_outputs_or_length_under_the_key_is_not_used(cache, images):
    """A readable entry that does not fit the request (e.g. written by an older version) is recomputed."""
    key = feature_key(content_hash(images), cache_identity(PixelExtractor()))
    cache.put(key, {"pool": np.zeros((12, 16), np.float32)})
    features, _, hit = cached_features(PixelExtractor(), images, cache)
    assert not hit and np.abs(features["pool"]).sum() > 0
    cache.put(key, {"pool": np.zeros((11, 16), np.float32), "logits": np.zeros((11, 10), np.float32)})
    assert not cached_features(PixelExtractor(), images, cache)[2]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "flipped byte"])
def test_corrupt_entry_is_recomputed_and_rewritten(cache, images, damage):
    first, _, _ = cached_features(PixelExtractor(), images, cache)
    path = cache.path(feature_key(content_hash(images), cache_identity(PixelExtractor())))
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # inside the stored "pool" array's bytes: the zip's CRC no longer matches
        middle = data.index(b"pool.npy") + 200
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    assert cache.get(path.stem) is None
    again, _, hit = cached_features(PixelExtractor(), images, cache)
    assert not hit
    np.testing.assert_array_equal(again["pool"], first["pool"])
    assert cached_features(PixelExtractor(), images, cache)[2]  # rewritten whole


class NaNExtractor(PixelExtractor):
    version = "nan"

    def features(self, images):
        out = super().features(images)
        out["pool"][-1, 0] = float("nan")
        return out


def test_failed_extraction_raises_and_writes_nothing(cache, offline_cache):
    with pytest.raises(BenchboxError, match="NaN or Inf"):
        cached_features(NaNExtractor(), blocky_images(5, seed=0), cache, batch_size=2)
    assert files_under(offline_cache) == []


def test_unwritable_cache_costs_time_not_the_result(tmp_path, images):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    features, _, hit = cached_features(PixelExtractor(), images, FeatureCache(blocker))
    assert not hit
    np.testing.assert_allclose(features["pool"], reference_features(images)["pool"], rtol=1e-6)


def test_no_cache_means_no_files(offline_cache, images):
    assert cached_features(PixelExtractor(), images, None)[2] is False
    assert files_under(offline_cache) == []


@pytest.mark.parametrize("batch_size", [1, 3, 5, 12, 64])
def test_extract_does_not_depend_on_batch_size(batch_size):
    images = blocky_images(13, seed=5)
    reference = reference_features(images)
    got = extract(PixelExtractor(), images, batch_size=batch_size)
    for name in ("pool", "logits"):
        assert got[name].shape == reference[name].shape and got[name].dtype == np.float32
        np.testing.assert_allclose(got[name], reference[name], rtol=1e-5, atol=1e-6)


def test_extract_refuses_batch_size_below_one():
    with pytest.raises(BenchboxError, match="batch size 0"):
        extract(PixelExtractor(), blocky_images(2, seed=0), batch_size=0)


def test_extract_batches_over_a_generator_equals_extract_on_the_concatenation():
    chunks = [blocky_images(k, seed=s) for k, s in ((4, 1), (1, 2), (7, 3))]
    streamed = extract_batches(PixelExtractor(), (c for c in chunks), total=12)
    whole = extract(PixelExtractor(), torch.cat(chunks), batch_size=64)
    for name in ("pool", "logits"):
        np.testing.assert_allclose(streamed[name], whole[name], rtol=1e-5, atol=1e-6)


def test_extract_batches_of_nothing_is_an_error():
    with pytest.raises(BenchboxError, match="no images"):
        extract_batches(PixelExtractor(), iter([]))


def test_extract_batches_checks_every_batch():
    bad = torch.rand(2, 3, 8, 8)  # floats in [0, 1]
    with pytest.raises(BenchboxError, match=r"\* 255"):
        extract_batches(PixelExtractor(), iter([blocky_images(2, seed=0), bad]))
