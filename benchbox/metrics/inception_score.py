"""Inception Score (Salimans et al. 2016, "Improved techniques for training GANs"): exp E_x KL(p(y|x) ‖ p(y)),
averaged over splits of the generated set, computed as torch-fidelity's `isc_features_to_metric` computes it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax

from benchbox.catalogue import Value
from benchbox.errors import BenchboxError
from benchbox.metrics import check_points
from benchbox.registry import register_score


def split_inception_score(logits: np.ndarray) -> float:
    """exp( (1/n) Σ_i Σ_y p(y|x_i) (log p(y|x_i) − log p̂(y)) ) with p̂(y) = (1/n) Σ_i p(y|x_i); 0·log 0 = 0."""
    p = softmax(logits, axis=1)
    log_p = log_softmax(logits, axis=1)
    q = p.mean(axis=0, keepdims=True)
    log_q = np.log(np.where(q > 0, q, 1.0))  # q_y = 0 only where every p_iy = 0, whose terms are 0
    terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def inception_score(
    logits: np.ndarray, splits: int = 10, shuffle: bool = True, seed: int = 2020
) -> tuple[float, float]:
    """Mean and std over `splits` splits of the split IS; rows permuted by RandomState(seed) as torch-fidelity does.

    Split i holds rows [i·N // splits, (i+1)·N // splits) of the (shuffled) float64 logits. Where torch-fidelity
    would compute 0·log 0 as NaN (a class whose probability underflows to 0 in a whole split), this gives 0.
    """
    logits = check_points(logits, "classifier logits")
    n = len(logits)
    if not 1 <= splits <= n:
        raise BenchboxError(
            f"Inception Score with {splits} splits of {n} samples", f"use between 1 and {n} splits, or more samples"
        )
    if shuffle:
        logits = logits[np.random.RandomState(seed).permutation(n)]
    scores = [split_inception_score(logits[i * n // splits : (i + 1) * n // splits]) for i in range(splits)]
    return float(np.mean(scores)), float(np.std(scores))


@register_score(
    "is",
    output="logits",
    needs_real=False,
    values=(
        Value("is", True, "Inception Score: mean over splits", decimals=2),
        Value("is_std", False, "Inception Score: std over splits", decimals=2),
    ),
    description="Inception Score: mean and std over splits of exp E KL(p(y|x) ‖ p(y)) (Salimans et al. 2016)",
    min_samples=lambda dim, *, is_splits=10, **_: max(2, is_splits),  # at least one sample per split
)
def inception_score_family(
    fake: np.ndarray, real: np.ndarray | None, *, is_splits: int = 10, seed: int = 2020, **_: object
) -> dict[str, float]:
    mean, std = inception_score(fake, splits=is_splits, seed=seed)
    return {"is": mean, "is_std": std}
