"""Features of a stream of batches, written into arrays allocated once: every row in order, against the extractor
applied to all images in one batch, whether the stream brings the rows announced, fewer or more."""

import numpy as np
import pytest
import torch

from benchbox.errors import BenchboxError
from benchbox.features.extract import extract_batches
from benchbox.testing import PixelExtractor


@pytest.mark.parametrize("total", [None, 10, 50, 51, 200])
def test_uneven_batches_give_the_features_of_all_images_at_once(total):
    extractor = PixelExtractor()
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, size=(50, 3, 8, 8), dtype=np.uint8))
    whole = extractor.features(images)
    batches = [images[0:7], images[7:8], images[8:30], images[30:50]]
    out = extract_batches(extractor, iter(batches), total=total)
    assert set(out) == {"pool", "logits"}
    for name, values in out.items():
        assert values.shape == (50, extractor.outputs[name]) and values.dtype == np.float32
        assert values.flags.c_contiguous and (values.base is None or len(values.base) == 50)
        np.testing.assert_allclose(values, whole[name].numpy(), rtol=1e-6, atol=1e-6)


def test_an_empty_stream_is_refused():
    with pytest.raises(BenchboxError, match="no images"):
        extract_batches(PixelExtractor(), iter([]), total=10)
