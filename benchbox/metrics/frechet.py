"""Fréchet distance between Gaussians fitted to features (Heusel et al. 2017, "GANs trained by a two
time-scale update rule"), computed in float64 from eigenvalues of symmetric matrices: never NaN or complex.
"""

from __future__ import annotations

import numpy as np

from benchbox.catalogue import Value
from benchbox.errors import BenchboxError
from benchbox.metrics import check_points
from benchbox.registry import register_score


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (rows are samples) in float64; needs more samples than dimensions."""
    features = check_points(features, "features")
    n, d = features.shape
    if n <= d:
        raise BenchboxError(
            f"{n} samples of {d}-dimensional features give a singular covariance",
            f"use at least {d + 1} samples (the protocols use 10,000 or more for 2048-d Inception features)",
        )
    mean = features.mean(axis=0)
    # np.cov(features, rowvar=False) step by step on the float64 copy check_points made, centred in place: the same
    # operations on the same memory (bit for bit the same matrix; tests/metrics/test_frechet.py) without np.cov's copy.
    features -= features.T.mean(axis=1)
    covariance = np.dot(features.T, features)
    covariance *= np.true_divide(1, n - 1)
    return mean, covariance


def sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix; round-off negatives clip to 0."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((Σ1 Σ2)^½) = Σ_i sqrt(λ_i) for the eigenvalues λ of the symmetric PSD matrix Σ1^½ Σ2 Σ1^½."""
    root = sqrt_psd(sigma1)
    values = np.linalg.eigvalsh(root @ sigma2 @ root)
    return float(np.sqrt(np.clip(values, 0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr((Σ1 Σ2)^½), the squared 2-Wasserstein distance of two Gaussians."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise BenchboxError(
            f"statistics have mismatched shapes {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}",
            "compare statistics of features from the same extractor",
        )
    if not all(np.isfinite(a).all() for a in (mu1, mu2, sigma1, sigma2)):
        raise BenchboxError("statistics contain NaN or Inf", "check the features for NaN or Inf")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)  # ≥ 0 in exact arithmetic; clip round-off on identical inputs


def frechet_distance_of_features(fake: np.ndarray, real: np.ndarray) -> float:
    return frechet_distance(*gaussian_statistics(fake), *gaussian_statistics(real))


@register_score(
    "fid",
    output="pool",
    needs_real=True,
    values=(
        Value("fd", False, "Fréchet distance between Gaussians fitted to the features", decimals=2, tradeoff=True),
    ),
    description="Fréchet distance of Gaussians fitted to the features (FID in canonical Inception pool3 space)",
    min_samples=lambda dim, **_: dim + 1,  # a non-singular covariance
)
def fid_family(fake: np.ndarray, real: np.ndarray, **_: object) -> dict[str, float]:
    return {"fd": frechet_distance_of_features(fake, real)}
