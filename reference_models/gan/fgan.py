"""f-GAN: the f-divergences of Nowozin et al. 2016 as rows of one table, and the GAN losses they give.

The critic outputs a raw value v; the output activation g_f maps it into the domain of the convex conjugate f*,
and the critic maximises the variational lower bound (Nowozin et al. 2016, eq. 6)

    F(θ, ω) = E_P[g_f(V(x))] − E_Q[f*(g_f(V(x)))] ≤ D_f(P‖Q),  P real, Q generated,

with equality at g_f(V(x)) = f'(p(x)/q(x)). The rows follow the paper's Table 2 (generator f from its Table 1):

    name        g_f(v)                  f*(t)                                  f(u)
    tv          ½ tanh(v)               t                                      ½|u − 1|
    kl          v                       exp(t − 1)                             u log u
    reverse_kl  −exp(−v)                −1 − log(−t)                           −log u
    pearson     v                       t²/4 + t                               (u − 1)²
    neyman      1 − exp(−v)             2 − 2√(1 − t)                          (1 − u)²/u
    hellinger   1 − exp(−v)             t/(1 − t)                              (√u − 1)²
    jeffrey     v                       W(e^{1−t}) + 1/W(e^{1−t}) + t − 2      (u − 1) log u
    js          log 2 − log(1 + e^{−v}) −log(2 − exp(t))                       −(u + 1) log((1 + u)/2) + u log u
    gan         −log(1 + e^{−v})        −log(1 − exp(t))                       u log u − (u + 1) log(u + 1)

Every activation is increasing, so a larger v always means "more like the data". The js row's f and f* give
2·JS(P‖Q) (no ½), the gan row's give 2·JS(P‖Q) − log 4. Pearson's f* is the conjugate of (u − 1)² on all of R;
for t < −2 it exceeds the conjugate over u ≥ 0, which keeps F a lower bound (a looser one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import UnknownNameError

Elementwise = Callable[[Tensor], Tensor]

_LOG2 = math.log(2.0)
_NEWTON_STEPS = 4  # Newton from the starts below is monotone and quadratic: 3 steps reach float64 rounding
_OMEGA_TAIL = -40.0  # below this W(e^x) = e^x to within e^{2x}, under float64 rounding


@dataclass(frozen=True)
class Divergence:
    """One row of the f-GAN table (Nowozin et al. 2016, Table 2)."""

    name: str
    activation: Elementwise  # g_f: raw critic output v -> dom f*
    conjugate: Elementwise  # f*(t), the convex conjugate of f, on dom f*
    conjugate_of_activation: Elementwise  # f*(g_f(v)) in a closed form that stays finite for large |v|
    f: Elementwise  # the generator function: D_f(P‖Q) = E_Q[f(p/q)]
    citation: str = "Nowozin et al. 2016"


def wright_omega(x: Tensor) -> Tensor:
    """ω(x) = W(eˣ), the root of ω + log ω = x, by Newton's method (Corless & Jeffrey 2002, the Wright ω function)."""
    with torch.no_grad():
        xc = x.clamp(min=_OMEGA_TAIL)
        w = torch.where(xc > 1, xc - torch.log(xc.clamp(min=1)), F.softplus(xc))  # both starts lie below e^{1+x}
        for _ in range(_NEWTON_STEPS):
            w = w * (1 + xc - torch.log(w)) / (1 + w)
    # One more Newton step on the graph: its derivative in x is w/(1 + w) = ω'(x) exactly.
    w = w - (w + torch.log(w) - x) * w / (1 + w)
    return torch.where(x < _OMEGA_TAIL, torch.exp(x), w)


def lambert_w(z: Tensor) -> Tensor:
    """The principal branch W(z) of w·eʷ = z for z > 0, as ω(log z) (Corless et al. 1996)."""
    return wright_omega(torch.log(z))


def _jeffrey_conjugate(t: Tensor) -> Tensor:
    """f*(t) = W(e^{1−t}) + 1/W(e^{1−t}) + t − 2 (Nowozin et al. 2016, Table 2, Jeffrey)."""
    w = wright_omega(1 - t)
    return w + 1 / w + t - 2


DIVERGENCES: dict[str, Divergence] = {
    d.name: d
    for d in [
        Divergence(
            "tv",
            activation=lambda v: 0.5 * torch.tanh(v),
            conjugate=lambda t: t,
            conjugate_of_activation=lambda v: 0.5 * torch.tanh(v),
            f=lambda u: 0.5 * (u - 1).abs(),
        ),
        Divergence(
            "kl",
            activation=lambda v: v,
            conjugate=lambda t: torch.exp(t - 1),
            conjugate_of_activation=lambda v: torch.exp(v - 1),
            f=lambda u: torch.xlogy(u, u),
        ),
        Divergence(
            "reverse_kl",
            activation=lambda v: -torch.exp(-v),
            conjugate=lambda t: -1 - torch.log(-t),
            conjugate_of_activation=lambda v: v - 1,
            f=lambda u: -torch.log(u),
        ),
        Divergence(
            "pearson",
            activation=lambda v: v,
            conjugate=lambda t: 0.25 * t**2 + t,
            conjugate_of_activation=lambda v: 0.25 * v**2 + v,
            f=lambda u: (u - 1) ** 2,
        ),
        Divergence(
            "neyman",
            activation=lambda v: -torch.expm1(-v),
            conjugate=lambda t: 2 - 2 * torch.sqrt(1 - t),
            conjugate_of_activation=lambda v: -2 * torch.expm1(-0.5 * v),
            f=lambda u: (1 - u) ** 2 / u,
        ),
        Divergence(
            "hellinger",
            activation=lambda v: -torch.expm1(-v),
            conjugate=lambda t: t / (1 - t),
            conjugate_of_activation=torch.expm1,
            f=lambda u: (torch.sqrt(u) - 1) ** 2,
        ),
        Divergence(
            "jeffrey",
            activation=lambda v: v,
            conjugate=_jeffrey_conjugate,
            conjugate_of_activation=_jeffrey_conjugate,
            f=lambda u: (u - 1) * torch.log(u),
        ),
        Divergence(
            "js",
            activation=lambda v: _LOG2 - F.softplus(-v),
            conjugate=lambda t: -_LOG2 - torch.log1p(-torch.exp(t - _LOG2)),
            conjugate_of_activation=lambda v: F.softplus(v) - _LOG2,
            f=lambda u: -torch.xlogy(u + 1, (u + 1) / 2) + torch.xlogy(u, u),
        ),
        Divergence(
            "gan",
            activation=lambda v: -F.softplus(-v),
            conjugate=lambda t: -torch.log(-torch.expm1(t)),
            conjugate_of_activation=F.softplus,
            f=lambda u: torch.xlogy(u, u) - torch.xlogy(u + 1, u + 1),
        ),
    ]
}


def get_divergence(name: str) -> Divergence:
    if name not in DIVERGENCES:
        raise UnknownNameError("f-divergence", name, list(DIVERGENCES))
    return DIVERGENCES[name]


def variational_bound(div: Divergence, real: Tensor, fake: Tensor) -> Tensor:
    """F = E_P[g_f(V(x))] − E_Q[f*(g_f(V(x)))] over batches of critic outputs (Nowozin et al. 2016, eq. 6)."""
    return div.activation(real).mean() - div.conjugate_of_activation(fake).mean()


def fgan_d_loss(div: Divergence, real: Tensor, fake: Tensor) -> Tensor:
    """−F: the critic ascends F (Nowozin et al. 2016, Algorithm 1)."""
    return -variational_bound(div, real, fake)


def fgan_g_loss(div: Divergence, real: Tensor, fake: Tensor) -> Tensor:
    """−E_Q[f*(g_f(V(G(z))))]: the generator descends F, whose other term is free of θ (Nowozin et al. 2016, Alg. 1)."""
    return -div.conjugate_of_activation(fake).mean()


def fgan_alternative_g_loss(div: Divergence, real: Tensor, fake: Tensor) -> Tensor:
    """−E_Q[g_f(V(G(z)))], the non-saturating-style generator update (Nowozin et al. 2016, section 3.2)."""
    return -div.activation(fake).mean()
