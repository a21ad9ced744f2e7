"""Findings decided on records: each test statistic and p-value against its textbook formula computed here (Welch's
t with the Welch-Satterthwaite degrees of freedom, the paired t, Spearman's ρ as Pearson's r of ranks with an exact
permutation p-value), the seeds needed against a simulation of the test, and every way records cannot decide."""

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from benchbox.description import Finding, SuiteDescription
from benchbox.errors import SuiteFileError
from benchbox.findings import decide, paired_seeds_needed, recorded_name, spearman_points_needed, welch_seeds_needed
from benchbox.suites import load_suite, validate_suite


@dataclass(frozen=True)
class Rec:
    task: str
    model: str
    metric: str
    seed: int
    value: float
    protocol_hash: str = "p"


def records(task: str, metric: str, **rows: list[float]) -> list[Rec]:
    return [Rec(task, row, metric, seed, v) for row, values in rows.items() for seed, v in enumerate(values)]


def pair(expect: str = "higher", value: str = "modes_covered") -> Finding:
    return Finding("k", "Paper 2000", "a beats b", "their nets", "grid25", value, ("a", "b"), expect)


def welch_by_hand(a: list[float], b: list[float]) -> tuple[float, float]:
    """t and the Welch-Satterthwaite ν, from the textbook formulas."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    nu = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(t), float(nu)


@pytest.mark.parametrize(
    ("a", "b", "expect", "verdict"),
    [
        ([24.0, 23.0, 25.0, 24.0], [17.0, 19.0, 16.0, 18.0], "higher", "reproduced"),
        ([24.0, 23.0, 25.0, 24.0], [17.0, 19.0, 16.0, 18.0], "lower", "contradicted"),
        ([20.0, 23.0, 18.0], [19.0, 22.0, 17.5], "higher", "inconclusive"),
    ],
)
def test_two_rows_are_decided_by_welchs_one_sided_t_test(a, b, expect, verdict):
    v = decide(pair(expect), records("grid25", "modes_covered", a=a, b=b))
    t, nu = welch_by_hand(a, b)
    p_greater = stats.t.sf(t, nu)
    assert v.test == "welch" and v.verdict == verdict
    assert v.statistic == pytest.approx(t, rel=1e-12)
    assert v.p_value == pytest.approx(p_greater if expect == "higher" else 1 - p_greater, rel=1e-9)
    assert (v.seeds_needed is not None) == (verdict == "inconclusive")


def test_two_values_of_the_same_runs_are_decided_by_the_paired_t_test():
    nll, elbo = [1.50, 1.52, 1.49, 1.55], [1.58, 1.57, 1.60, 1.61]
    finding = Finding("iwae", "Burda", "IWAE below ELBO", "", "d", "nll_bits_per_dim", ("vae", "vae"), "lower",
                      versus_value="elbo_bits_per_dim")  # fmt: skip
    recs = [Rec("d", "vae", "nll_bits_per_dim", s, x) for s, x in enumerate(nll)]
    recs += [Rec("d", "vae", "elbo_bits_per_dim", s, x) for s, x in enumerate(elbo)]
    v = decide(finding, recs)
    d = np.subtract(nll, elbo)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    assert v.test == "paired" and v.verdict == "reproduced"
    assert v.statistic == pytest.approx(t, rel=1e-12)
    assert v.p_value == pytest.approx(stats.t.cdf(t, len(d) - 1), rel=1e-9)


def test_a_trend_is_decided_by_spearmans_rho_matching_the_exact_permutation_p():
    xs = (0.0, 1.0, 2.0, 5.0)
    values = {"w0": [0.40, 0.42], "w1": [0.47, 0.43], "w2": [0.50, 0.52], "w5": [0.55, 0.60]}
    finding = Finding("g", "Ho", "precision rises with w", "", "d", "precision", tuple(values), "rises", x=xs)
    recs = [Rec("d", row, "precision_digits", s, x) for row, vs in values.items() for s, x in enumerate(vs)]
    v = decide(finding, recs)
    px = np.repeat(xs, 2)
    py = np.concatenate(list(values.values()))
    rho = np.corrcoef(stats.rankdata(px), stats.rankdata(py))[0, 1]
    assert v.test == "spearman" and v.statistic == pytest.approx(rho, rel=1e-12)
    # the exact permutation p-value over all orderings of y (8! = 40,320), against which scipy's t approximation
    # of spearmanr is within 0.01 at this size
    ranks_x = stats.rankdata(px)
    perms = [np.corrcoef(ranks_x, stats.rankdata(p))[0, 1] for p in itertools.permutations(py)]
    exact = np.mean(np.asarray(perms) >= rho - 1e-12)
    assert v.p_value == pytest.approx(exact, abs=0.01)
    assert v.verdict == "reproduced"


def test_a_trend_runs_over_the_sweep_rows_the_records_hold():
    finding = Finding("g", "Ho", "recall falls", "", "d", "recall", ("w0", "w1", "w2", "w5"), "falls", x=(0, 1, 2, 5))
    recs = records("d", "recall_digits", w0=[0.5, 0.52], w2=[0.4, 0.41], w5=[0.3, 0.28])  # no w1 on this budget
    v = decide(finding, recs)
    assert [s.row for s in v.sides] == ["w0", "w2", "w5"] and [s.x for s in v.sides] == [0, 2, 5]
    assert v.verdict == "reproduced"
    two = decide(finding, records("d", "recall_digits", w0=[0.5, 0.52], w2=[0.4, 0.41]))
    assert two.verdict == "not measured" and "needs 3" in two.reason


@pytest.mark.parametrize(
    ("recs", "reason"),
    [
        (records("grid25", "modes_covered", a=[20.0, 21.0]), "no record of modes_covered for b"),
        (records("grid25", "modes_covered", a=[20.0, 21.0], b=[15.0, math.nan]), "NaN for seed 1"),
        (
            records("grid25", "modes_covered", a=[20.0, 21.0], b=[15.0, 16.0])
            + [Rec("grid25", "b", "modes_covered", 5, 14.0, protocol_hash="other")],
            "two protocols",
        ),
        (records("ring8", "modes_covered", a=[20.0, 21.0], b=[15.0, 16.0]), "no record"),  # another task
    ],
)
def test_what_records_cannot_decide_is_not_measured_with_the_reason(recs, reason):
    v = decide(pair(), recs)
    assert v.verdict == "not measured" and reason in v.reason


def test_an_infinite_seed_is_ranked_by_the_exact_mann_whitney_test():
    """A reverse KL of ∞ (no sample near any mode) has a rank but no mean. The p-value is checked against the share
    of the C(8, 4) = 70 equally likely splits of the pooled ranks whose U is at least as extreme."""
    ns, minimax = [0.3, 0.5, 0.2, 0.4], [1.2, math.inf, 0.9, math.inf]
    finding = Finding("k", "Goodfellow", "ns lower", "", "ring8", "reverse_kl", ("ns", "mm"), "lower")
    v = decide(finding, records("ring8", "reverse_kl", ns=ns, mm=minimax))
    assert v.test == "mann-whitney" and v.verdict == "reproduced"
    pooled = ns + minimax
    ranks = stats.rankdata(pooled)
    u_of = lambda idx: sum(ranks[i] for i in idx) - len(idx) * (len(idx) + 1) / 2  # noqa: E731
    observed = u_of(range(4))
    splits = list(itertools.combinations(range(8), 4))
    assert v.p_value == pytest.approx(sum(u_of(s) <= observed for s in splits) / len(splits), rel=1e-12)  # 1/70
    few = decide(finding, records("ring8", "reverse_kl", ns=ns[:3], mm=minimax[:3]))
    assert few.verdict == "inconclusive" and "4 seeds per row are needed" in few.reason


def test_one_seed_or_no_spread_is_never_a_silent_verdict():
    one = decide(pair(), records("grid25", "modes_covered", a=[25.0], b=[17.0]))
    assert one.verdict == "inconclusive" and "one seed" in one.reason
    same = decide(pair(), records("grid25", "modes_covered", a=[8.0, 8.0, 8.0], b=[8.0, 8.0, 8.0]))
    assert same.verdict == "inconclusive" and same.p_value == 0.5
    apart = decide(pair(), records("grid25", "modes_covered", a=[8.0, 8.0, 8.0], b=[7.0, 7.0, 7.0]))
    assert apart.verdict == "reproduced"  # no noise on either side: the means decide, as the tables' marks do


def simulated_power(n: int, diff: float, s1: float, s2: float, reps: int = 4000) -> float:
    rng = np.random.default_rng(0)
    a = rng.normal(diff, s1, (reps, n))
    b = rng.normal(0.0, s2, (reps, n))
    return float(np.mean(stats.ttest_ind(a, b, axis=1, equal_var=False, alternative="greater").pvalue < 0.05))


@pytest.mark.parametrize(("diff", "s1", "s2"), [(1.0, 1.0, 1.0), (2.0, 1.0, 3.0)])
def test_seeds_needed_give_the_stated_power_in_simulation(diff, s1, s2):
    n = welch_seeds_needed(diff, s1, s2)
    assert n is not None and n >= 2
    assert simulated_power(n, diff, s1, s2) >= 0.77  # 80% less the simulation's own noise (s.e. 0.006)
    if n > 2:
        assert simulated_power(n - 1, diff, s1, s2) < 0.82


def test_seeds_needed_closed_forms_at_their_limits():
    # large n: the normal approximation 2 (z_.95 + z_.8)² s² / δ² = 12.37 → 13 at δ = s; the t test needs a bit more
    assert welch_seeds_needed(1.0, 1.0, 1.0) in (13, 14)
    assert paired_seeds_needed(1.0, 1.0) in (7, 8)  # normal approximation: (1.645 + 0.842)² = 6.18 → 7
    assert welch_seeds_needed(0.0, 1.0, 1.0) is None
    assert spearman_points_needed(0.0) is None
    assert spearman_points_needed(0.5) == math.ceil(3 + 1.06 * ((1.6449 + 0.8416) / math.atanh(0.5)) ** 2)


def test_a_finding_names_values_by_catalogue_base():
    assert recorded_name("fd", ["fd_digits", "kid_digits"]) == "fd_digits"
    assert recorded_name("fd", ["fid", "fd_digits"]) == "fd_digits"  # the suite's own space first
    assert recorded_name("modes_covered", ["modes_covered"]) == "modes_covered"
    assert recorded_name("fd", ["kid_digits"]) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expect": "better"}, "is not one of"),
        ({"rows": ("a", "b", "c")}, "compares 2 rows"),
        ({"expect": "rises"}, "a trend 3 or more"),
        ({"rows": ("a", "a")}, "needs versus_value"),
        ({"expect": "rises", "rows": ("a", "b", "c"), "x": (1.0, 2.0)}, "sweep positions"),
    ],
)
def test_a_malformed_finding_is_refused(kwargs, message):
    base = {"key": "k", "source": "s", "claim": "c", "conditions": "", "task": "t", "value": "v",
            "rows": ("a", "b"), "expect": "higher"}  # fmt: skip
    with pytest.raises(ValueError, match=message):
        Finding(**{**base, **kwargs})


def test_a_suite_whose_finding_names_unknown_things_is_refused():
    from dataclasses import replace

    toy = load_suite("toy2d")
    bad = Finding("x", "s", "c", "", "grid9", "modes_covered", ("gan-ns", "pacgan2"), "higher")
    with pytest.raises(SuiteFileError, match="unknown task 'grid9'"):
        validate_suite(replace(toy, findings=(bad,)))
    wrong_value = Finding("y", "s", "c", "", "ring8", "fd", ("gan-ns", "pacgan2"), "lower")
    with pytest.raises(SuiteFileError, match="value 'fd' that the suite does not record"):
        validate_suite(replace(toy, findings=(wrong_value,)))
    with pytest.raises(SuiteFileError, match="used twice"):
        validate_suite(replace(toy, findings=(toy.findings[0], toy.findings[0])))


def test_a_suite_made_with_fewer_models_keeps_only_the_findings_it_can_decide(caplog):
    from dataclasses import replace

    digits = load_suite("digits")
    fewer = replace(digits, models=tuple(m for m in digits.models if m.name in ("dcgan", "rasgan", "vae", "ddpm-cfg")))
    validate_suite(fewer)  # not refused: a subset of a suite is a suite
    kept = [f.key for f in fewer.applicable_findings()]
    assert kept == ["relativistic", "guidance-precision", "guidance-recall", "iwae-bound"]  # ddpm-cfg brings its sweep
    assert "suite 'digits' has no row wgan-gp, wgan: its finding 'gradient-penalty' is left out" in caplog.text


@pytest.mark.parametrize("name", ["toy2d", "digits", "fashion-mnist", "cifar10"])
def test_every_built_in_suite_declares_findings_that_survive_the_store(name):
    suite = load_suite(name)
    assert suite.findings and suite.applicable_findings() == suite.findings  # every row they name exists
    from benchbox.runner.describe import describe_suite

    stored = SuiteDescription.from_json(describe_suite(suite).to_json())
    assert stored.findings == suite.findings


def test_beyond_100_by_100_seeds_an_infinite_seed_is_ranked_by_the_normal_approximation_of_u():
    """The exact U distribution costs (n_a·n_b)² steps (minutes at 250 seeds a row). The approximation's p-value is
    checked against the tie-corrected normal formula with continuity correction, computed here."""
    rng = np.random.default_rng(0)
    ns = list(rng.normal(0.3, 0.1, 150))
    minimax = list(rng.normal(0.35, 0.1, 149)) + [math.inf]
    finding = Finding("k", "Goodfellow", "ns lower", "", "ring8", "reverse_kl", ("ns", "mm"), "lower")
    v = decide(finding, records("ring8", "reverse_kl", ns=ns, mm=minimax))
    assert v.test == "mann-whitney-normal" and v.verdict == "reproduced"
    n1, n2 = len(ns), len(minimax)
    ranks = stats.rankdata(ns + minimax)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    _, counts = np.unique(ranks, return_counts=True)
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - (counts**3 - counts).sum() / (n * (n - 1))))
    z = (u - n1 * n2 / 2 + 0.5) / sigma  # "lower": small U for ns; continuity correction towards the mean
    assert v.statistic == u and v.p_value == pytest.approx(stats.norm.cdf(z), rel=1e-9)
    small = decide(finding, records("ring8", "reverse_kl", ns=ns[:100], mm=minimax[-100:]))
    assert small.test == "mann-whitney"  # 100 × 100 seeds: still exact
