"""Images read from a .npy file a batch at a time (benchbox.data.image_file): the same pixels, hash, features and
scores as the whole array in memory, checked against numpy's own reading of the file and against the network applied
to every image at once."""

import hashlib

import numpy as np
import pytest
import torch

import benchbox.data.images as images_module
from benchbox.data.image_file import ImageFile
from benchbox.data.images import content_hash, load_images, open_images
from benchbox.errors import BenchboxError
from benchbox.features.domain_classifier import DomainClassifier, DomainClassifierConfig, new_network
from benchbox.pipeline import ScoreSettings, measure


def random_uint8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(37, 5, 6, 3), (37, 5, 6, 1), (37, 5, 6)])
def test_rows_read_from_the_file_are_numpy_s_array_as_nchw(tmp_path, shape):
    array = random_uint8(shape)
    np.save(tmp_path / "x.npy", array)
    expected = array.reshape(37, 5, 6, -1).transpose(0, 3, 1, 2)
    images = open_images(tmp_path / "x.npy")
    assert isinstance(images, ImageFile) and images.shape == expected.shape and len(images) == 37
    for start, stop in [(0, 37), (0, 1), (5, 17), (30, 37), (36, 99), (40, 50)]:
        rows = images[start:stop]
        assert rows.dtype == torch.uint8 and rows.is_contiguous()
        np.testing.assert_array_equal(rows.numpy(), expected[start:stop])
    assert content_hash(images) == content_hash(torch.from_numpy(np.ascontiguousarray(expected)))


def test_content_hash_in_chunks_is_the_sha256_of_the_shape_and_every_pixel(monkeypatch):
    x = torch.from_numpy(random_uint8((50, 3, 4, 5), seed=1))
    expected = hashlib.sha256(b"(50, 3, 4, 5)" + x.numpy().tobytes()).hexdigest()
    monkeypatch.setattr(images_module, "HASH_CHUNK_BYTES", 7 * 60)  # 7 rows of 60 bytes per chunk, the last short
    assert content_hash(x) == expected


def test_arrays_that_are_not_c_ordered_uint8_images_are_loaded_whole_as_before(tmp_path):
    fortran = np.asfortranarray(random_uint8((6, 5, 4, 3), seed=2))
    np.save(tmp_path / "f.npy", fortran)
    loaded = open_images(tmp_path / "f.npy")
    assert isinstance(loaded, torch.Tensor)
    np.testing.assert_array_equal(loaded.numpy(), fortran.transpose(0, 3, 1, 2))
    np.save(tmp_path / "float.npy", np.random.default_rng(3).random((6, 5, 4, 3)))
    with pytest.raises(BenchboxError, match=r"float64 in \[0, 1\]"):
        open_images(tmp_path / "float.npy")
    np.save(tmp_path / "rgba.npy", random_uint8((6, 5, 4, 4), seed=4))
    with pytest.raises(BenchboxError, match="4 channels"):
        open_images(tmp_path / "rgba.npy")


def random_classifier() -> tuple[DomainClassifier, torch.nn.Module]:
    """The fashion-mnist classifier's network with its initial weights: no training, the same code path."""
    net = new_network((1, 28, 28), 10, DomainClassifierConfig())
    state = {"input_shape": [1, 28, 28], "test_accuracy": 0.0, "config": {}, "data_hash": "none"}
    return DomainClassifier("fashion-mnist", net, state, "initial-weights", False, torch.device("cpu")), net


def test_features_and_scores_from_the_file_equal_the_in_memory_path_and_a_forward_of_all_images(tmp_path):
    extractor, net = random_classifier()
    arrays = {name: random_uint8((300, 28, 28, 1), seed=seed) for name, seed in (("fake", 5), ("real", 6))}
    for name, array in arrays.items():
        np.save(tmp_path / f"{name}.npy", array)
    settings = ScoreSettings(kid_subsets=10, kid_subset_size=100)

    def scored(load):
        fake, real = load(tmp_path / "fake.npy"), load(tmp_path / "real.npy")
        return measure(extractor, fake, real, ["fid", "kid", "is"], settings, n_fake=300, batch_size=16)

    streamed, in_memory = scored(open_images), scored(load_images)
    assert isinstance(open_images(tmp_path / "fake.npy"), ImageFile)
    assert streamed.values == in_memory.values and len(streamed.values) == 5
    assert streamed.fake.sha256 == in_memory.fake.sha256
    for name in ("pool", "logits"):
        np.testing.assert_array_equal(streamed.fake.features[name], in_memory.fake.features[name])
        np.testing.assert_array_equal(streamed.real.features[name], in_memory.real.features[name])

    with torch.inference_mode():  # the network on all 300 images in one batch, preprocessed here
        whole = {k: net(torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1) for k, a in arrays.items()}
    for key, features in (("fake", streamed.fake.features), ("real", streamed.real.features)):
        for i, name in enumerate(("pool", "logits")):  # batches of 16 against one of 300: float round-off apart
            np.testing.assert_allclose(features[name], whole[key][i].numpy(), rtol=1e-5, atol=1e-5)
    pools = {k: whole[k][0].double().numpy() for k in whole}
    mu1, mu2 = pools["fake"].mean(0), pools["real"].mean(0)
    s1, s2 = np.cov(pools["fake"], rowvar=False), np.cov(pools["real"], rowvar=False)
    root_trace = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()  # tr (Σ1 Σ2)^½, general eig
    fd = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * root_trace
    assert streamed.values["fd_fashion_mnist_custom"] == pytest.approx(fd, rel=1e-4)
