"""Intervals of FD and KID (`benchbox.uncertainty.metric_intervals`): their coverage of the stated target, E[value at
this n] against a fixed real set, measured on Gaussian features where the target is computed here independently
(FD: a Monte Carlo over fresh draws, with scipy's sqrtm; KID: Gaussian moments of the cubic kernel, in closed form);
every interval contains its value; values whose coverage was not checked get no interval."""

import numpy as np
import pytest
from scipy import linalg

from benchbox.errors import BenchboxError
from benchbox.metrics.kid import subset_indices
from benchbox.pipeline import ScoreSettings, metric_values
from benchbox.uncertainty import check_intervals, interval_provenance, metric_intervals

D, N, N_REAL = 8, 300, 1000
SCALE = np.linspace(1.0, 0.3, D)  # anisotropic: standard deviations of the features
SHIFT = 0.2  # generated mean: FD∞ = D · SHIFT² = 0.32, well above FD's noise at n = 300


def fd_sqrtm(x: np.ndarray, mu_r: np.ndarray, sigma_r: np.ndarray) -> float:
    """‖μx − μr‖² + tr(Σx + Σr − 2 sqrtm(Σx Σr)), as pytorch-fid writes it."""
    mu, sigma = x.mean(0), np.cov(x, rowvar=False)
    return float((mu - mu_r) @ (mu - mu_r) + np.trace(sigma + sigma_r - 2 * linalg.sqrtm(sigma @ sigma_r).real))


def expected_kid(mu: np.ndarray, cov: np.ndarray, real: np.ndarray, settings: ScoreSettings, n_fake: int) -> float:
    """E[KID] over generated rows ~ N(μ, Σ), the real set fixed: per subset E k(x, x') − 2 E_x mean_j k(x, y_j) +
    the real subset's own U-statistic, with k(x, y) = (x·y/d + 1)³ expanded in Gaussian moments:
    E (x·x')^1,2,3 = μ·μ, tr(M²) with M = Σ + μμᵀ, ‖T‖² with T_ijk = E x_i x_j x_k; and x·y/d ~ N(μ·y/d, yᵀΣy/d²)."""
    d = len(mu)
    m2 = cov + np.outer(mu, mu)
    t3 = np.einsum("i,j,k->ijk", mu, mu, mu)
    t3 = t3 + np.einsum("i,jk->ijk", mu, cov) + np.einsum("j,ik->ijk", mu, cov) + np.einsum("k,ij->ijk", mu, cov)
    within_fake = 1 + 3 * (mu @ mu) / d + 3 * np.trace(m2 @ m2) / d**2 + (t3**2).sum() / d**3
    mean = 1 + real @ mu / d
    var = np.einsum("ij,jk,ik->i", real, cov, real) / d**2
    cross = mean**3 + 3 * mean * var  # E (1 + u)³ for u Gaussian
    s = settings.kid_subset_size
    values = []
    for _, b in subset_indices(n_fake, len(real), settings.kid_subsets, s, settings.seed):
        y = real[b]
        k_yy = (y @ y.T / d + 1) ** 3
        values.append(within_fake - 2 * cross[b].mean() + (k_yy.sum() - np.trace(k_yy)) / (s * (s - 1)))
    return float(np.mean(values))


def coverage(family: str, trials: int, groups: int = 20, shift: float = SHIFT, seed: int = 0) -> float:
    """Share of `trials` fresh generated sets whose 95% interval holds E[value at n = N] against one real set."""
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(N_REAL, D)) * SCALE
    mean = np.full(D, shift)

    def draw() -> np.ndarray:
        return rng.normal(size=(N, D)) * SCALE + mean

    settings = ScoreSettings(kid_subsets=4, kid_subset_size=N)  # KID's default subset size here: min(1000, n)
    if family == "fid":
        mu_r, sigma_r = real.mean(0), np.cov(real, rowvar=False)
        target = np.mean([fd_sqrtm(draw(), mu_r, sigma_r) for _ in range(4000)])
    else:
        target = expected_kid(mean, np.diag(SCALE**2), real, settings, N)
    name = {"fid": "fd_g", "kid": "kid_g"}[family]
    hits = 0
    for trial in range(trials):
        fake = draw()
        values = metric_values([family], {"pool": fake}, {"pool": real}, "g", settings)
        low, high = metric_intervals(
            [family], {"pool": fake}, {"pool": real}, "g", settings, values, groups, seed=trial
        )[name]
        assert low <= values[name] <= high
        hits += low <= target <= high
    return hits / trials


def test_fd_interval_covers_expected_fd_at_n_in_95_percent_of_trials():
    assert 0.93 <= coverage("fid", trials=400) <= 0.97


def test_kid_interval_covers_expected_kid_in_95_percent_of_trials():
    assert 0.93 <= coverage("kid", trials=400) <= 0.97


@pytest.mark.parametrize("family", ["fid", "kid"])
def test_equal_distributions_are_not_under_covered(family):
    """Generated and real from one Gaussian: the jackknife's upward bias (Efron & Stein 1981) makes the interval
    conservative there, never too narrow."""
    assert coverage(family, trials=200, shift=0.0, seed=1) >= 0.95


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("groups", [2, 7, 50, 10_000])
def test_every_interval_contains_its_value(seed, groups):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 120))
    fake = {"pool": rng.standard_t(3, size=(n, 5)) * rng.uniform(0.1, 10) + rng.normal(size=5)}
    real = {"pool": rng.normal(size=(int(rng.integers(20, 200)), 5))}
    settings = ScoreSettings(kid_subsets=6, kid_subset_size=min(n, len(real["pool"])))
    metrics = ["fid", "kid", "is", "pr"]
    values = metric_values(["fid", "kid"], fake, real, "g", settings)
    intervals = metric_intervals(metrics, fake, real, "g", settings, values, groups, seed=seed)
    assert set(intervals) == {"fd_g", "kid_g"}
    for name, (low, high) in intervals.items():
        assert low <= values[name] <= high, name
        assert np.isfinite([low, high]).all() and high > low


def test_intervals_are_deterministic_and_narrow_with_more_samples():
    rng = np.random.default_rng(5)
    real = {"pool": rng.normal(size=(500, 4))}
    settings = ScoreSettings(kid_subsets=5, kid_subset_size=100)
    widths = []
    for n in (100, 1600):
        fake = {"pool": rng.normal(0.5, 1.0, size=(n, 4))}
        values = metric_values(["fid", "kid"], fake, real, "", settings)
        first = metric_intervals(["fid", "kid"], fake, real, "", settings, values, 20)
        assert metric_intervals(["fid", "kid"], fake, real, "", settings, values, 20) == first
        widths.append(first["fid"][1] - first["fid"][0])
    assert widths[1] < widths[0] / 2  # about 1/sqrt(16) as wide


def test_provenance_names_method_target_and_the_values_without_interval():
    values = {"fd_g": 1.0, "kid_g": 0.1, "kid_std_g": 0.01, "precision_g": 0.7}
    record = interval_provenance(values, {"fd_g": (0.9, 1.1), "kid_g": (0.0, 0.2)}, 355, 50, 0.95)
    assert "jackknife" in record["method"] and record["groups"] == 50 and record["level"] == 0.95
    assert record["target"].startswith("E[value at n=355 generated samples]")
    assert record["values"] == ["fd_g", "kid_g"] and record["no_interval"] == ["kid_std_g", "precision_g"]
    assert interval_provenance(values, {}, 10, 50, 0.95)["groups"] == 10  # one row per group at most


def test_no_real_set_gives_no_interval():
    fake = {"pool": np.random.default_rng(0).normal(size=(50, 3))}
    assert metric_intervals(["is"], fake, None, "g", ScoreSettings(), {}, 20) == {}


@pytest.mark.parametrize(
    "n, dim, requested, fragment",
    [(100, 4, 1, "--bootstrap 2 or more"), (20, 16, 2, "--bootstrap 7 or more"), (17, 16, 20, "at least 18")],
)
def test_intervals_fd_cannot_give_are_refused_before_features(n, dim, requested, fragment):
    with pytest.raises(BenchboxError, match=fragment):
        check_intervals(["fid"], n, dim, requested)
    check_intervals(["kid"], n, dim, max(requested, 2))  # only FD needs n − n/K > d
