"""The metric engine with the cheap "pixels" feature space: values equal formulas written here (scipy's sqrtm for FD,
numpy for IS) and torch-fidelity's KID on features computed by calling the extractor directly; requests the metrics
cannot serve are refused before any feature is computed; bootstrap and FD∞ behave as their definitions say."""

import numpy as np
import pytest
import torch
from scipy import linalg
from torch_fidelity.metric_kid import kid_features_to_metric

from benchbox.catalogue import value_name as metric_name
from benchbox.data.images import check_images, to_uint8
from benchbox.errors import BenchboxError
from benchbox.features.cache import FeatureCache
from benchbox.registry import EXTRACTORS
from benchbox.scoring import ScoreSettings, check_request, default_kid_subset_size, score, score_sampler
from benchbox.testing import PixelExtractor, blocky_images
from benchbox.uncertainty import infinite_n_values

SMALL_KID = ScoreSettings(kid_subsets=20, kid_subset_size=20)


def features_by_hand(images: torch.Tensor) -> dict[str, np.ndarray]:
    out = PixelExtractor().features(images)
    return {k: v.double().numpy() for k, v in out.items()}


def fd_sqrtm(x: np.ndarray, y: np.ndarray) -> float:
    """‖μx − μy‖² + tr(Σx + Σy − 2 sqrtm(Σx Σy)) with unbiased covariances, as pytorch-fid writes it."""
    mx, my = x.mean(0), y.mean(0)
    sx = (x - mx).T @ (x - mx) / (len(x) - 1)
    sy = (y - my).T @ (y - my) / (len(y) - 1)
    return float((mx - my) @ (mx - my) + np.trace(sx + sy - 2 * linalg.sqrtm(sx @ sy).real))


def inception_score_numpy(logits: np.ndarray, splits: int = 10, seed: int = 2020) -> tuple[float, float]:
    """exp(mean_i KL(p(y|x_i) ‖ mean_j p(y|x_j))) per split of the RandomState(seed)-permuted rows."""
    n = len(logits)
    logits = logits[np.random.RandomState(seed).permutation(n)]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    scores = []
    for i in range(splits):
        lp = log_p[i * n // splits : (i + 1) * n // splits]
        p = np.exp(lp)
        scores.append(np.exp((p * (lp - np.log(p.mean(axis=0)))).sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.fixture(scope="module")
def real():
    return blocky_images(60, seed=1)


@pytest.fixture(scope="module")
def fake():
    return blocky_images(50, seed=2, tint=30)


@pytest.fixture()
def extractor_calls(monkeypatch):
    """Counts the images each PixelExtractor (or subclass) is asked for."""
    calls = []
    original = PixelExtractor.features

    def counting(self, images):
        calls.append(len(images))
        return original(self, images)

    monkeypatch.setattr(PixelExtractor, "features", counting)
    return calls


def test_values_equal_formulas_on_features_computed_by_hand(real, fake, offline_cache):
    result = score(real, fake, ["fid", "kid", "is"], feature="pixels", settings=SMALL_KID)
    f, r = features_by_hand(fake), features_by_hand(real)
    assert result.values["fd_pixels"] == pytest.approx(fd_sqrtm(f["pool"], r["pool"]), rel=1e-6)
    kid = kid_features_to_metric(
        torch.from_numpy(f["pool"]), torch.from_numpy(r["pool"]), kid_subsets=20, kid_subset_size=20, verbose=False
    )
    assert result.values["kid_pixels"] == pytest.approx(kid["kernel_inception_distance_mean"], rel=1e-5, abs=1e-9)
    assert result.values["kid_std_pixels"] == pytest.approx(kid["kernel_inception_distance_std"], rel=1e-5)
    is_mean, is_std = inception_score_numpy(f["logits"])
    assert result.values["is_pixels"] == pytest.approx(is_mean, rel=1e-6)
    assert result.values["is_std_pixels"] == pytest.approx(is_std, rel=1e-5)
    assert result.values["fd_pixels"] > 0 and result.values["is_pixels"] > 1  # the sets differ; logits vary


def test_fd_of_a_set_with_itself_is_zero_and_is_of_one_class_is_one(real, offline_cache):
    assert score(real, real, ["fid"], feature="pixels").values["fd_pixels"] == pytest.approx(0, abs=1e-9)
    gray = torch.full((30, 3, 8, 8), 77, dtype=torch.uint8)  # identical images: identical logits, p(y|x) = p(y)
    assert score(None, gray, ["is"], feature="pixels").values["is_pixels"] == pytest.approx(1.0, abs=1e-12)


def test_metric_names_carry_the_feature_space(real, fake, offline_cache):
    result = score(real, fake, ["fid", "kid", "is", "pr", "dc"], feature="pixels", settings=SMALL_KID)
    assert set(result.values) == {
        "fd_pixels",
        "kid_pixels",
        "kid_std_pixels",
        "is_pixels",
        "is_std_pixels",
        "precision_pixels",
        "recall_pixels",
        "density_pixels",
        "coverage_pixels",
    }
    assert all(isinstance(v, float) for v in result.values.values())


@pytest.mark.parametrize(
    "base, tag, name",
    [
        ("fd", "", "fid"),
        ("fd_inf", "", "fid_inf"),
        ("kid", "", "kid"),
        ("fd", "pixels", "fd_pixels"),
        ("fd_inf", "pixels", "fd_inf_pixels"),
        ("is_std", "inception_custom", "is_std_inception_custom"),
        ("fdx", "", "fdx"),  # only fd and fd_* become fid
    ],
)
def test_metric_name(base, tag, name):
    assert metric_name(base, tag) == name


def test_duplicate_metrics_are_scored_once(real, fake, offline_cache):
    once = score(real, fake, ["fid"], feature="pixels")
    twice = score(real, fake, ["fid", "fid"], feature="pixels")
    assert twice.values == once.values


def test_provenance_records_hashes_counts_sources_and_cache_hits(real, fake, offline_cache):
    from benchbox.data.images import content_hash

    first = score(real, fake, ["fid"], feature="pixels", cache=FeatureCache())
    second = score(real, fake, ["fid"], feature="pixels", cache=FeatureCache())
    p = first.provenance
    assert p["feature_space"] == "pixels" and p["weights_canonical"] is False
    assert p["fake"] == {"source": "array", "n": 50, "sha256": content_hash(fake), "cached": False}
    assert p["real"] == {"source": "array", "n": 60, "sha256": content_hash(real), "cached": False}
    assert second.provenance["fake"]["cached"] and second.provenance["real"]["cached"]
    assert second.values == first.values
    assert first.as_json()["provenance"] == p and first.as_json()["fd_pixels"] == first.values["fd_pixels"]


def test_real_and_fake_may_be_files(real, fake, tmp_path, offline_cache):
    np.save(tmp_path / "real.npy", real.permute(0, 2, 3, 1).numpy())
    np.save(tmp_path / "fake.npy", fake.permute(0, 2, 3, 1).numpy())
    from_files = score(tmp_path / "real.npy", str(tmp_path / "fake.npy"), ["fid"], feature="pixels")
    assert from_files.values == score(real, fake, ["fid"], feature="pixels").values
    assert from_files.provenance["fake"]["source"] == str(tmp_path / "fake.npy")


# refusals before any feature is computed


def refused(extractor_calls, offline_cache, *fragments, **kwargs):
    cache = FeatureCache()
    with pytest.raises(BenchboxError) as err:
        score(cache=cache, **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)
    assert extractor_calls == []
    assert not offline_cache.exists() or not any(p.is_file() for p in offline_cache.rglob("*"))
    return err.value


def test_too_few_generated_samples_for_fd(extractor_calls, offline_cache, real):
    refused(
        extractor_calls,
        offline_cache,
        "at least 17 generated",
        "got 16",
        real=real,
        fake=blocky_images(16, seed=0),
        metrics=["fid"],
        feature="pixels",
    )


def test_too_few_real_samples_for_fd(extractor_calls, offline_cache, fake):
    refused(
        extractor_calls,
        offline_cache,
        "at least 17 real",
        real=blocky_images(16, seed=0),
        fake=fake,
        metrics=["is", "fid"],
        feature="pixels",
    )


def test_seventeen_samples_are_enough_for_fd(real, offline_cache):
    value = score(real, blocky_images(17, seed=0), ["fid"], feature="pixels").values["fd_pixels"]
    assert np.isfinite(value)


def test_kid_subset_larger_than_the_sample_count(extractor_calls, offline_cache, real, fake):
    refused(  # an explicit ScoreSettings is used as given, its default 1000 included
        extractor_calls,
        offline_cache,
        "at least 1000 generated",
        "--kid-subset-size",
        real=real,
        fake=fake,
        metrics=["kid"],
        feature="pixels",
        settings=ScoreSettings(),
    )
    refused(
        extractor_calls,
        offline_cache,
        "at least 55 real",
        real=blocky_images(54, seed=0),
        fake=blocky_images(55, seed=1),
        metrics=["kid"],
        feature="pixels",
        settings=ScoreSettings(kid_subset_size=55),
    )


def test_kid_subset_size_defaults_to_the_smaller_set(real, fake, offline_cache):
    result = score(real, fake, ["kid"], "pixels")  # 60 real, 50 generated
    assert result.provenance["settings"]["kid_subset_size"] == 50
    assert result.provenance["kid_subset_size"] == {"used": 50, "rule": "min(1000, n_real, n_fake)"}
    assert result.values == score(real, fake, ["kid"], "pixels", settings=ScoreSettings(kid_subset_size=50)).values
    chosen = score(real, fake, ["kid"], "pixels", settings=ScoreSettings(kid_subsets=7), auto_kid_subset_size=True)
    assert chosen.provenance["settings"]["kid_subset_size"] == 50 and chosen.provenance["settings"]["kid_subsets"] == 7
    sampled = score_sampler(lambda k, g: torch.rand(k, 3, 8, 8, generator=g) * 2 - 1, 40, real, ["kid"], "pixels")
    assert sampled.provenance["settings"]["kid_subset_size"] == 40


@pytest.mark.parametrize(
    "n_fake, n_real, size", [(5000, 2000, 1000), (355, 1442, 355), (1442, 355, 355), (50, None, 50), (1, 9, 2)]
)
def test_default_kid_subset_size(n_fake, n_real, size):
    assert default_kid_subset_size(n_fake, n_real) == size


class GrayOnly(PixelExtractor):
    """Refuses colour as the dataset classifiers do: with the shape of what it was given."""

    def features(self, images):
        images = check_images(images)
        if images.shape[1] != 1:
            raise BenchboxError(f"this classifier takes N×1×H×W images, not {tuple(images.shape)}", "pass gray images")
        return super().features(images)


def test_shape_errors_name_the_set_not_the_batch(offline_cache, monkeypatch):
    monkeypatch.setitem(EXTRACTORS, "gray", lambda variant, options: GrayOnly())
    gray = blocky_images(30, seed=1)[:, :1]
    with pytest.raises(BenchboxError) as err:
        score(gray, blocky_images(40, seed=2), ["fid"], "gray", batch_size=16)
    assert "(40, 3, 32, 32)" in str(err.value) and "(16," not in str(err.value)
    with pytest.raises(BenchboxError) as err:
        score_sampler(lambda k, g: torch.zeros(k, 3, 8, 8), 40, gray, ["fid"], "gray", batch_size=16)
    assert "(40, 3, 8, 8)" in str(err.value) and "(16," not in str(err.value)


def test_unknown_metric_family(extractor_calls, offline_cache, real, fake):
    refused(
        extractor_calls,
        offline_cache,
        "unknown metric family 'fidd'",
        "fid",
        real=real,
        fake=fake,
        metrics=["fid", "fidd"],
        feature="pixels",
    )


def test_unknown_feature_space(extractor_calls, offline_cache, real, fake):
    refused(
        extractor_calls, offline_cache, "unknown feature space 'pixel'", "pixels", real=real, fake=fake, feature="pixel"
    )


class PoolOnly(PixelExtractor):
    name = "poolonly"
    metric_tag = "poolonly"
    outputs = {"pool": 16}  # noqa: RUF012


def test_is_on_a_space_without_logits(extractor_calls, offline_cache, monkeypatch, real, fake):
    monkeypatch.setitem(EXTRACTORS, "poolonly", lambda variant, options: PoolOnly())
    refused(
        extractor_calls,
        offline_cache,
        "metric 'is' needs class logits",
        "poolonly",
        real=real,
        fake=fake,
        metrics=["fid", "is"],
        feature="poolonly",
    )
    assert "fd_poolonly" in score(real, fake, ["fid"], feature="poolonly").values  # the space itself works


def test_too_few_splits_for_is(extractor_calls, offline_cache):
    refused(
        extractor_calls,
        offline_cache,
        "at least 10 generated",
        real=None,
        fake=blocky_images(9, seed=0),
        metrics=["is"],
        feature="pixels",
    )


def test_metric_needing_real_without_real(extractor_calls, offline_cache, fake):
    refused(
        extractor_calls,
        offline_cache,
        "compares with real data",
        real=None,
        fake=fake,
        metrics=["fid"],
        feature="pixels",
    )


def test_infinite_with_too_few_samples(extractor_calls, offline_cache, real, fake):
    # FD∞ fits subsets down to ⌈0.2·n⌉ = 10 of 50 samples: not more than the 16 feature dimensions
    refused(
        extractor_calls,
        offline_cache,
        "FD∞",
        "--infinite",
        real=real,
        fake=fake,
        metrics=["fid"],
        feature="pixels",
        infinite=True,
    )


def test_check_request_accepts_exactly_the_minimum_counts():
    settings = ScoreSettings(kid_subset_size=30, is_splits=10)
    check_request(["fid", "kid", "is"], PixelExtractor(), 30, 30, settings)
    with pytest.raises(BenchboxError):
        check_request(["fid", "kid", "is"], PixelExtractor(), 29, 30, settings)


# score_sampler


def test_score_sampler_equals_score_on_the_same_images(real, offline_cache):
    drawn = []

    def sample(k, generator):
        x = torch.rand(k, 3, 16, 16, generator=generator) * 2.2 - 1.1  # a little outside [-1, 1]: clamped
        drawn.append(x)
        return x

    args = (sample, 50, real, ["fid", "kid", "is"], "pixels")
    with pytest.raises(BenchboxError, match=r"lie in \[-1.1, 1.1\], outside \[-1, 1\]"):  # not clamped silently
        score_sampler(*args, settings=SMALL_KID, batch_size=16, seed=3)
    drawn.clear()
    result = score_sampler(*args, settings=SMALL_KID, batch_size=16, seed=3, clamps=True)  # a model that clamps
    assert [len(x) for x in drawn] == [16, 16, 16, 2]
    reference = score(real, to_uint8(torch.cat(drawn)), ["fid", "kid", "is"], "pixels", settings=SMALL_KID)
    assert result.values.keys() == reference.values.keys()
    for name, value in reference.values.items():
        assert result.values[name] == pytest.approx(value, rel=1e-6), name
    assert result.provenance["fake"] == {"source": "sampler", "n": 50, "seed": 3}


def test_score_sampler_is_deterministic_for_a_seed(real, offline_cache):
    def sample(k, generator):
        return torch.rand(k, 3, 8, 8, generator=generator) * 2 - 1

    a = score_sampler(sample, 40, real, ["fid"], "pixels", seed=1)
    b = score_sampler(sample, 40, real, ["fid"], "pixels", seed=1)
    c = score_sampler(sample, 40, real, ["fid"], "pixels", seed=2)
    assert a.values == b.values and a.values != c.values


def test_score_sampler_refuses_before_sampling(real, offline_cache):
    calls = []
    with pytest.raises(BenchboxError, match="at least 17 generated"):
        score_sampler(lambda k, g: calls.append(k), 10, real, ["fid"], "pixels")
    assert calls == []


def test_score_sampler_refuses_batch_size_zero(real, offline_cache):
    with pytest.raises(BenchboxError, match="in batches of 0"):
        score_sampler(lambda k, g: torch.zeros(k, 3, 8, 8), 20, real, ["fid"], "pixels", batch_size=0)


def test_score_sampler_refuses_nan_samples(real, offline_cache):
    def diverged(k, generator):
        return torch.full((k, 3, 8, 8), float("nan"))

    with pytest.raises(BenchboxError, match="NaN"):
        score_sampler(diverged, 20, real, ["fid"], "pixels")


# bootstrap intervals and FD∞


@pytest.mark.parametrize("n", [20, 40, 100])
def test_bootstrap_intervals_hold_their_values_and_say_what_they_are(real, offline_cache, n):
    """Intervals of FD and KID only, each around its own value (the percentile bootstrap's FD interval lay above
    it), with the method and the target in the provenance."""
    few = blocky_images(n, seed=7, tint=30)
    a = score(real, few, ["fid", "kid", "is"], "pixels", settings=SMALL_KID, bootstrap=20)
    for name, (low, high) in a.intervals.items():
        assert low <= a.values[name] <= high, (name, low, a.values[name], high)
    assert set(a.intervals) == {"fd_pixels", "kid_pixels"}
    record = a.provenance["bootstrap"]
    assert "jackknife" in record["method"] and record["level"] == 0.95 and record["groups"] == 20
    assert record["target"] == f"E[value at n={n} generated samples] against this real set (the real set is fixed)"
    assert record["no_interval"] == ["kid_std_pixels", "is_pixels", "is_std_pixels"]
    assert score(real, few, ["fid", "kid", "is"], "pixels", settings=SMALL_KID, bootstrap=20).intervals == a.intervals
    assert a.as_json()["ci95"] == {k: list(v) for k, v in a.intervals.items()}
    assert "ci95" not in score(real, few, ["fid"], "pixels").as_json()


def test_bootstrap_intervals_narrow_with_more_samples(real, offline_cache):
    def width(n, seed):
        low, high = score(real, blocky_images(n, seed=seed, tint=30), ["fid"], "pixels", bootstrap=20).intervals[
            "fd_pixels"
        ]
        assert 0 < low < high
        return high - low

    few, many = (np.mean([width(n, seed) for seed in (7, 8, 9)]) for n in (40, 400))
    assert many < few / 2  # FD's standard deviation here: 0.22 at n = 40, 0.065 at n = 400 (200 fresh draws each)


def test_bootstrap_that_fd_cannot_use_is_refused_before_features(extractor_calls, offline_cache, real):
    refused(
        extractor_calls, offline_cache, "--bootstrap 2 or more", real=real, fake=real, bootstrap=1, feature="pixels"
    )
    refused(
        extractor_calls,
        offline_cache,
        "FD's jackknife keeps 16 of the 20 samples",
        "--bootstrap 7 or more",
        real=real,
        fake=blocky_images(20, seed=0),
        metrics=["fid"],
        feature="pixels",
        bootstrap=6,
    )


def standard_normal_exactly(rng, n, d):
    """n points whose sample mean is exactly 0 and unbiased sample covariance exactly I: "real N(0, I)"."""
    y = rng.normal(size=(n, d))
    y -= y.mean(axis=0)
    return y @ np.linalg.inv(np.linalg.cholesky(np.cov(y, rowvar=False))).T


def fd_against_standard_normal(shift, seeds=12, d=4, n=2000):
    """(FD∞ − truth, FD at n − truth) for fake N(shift·1, I) against real N(0, I), over several seeds."""
    truth = d * shift**2
    errors_inf, errors_n = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        fake = {"pool": rng.normal(shift, 1.0, size=(n, d))}
        real = {"pool": standard_normal_exactly(rng, 500, d)}
        values = infinite_n_values(["fid"], fake, real, "pixels")
        assert set(values) == {"fd_inf_pixels"}
        errors_inf.append(values["fd_inf_pixels"] - truth)
        errors_n.append(fd_sqrtm(fake["pool"], real["pool"]) - truth)
    return np.array(errors_inf), np.array(errors_n)


def test_fd_inf_removes_the_sample_size_bias_of_fd_between_equal_gaussians():
    """Fake N(0, I) against exactly N(0, I) in d = 4, n = 2000: E FD_n = d/n + E Σ(√λ_i − 1)² ≈ d/n + d(d+1)/(4n)
    (the mean term, and the covariance term for Wishart eigenvalues λ); FD∞ has no such bias."""
    errors_inf, errors_n = fd_against_standard_normal(0.0)
    d, n, k = 4, 2000, len(errors_n)
    assert np.all(errors_n > 0)
    assert errors_n.mean() == pytest.approx(d / n + d * (d + 1) / (4 * n), abs=3 * errors_n.std() / np.sqrt(k))
    assert abs(errors_inf.mean()) < 3 * errors_inf.std() / np.sqrt(k)
    assert abs(errors_inf.mean()) < errors_n.mean() / 2 and np.max(np.abs(errors_inf)) < 0.02


def test_fd_inf_of_shifted_gaussians_is_near_the_closed_form():
    errors_inf, _ = fd_against_standard_normal(0.5)  # truth ‖m‖² = 1
    assert abs(errors_inf.mean()) < 3 * errors_inf.std() / np.sqrt(len(errors_inf)) and np.max(np.abs(errors_inf)) < 0.3


def test_is_inf_of_identical_logits_is_one():
    logits = {"logits": np.tile(np.array([[3.0, -1.0, 0.5]]), (200, 1))}
    values = infinite_n_values(["is"], logits, None, "")
    assert values == {"is_inf": pytest.approx(1.0, abs=1e-9)}


def test_score_infinite_adds_fd_inf_and_is_inf(real, offline_cache):
    fake = blocky_images(100, seed=4, tint=30)
    result = score(real, fake, ["fid", "is"], "pixels", infinite=True)
    f, r = features_by_hand(fake), features_by_hand(real)
    expected = infinite_n_values(["fid", "is"], f, r, "pixels")
    assert set(result.values) == {"fd_pixels", "is_pixels", "is_std_pixels", "fd_inf_pixels", "is_inf_pixels"}
    for name, value in expected.items():
        assert result.values[name] == pytest.approx(value, rel=1e-5), name


def test_a_run_that_fails_after_extraction_caches_nothing(real, fake, offline_cache, monkeypatch):
    """Features are written only once every metric is computed: a failing metric leaves the cache empty."""
    from benchbox.registry import SCORES, ScoreDef

    def boom(fake_features, real_features, **_):
        raise BenchboxError("metric failed late", "nothing to fix")

    monkeypatch.setitem(SCORES, "boom", ScoreDef("boom", boom, "pool", True, ("x",), "fails"))
    cache = FeatureCache()
    with pytest.raises(BenchboxError, match="failed late"):
        score(real, fake, ["fid", "boom"], "pixels", cache=cache)
    assert not cache.root.exists() or not any(p.is_file() for p in cache.root.rglob("*"))
    score(real, fake, ["fid"], "pixels", cache=cache)  # the same run without the failing metric caches both sets
    assert len([p for p in cache.root.rglob("*.npz")]) == 2


def test_a_suite_without_images_is_refused_as_real_data(fake, offline_cache):
    with pytest.raises(BenchboxError, match="suite 'toy2d' has no image data"):
        score("toy2d", fake, ["fid"], "pixels")
