"""CLIP score against hand computation on hand-made vectors, and end to end with a tiny random CLIP.

(torchmetrics' clip_score needs the transformers package, which is not installed here, so it is not compared.)
"""

import numpy as np
import open_clip
import pytest
import torch

from benchbox.errors import BenchboxError
from benchbox.metrics.clip_score import HESSEL_W, clip_score, clip_score_of_images, cosine_of_pairs
from benchbox.testing import tiny_clip_extractor

TINY = "bbx-tiny-clip-score"


def test_parallel_orthogonal_and_opposite_vectors():
    image = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    text = np.array([[2.0, 0.0], [5.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(cosine_of_pairs(image, text), [1.0, 0.0, -1.0])
    assert clip_score(image[:1], text[:1]) == pytest.approx(100.0)
    assert clip_score(image[1:2], text[1:2]) == pytest.approx(0.0)
    assert clip_score(image[2:], text[2:]) == 0.0  # a negative cosine counts as 0, not as a penalty
    assert clip_score(image, text) == pytest.approx(100 / 3)


def test_mean_of_clipped_cosines_by_hand():
    image = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    text = np.array([[1.0, np.sqrt(3.0)], [-1.0, 1.0], [0.0, 0.5]])  # cosines 0.5, -1/√2, 1
    assert clip_score(image, text) == pytest.approx(100 * (0.5 + 0 + 1) / 3)
    assert clip_score(image, text, w=HESSEL_W) == pytest.approx(2.5 * 1.5 / 3)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 16)), rng.normal(size=(50, 16))
    hand = np.mean([100 * max(x @ y / np.sqrt((x @ x) * (y @ y)), 0) for x, y in zip(a, b, strict=True)])
    assert clip_score(a, b) == pytest.approx(hand, rel=1e-12)
    assert clip_score(torch.from_numpy(a * 3).float(), torch.from_numpy(b)) == pytest.approx(hand, rel=1e-5)


@pytest.mark.parametrize(
    "image, text, message",
    [
        (np.ones((2, 3)), np.ones((3, 3)), "do not pair up"),
        (np.ones((2, 3)), np.ones((2, 4)), "do not pair up"),
        (np.zeros((1, 3)), np.ones((1, 3)), "zero"),
        (np.full((1, 3), np.nan), np.ones((1, 3)), "NaN"),
        (np.ones(3), np.ones(3), "shape"),
    ],
)
def test_bad_inputs_are_refused(image, text, message):
    with pytest.raises(BenchboxError, match=message):
        clip_score(image, text)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return tiny_clip_extractor(tmp_path_factory.mktemp("clip"), TINY)


def test_of_images_equals_the_formula_on_the_embeddings(tiny_clip):
    images = torch.randint(0, 256, (5, 3, 40, 32), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    captions = ["a red square", "a cat", "two dogs on grass", "noise", "an empty room"]
    with torch.no_grad():
        image = tiny_clip.net.encode_image(tiny_clip.pixels(images)).double()
        text = tiny_clip.net.encode_text(open_clip.tokenize(captions)).double()
    cos = torch.nn.functional.cosine_similarity(image, text, dim=1)
    want = float((100 * cos.clamp(min=0)).mean())
    assert clip_score_of_images(tiny_clip, images, captions) == pytest.approx(want, rel=1e-5)
    assert clip_score_of_images(tiny_clip, images, captions, batch_size=2) == pytest.approx(want, rel=1e-5)


def test_of_images_checks_captions_and_feature_space(tiny_clip):
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(BenchboxError, match="2 images but 1 captions"):
        clip_score_of_images(tiny_clip, images, ["only one"])
    with pytest.raises(BenchboxError, match="no text encoder"):
        clip_score_of_images(object(), images, ["a", "b"])
