"""Mode diagnostics on hand-made point sets, against the definitions of VEEGAN and PacGAN."""

import math

import numpy as np
import pytest
from scipy import stats

from benchbox.data.toy2d import grid, ring
from benchbox.errors import BenchboxError
from benchbox.metrics import MetricInputs
from benchbox.metrics.modes import high_quality_pct, mode_histogram, modes_covered, reverse_kl


def inputs(task, points):
    return MetricInputs(fake=np.asarray(points, dtype=float), real=task.reference(100).numpy(), task=task)


@pytest.mark.parametrize("task", [ring(), grid()], ids=lambda t: t.name)
def test_all_points_on_one_mode(task):
    points = np.repeat(np.array(task.means[3])[None], 500, axis=0)
    x = inputs(task, points)
    assert modes_covered(x) == 1
    assert high_quality_pct(x) == 100.0
    assert reverse_kl(x) == pytest.approx(math.log(task.n_modes))  # KL(δ ‖ U_K) = log K


def test_points_spread_evenly_cover_every_mode_with_zero_kl():
    task = ring()
    x = inputs(task, np.repeat(np.array(task.means), 10, axis=0))
    assert modes_covered(x) == 8
    assert reverse_kl(x) == pytest.approx(0.0, abs=1e-12)


def test_three_std_boundary_and_mixed_set():
    task = ring()
    mu0, mu1 = np.array(task.means[0]), np.array(task.means[1])
    tangent = np.array([0.0, 1.0])  # mode 0 sits at (1, 0)
    points = [
        mu0,
        mu0 + 2.9 * task.std * tangent,
        mu0 - 2.0 * task.std * tangent,  # 3 high-quality on mode 0
        mu1,  # 1 on mode 1
        mu0 + 3.1 * task.std * tangent,  # just outside 3 std: not high quality
        [0.0, 0.0],  # far from every mode
    ]
    x = inputs(task, points)
    assert modes_covered(x) == 2
    assert high_quality_pct(x) == pytest.approx(100 * 4 / 6)
    p = np.zeros(8)
    p[0], p[1] = 3 / 4, 1 / 4
    assert reverse_kl(x) == pytest.approx(stats.entropy(p, np.full(8, 1 / 8)))  # scipy's KL(p ‖ uniform)


def test_no_high_quality_sample_gives_infinite_kl():
    x = inputs(ring(), [[0.0, 0.0], [0.1, 0.1]])
    assert modes_covered(x) == 0 and high_quality_pct(x) == 0 and reverse_kl(x) == math.inf


def test_histogram_rejects_nan_and_wrong_shape():
    means = np.array(ring().means)
    with pytest.raises(BenchboxError, match="NaN"):
        mode_histogram(np.array([[0.0, np.nan], [1.0, 0.0]]), means, 0.01)
    with pytest.raises(BenchboxError, match="shape"):
        mode_histogram(np.zeros((5, 3)), means, 0.01)
