"""The best value is marked only where Welch's t-test calls its lead real: checked against scipy's test on the raw
seeds, and on cases whose answer is plain."""

import numpy as np
import pytest
from scipy import stats

from benchbox.report.significance import Estimate, lead_is_real, marks


def estimate(values):
    v = np.asarray(values, dtype=float)
    return Estimate(float(v.mean()), float(v.std(ddof=1)), len(v))


@pytest.mark.parametrize("seed", range(20))
def test_the_decision_is_welchs_test_on_the_raw_seeds(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, size=rng.integers(2, 6))
    b = rng.normal(rng.uniform(0, 3), rng.uniform(0.2, 2), size=rng.integers(2, 6))
    p = stats.ttest_ind(a, b, equal_var=False).pvalue  # raw samples, not the summary statistics
    lower_a = a.mean() < b.mean()
    assert lead_is_real(estimate(a), estimate(b), higher_is_better=False) == bool(lower_a and p < 0.05)
    assert lead_is_real(estimate(b), estimate(a), higher_is_better=True) == bool(lower_a and p < 0.05)


def test_no_lead_from_one_seed_infinity_or_the_wrong_direction():
    assert not lead_is_real(Estimate(1.0, np.nan, 1), Estimate(5.0, 0.1, 3), higher_is_better=False)
    assert not lead_is_real(Estimate(np.inf, np.nan, 3), Estimate(5.0, 0.1, 3), higher_is_better=True)
    assert not lead_is_real(Estimate(1.0, 0.1, 3), Estimate(5.0, 0.1, 3), higher_is_better=True)
    assert lead_is_real(Estimate(10.0, 0.0, 3), Estimate(9.0, 0.0, 3), higher_is_better=True)  # no noise at all
    assert not lead_is_real(Estimate(10.0, 0.0, 3), Estimate(10.0, 0.0, 3), higher_is_better=True)


def test_marks_bold_only_a_real_lead_and_underline_only_a_real_second():
    clear = {"a": Estimate(1.0, 0.1, 3), "b": Estimate(5.0, 0.1, 3), "c": Estimate(9.0, 0.1, 3)}
    assert marks(clear, higher_is_better=False) == {"a": "best", "b": "second"}
    assert marks(clear, higher_is_better=True) == {"c": "best", "b": "second"}
    tied = {"a": Estimate(1.0, 2.0, 3), "b": Estimate(1.5, 2.0, 3), "c": Estimate(9.0, 0.1, 3)}
    assert marks(tied, higher_is_better=False) == {}  # the best's lead is within the noise: nothing is marked
    close_second = {"a": Estimate(1.0, 0.1, 3), "b": Estimate(5.0, 1.0, 3), "c": Estimate(5.5, 1.0, 3)}
    assert marks(close_second, higher_is_better=False) == {"a": "best"}
    assert marks({"a": Estimate(1.0, 0.1, 3)}, higher_is_better=False) == {}
