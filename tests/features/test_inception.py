"""benchbox's Inception engine against torch-fidelity itself, with the same (random-init) weights file."""

import pytest
import torch
import torch_fidelity
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

import benchbox.features.inception as inception
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.extract import extract
from benchbox.features.weights import sha256_of_file
from benchbox.scoring import ScoreSettings, build_extractor, score
from benchbox.testing import TensorImages, blocky_images


def image_set(n: int, seed: int, tint: int) -> torch.Tensor:
    return blocky_images(n, seed, tint)


def custom(weights) -> ExtractorOptions:
    return ExtractorOptions(weights=weights, allow_custom_weights=True)


@pytest.mark.slow
def test_metrics_match_torch_fidelity(inception_weights, offline_cache):
    torch.set_num_threads(2)  # the slowest test: ~280 Inception passes
    real, fake = image_set(70, 0, 0), image_set(70, 1, 40)
    settings = ScoreSettings(kid_subsets=10, kid_subset_size=50, is_splits=5)
    ours = score(real, fake, ["fid", "kid", "is", "pr"], "inception:64", custom(inception_weights), settings).values
    theirs = torch_fidelity.calculate_metrics(
        input1=TensorImages(fake),
        input2=TensorImages(real),
        fid=True,
        kid=True,
        isc=True,
        prc=True,
        feature_extractor="inception-v3-compat",  # its prc defaults to VGG16 space
        feature_layer_fid="64",
        feature_layer_kid="64",
        feature_layer_prc="64",
        kid_subsets=10,
        kid_subset_size=50,
        isc_splits=5,
        feature_extractor_weights_path=str(inception_weights),
        cuda=False,
        cache=False,
        verbose=False,
    )
    pairs = {
        "fd_inception64_custom": "frechet_inception_distance",
        "kid_inception64_custom": "kernel_inception_distance_mean",
        "kid_std_inception64_custom": "kernel_inception_distance_std",
        "is_inception64_custom": "inception_score_mean",
        "is_std_inception64_custom": "inception_score_std",
        "precision_inception64_custom": "precision",
        "recall_inception64_custom": "recall",
    }
    assert ours["is_inception64_custom"] > 1.5  # the weights separate images: IS is informative
    assert 0 < ours["precision_inception64_custom"] < 1 or 0 < ours["recall_inception64_custom"] < 1
    for mine, tf_key in pairs.items():
        assert ours[mine] == pytest.approx(theirs[tf_key], rel=1e-4, abs=1e-9), mine


def test_pool3_and_logits_match_torch_fidelity_in_nchw(inception_weights, offline_cache):
    images = image_set(6, 2, 20)
    ours = extract(build_extractor("inception", custom(inception_weights)), images, batch_size=6)
    net = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(inception_weights)
    )
    with torch.no_grad():
        pool, logits = net(images)
    # benchbox runs channels_last, torch-fidelity NCHW: different conv kernels, so float32 round-off differs. Through
    # ~90 random layers it reaches ~1.5e-5 of the largest feature; the metrics above still agree to 1e-4.
    for mine, theirs in ((ours["pool"], pool), (ours["logits"], logits)):
        theirs = theirs.numpy()
        assert abs(mine - theirs).max() <= 5e-5 * abs(theirs).max()


def test_features_do_not_depend_on_batch_size(inception_weights, offline_cache):
    extractor = build_extractor("inception", custom(inception_weights))
    images = image_set(7, 3, 0)
    whole, pieces = extract(extractor, images, batch_size=7), extract(extractor, images, batch_size=3)
    for name in ("pool", "logits"):
        assert abs(whole[name] - pieces[name]).max() <= 1e-5 * abs(whole[name]).max()


def test_grayscale_is_scored_as_rgb_replicated(inception_weights, offline_cache):
    extractor = build_extractor("inception:64", custom(inception_weights))
    gray = image_set(2, 4, 0)[:, :1]
    a, b = extract(extractor, gray), extract(extractor, gray.expand(-1, 3, -1, -1).contiguous())
    assert abs(a["pool"] - b["pool"]).max() == 0


def test_metric_names_say_fid_only_for_the_published_weights(inception_weights, offline_cache, monkeypatch):
    assert build_extractor("inception", custom(inception_weights)).metric_tag == "inception_custom"
    published = inception.INCEPTION_WEIGHTS.__class__(
        **{**inception.INCEPTION_WEIGHTS.__dict__, "sha256": sha256_of_file(inception_weights)}
    )
    monkeypatch.setattr(inception, "INCEPTION_WEIGHTS", published)
    extractor = build_extractor("inception", ExtractorOptions(weights=inception_weights))
    assert extractor.canonical and extractor.metric_tag == ""
    assert build_extractor("inception:768", ExtractorOptions(weights=inception_weights)).metric_tag == "inception768"


def test_other_weights_are_refused_unless_asked_for(inception_weights, offline_cache):
    with pytest.raises(BenchboxError, match="--custom-weights"):
        build_extractor("inception", ExtractorOptions(weights=inception_weights))


def test_not_a_weights_file(tmp_path, offline_cache):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(BenchboxError, match="not a torch-fidelity Inception-v3 weights file"):
        build_extractor("inception", custom(junk))


def test_offline_without_weights_says_where_to_put_them(offline_cache):
    with pytest.raises(BenchboxError, match="BENCHBOX_INCEPTION_WEIGHTS") as info:
        build_extractor("inception", ExtractorOptions())
    assert str(offline_cache / "weights") in str(info.value)


def test_unknown_layer(inception_weights, offline_cache):
    with pytest.raises(BenchboxError, match="choose one of 64, 192, 768, 2048"):
        build_extractor("inception:100", custom(inception_weights))


def test_the_weights_url_is_torch_fidelitys():
    """The URL is written out so that start-up does not import torch-fidelity; it must stay torch-fidelity's."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    from benchbox.features.inception import URL_INCEPTION_V3

    assert URL_INCEPTION_V3 == tfi.URL_INCEPTION_V3
