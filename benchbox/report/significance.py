"""Which lead in a column is real: the best value is marked only where the seeds cannot explain its lead.

A lead of a over b (means over seeds) is real when Welch's t-test (unequal variances, two-sided) rejects equal means
at 5%. Both need two seeds or more; two sets without spread (std 0 on both sides, e.g. classes covered 10 ± 0 against
9 ± 0) differ for certain when their means do. Infinite or undefined means never lead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
RULE = "Welch's t-test, two-sided, 5%"


@dataclass(frozen=True)
class Estimate:
    """A column cell's mean, sample std and number of seeds."""

    mean: float
    std: float
    n: int


def lead_is_real(a: Estimate, b: Estimate, higher_is_better: bool, alpha: float = ALPHA) -> bool:
    """Whether a is better than b by more than the seeds' noise (Welch's t-test at `alpha`)."""
    if a.n < 2 or b.n < 2 or not (math.isfinite(a.mean) and math.isfinite(b.mean)):
        return False
    better = a.mean > b.mean if higher_is_better else a.mean < b.mean
    if not better or not (math.isfinite(a.std) and math.isfinite(b.std)):
        return False
    if a.std == 0 and b.std == 0:
        return True  # no noise on either side, and the means differ
    p = stats.ttest_ind_from_stats(a.mean, a.std, a.n, b.mean, b.std, b.n, equal_var=False).pvalue
    return bool(p < alpha)


def marks(estimates: dict[str, Estimate], higher_is_better: bool, alpha: float = ALPHA) -> dict[str, str]:
    """{row: "best" | "second"}: the best where its lead over the second is real, and then the second where its own
    lead over the third is real. Rows without a finite mean take no part."""
    ranked = sorted(
        (k for k, e in estimates.items() if math.isfinite(e.mean)),
        key=lambda k: -estimates[k].mean if higher_is_better else estimates[k].mean,
    )
    out: dict[str, str] = {}
    if len(ranked) < 2 or not lead_is_real(estimates[ranked[0]], estimates[ranked[1]], higher_is_better, alpha):
        return out
    out[ranked[0]] = "best"
    if len(ranked) >= 3 and lead_is_real(estimates[ranked[1]], estimates[ranked[2]], higher_is_better, alpha):
        out[ranked[1]] = "second"
    return out
