"""k-NN manifold metrics on features: precision and recall (Kynkäänniemi et al. 2019, "Improved precision and
recall metric for assessing generative models") and density and coverage (Naeem et al. 2020, "Reliable fidelity
and diversity metrics for generative models").

Each sample x of a set gets the ball B(x, NND_k(x)) whose radius is the distance to its k-th nearest other sample
of the same set; a point lies in a ball when its distance is <= the radius (torch-fidelity's and Kynkäänniemi's
comparison; Naeem et al.'s code uses <, which differs only on exact ties). Distances are Euclidean, computed in
float64 with torch.cdist over row blocks so that no N×M matrix is held at once.
"""

from __future__ import annotations

import numpy as np
import torch

from benchbox.catalogue import Value
from benchbox.errors import BenchboxError
from benchbox.metrics import check_points
from benchbox.registry import register_score

BLOCK_ROWS = 1024  # 1024 × 10,000 float64 distances = 80 MB per block


def as_float64_tensor(x: np.ndarray | torch.Tensor, what: str, dim: int | None = None) -> torch.Tensor:
    """Validate an N×D set of finite features (numpy or torch) and return it as a float64 CPU tensor."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return torch.from_numpy(check_points(x, what, dim))


def check_neighbourhood(k: int, n: int, what: str) -> None:
    """Refuse a k that the set cannot give: the k-th nearest other sample needs k <= N − 1."""
    if not 1 <= k <= n - 1:
        raise BenchboxError(
            f"k = {k} nearest neighbours asked of the {n} {what}", f"use 1 <= k <= {n - 1}, or more samples"
        )


def kth_neighbour_radii(x: torch.Tensor, k: int, block: int = BLOCK_ROWS) -> torch.Tensor:
    """NND_k(x_i) = the (k+1)-th smallest of ‖x_i − x_j‖ over all j, the sample itself being the first (at 0)."""
    return torch.cat([torch.cdist(rows, x).kthvalue(k + 1, dim=1).values for rows in x.split(block)])


def ball_membership(
    points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, block: int = BLOCK_ROWS
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each point, how many balls B(c_i, r_i) hold it; for each centre, how many points its ball holds."""
    per_point, per_centre = [], torch.zeros(len(centres), dtype=torch.int64)
    for rows in points.split(block):
        inside = torch.cdist(rows, centres) <= radii
        per_point.append(inside.sum(dim=1))
        per_centre += inside.sum(dim=0)
    return torch.cat(per_point), per_centre


def precision_recall(
    fake: np.ndarray | torch.Tensor, real: np.ndarray | torch.Tensor, k: int = 3, block: int = BLOCK_ROWS
) -> tuple[float, float]:
    """precision = (1/M) Σ_j 1[∃i: Y_j ∈ B(X_i, NND_k(X_i))], recall = (1/N) Σ_i 1[∃j: X_i ∈ B(Y_j, NND_k(Y_j))].

    X are the N real features, Y the M generated ones; torch-fidelity's `calculate_precision_recall_full(Y, X, k)`.
    """
    fake = as_float64_tensor(fake, "generated features")
    real = as_float64_tensor(real, "real features", dim=fake.shape[1])
    check_neighbourhood(k, len(real), "real features")
    check_neighbourhood(k, len(fake), "generated features")
    in_real_balls, _ = ball_membership(fake, real, kth_neighbour_radii(real, k, block), block)
    in_fake_balls, _ = ball_membership(real, fake, kth_neighbour_radii(fake, k, block), block)
    return int((in_real_balls > 0).sum()) / len(fake), int((in_fake_balls > 0).sum()) / len(real)


def density_coverage(
    fake: np.ndarray | torch.Tensor, real: np.ndarray | torch.Tensor, k: int = 5, block: int = BLOCK_ROWS
) -> tuple[float, float]:
    """density = (1/(kM)) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))], coverage = (1/N) Σ_i 1[∃j: Y_j ∈ B(X_i, NND_k(X_i))].

    X are the N real features, Y the M generated ones; only the real set's balls are used.
    """
    fake = as_float64_tensor(fake, "generated features")
    real = as_float64_tensor(real, "real features", dim=fake.shape[1])
    check_neighbourhood(k, len(real), "real features")
    per_fake, per_real = ball_membership(fake, real, kth_neighbour_radii(real, k, block), block)
    return int(per_fake.sum()) / (k * len(fake)), int((per_real > 0).sum()) / len(real)


@register_score(
    "pr",
    output="pool",
    needs_real=True,
    values=(
        Value(
            "precision",
            True,
            "fraction of generated samples inside the real k-NN manifold",
            tradeoff=True,
        ),
        Value(
            "recall",
            True,
            "fraction of real samples inside the generated k-NN manifold",
            tradeoff=True,
            topic="diversity",
        ),
    ),
    description="k-NN precision and recall, k = pr_k (Kynkäänniemi et al. 2019)",
    min_samples=lambda dim, *, pr_k=3, **_: pr_k + 1,  # the k-th nearest other sample, in both sets
)
def precision_recall_family(fake: np.ndarray, real: np.ndarray, *, pr_k: int = 3, **_: object) -> dict[str, float]:
    precision, recall = precision_recall(fake, real, k=pr_k)
    return {"precision": precision, "recall": recall}


@register_score(
    "dc",
    output="pool",
    needs_real=True,
    values=(
        Value("density", True, "mean count of real k-NN balls holding each generated sample, over k"),
        Value("coverage", True, "fraction of real k-NN balls holding a generated sample", topic="diversity"),
    ),
    description="k-NN density and coverage around the real samples, k = dc_k (Naeem et al. 2020)",
    min_samples=lambda dim, *, dc_k=5, **_: dc_k + 1,  # the k-th nearest other real sample
)
def density_coverage_family(fake: np.ndarray, real: np.ndarray, *, dc_k: int = 5, **_: object) -> dict[str, float]:
    density, coverage = density_coverage(fake, real, k=dc_k)
    return {"density": density, "coverage": coverage}
