"""The Fréchet distance step: benchbox's eigenvalue path against scipy's sqrtm formula, side by side.

    python benchmarks/perf/frechet_vs_sqrtm.py [--dim 2048] [--repeats 3]

Both take the same two covariances of features (2048-d as Inception's pool3) and print their times, the
ratio (target ≥ 4×) and the relative difference of the two distances.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import linalg

from benchbox.metrics.frechet import frechet_distance


def sqrtm_formula(mu1, s1, mu2, s2):
    covmean = linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def best_time(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    d = args.dim
    a = rng.normal(size=(d + 500, d))
    b = rng.normal(size=(d + 500, d)) @ (np.eye(d) + 0.1 * rng.normal(size=(d, d)) / np.sqrt(d))
    stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    t_ours, ours = best_time(lambda: frechet_distance(*stats), args.repeats)
    t_scipy, theirs = best_time(lambda: sqrtm_formula(*stats), args.repeats)
    print(f"FD step at {d}-d, best of {args.repeats}")
    print(f"benchbox eigenvalues: {t_ours:7.2f} s   FD = {ours:.6f}")
    print(f"scipy sqrtm:          {t_scipy:7.2f} s   FD = {theirs:.6f}")
    print(f"speed-up: {t_scipy / t_ours:.1f}×   relative difference: {abs(ours - theirs) / abs(theirs):.1e}")


if __name__ == "__main__":
    main()
