"""The f-GAN table against closed-form divergences, numerical Legendre transforms, scipy's Lambert W and the paper's
formulas evaluated by hand."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq, minimize_scalar
from scipy.spatial.distance import jensenshannon
from scipy.special import lambertw, rel_entr

from benchbox.errors import UnknownNameError
from reference_models.gan.fgan import (
    DIVERGENCES,
    fgan_alternative_g_loss,
    get_divergence,
    lambert_w,
    wright_omega,
)
from reference_models.gan.losses import LOSSES, get_loss

NAMES = sorted(DIVERGENCES)
P = np.array([0.1, 0.2, 0.3, 0.4])  # two distributions on four points; no ratio p/q is 1, so T* of TV is ±½
Q = np.array([0.25, 0.35, 0.15, 0.25])


def js(p, q):
    return jensenshannon(p, q) ** 2  # scipy returns the square root of JS, in nats by default


CLOSED_FORM = {  # D_f(P‖Q) by its usual name, independent of the rows' f
    "tv": lambda p, q: 0.5 * np.abs(p - q).sum(),
    "kl": lambda p, q: rel_entr(p, q).sum(),
    "reverse_kl": lambda p, q: rel_entr(q, p).sum(),
    "pearson": lambda p, q: ((p - q) ** 2 / q).sum(),
    "neyman": lambda p, q: ((q - p) ** 2 / p).sum(),
    "hellinger": lambda p, q: ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(),
    "jeffrey": lambda p, q: rel_entr(p, q).sum() + rel_entr(q, p).sum(),
    "js": lambda p, q: 2 * js(p, q),  # the paper's f for JS has no ½: D_f = 2·JS
    "gan": lambda p, q: 2 * js(p, q) - math.log(4),
}

F_PRIME = {  # f'(u): the optimal critic is T*(x) = f'(p(x)/q(x)) (Nowozin et al. 2016, section 2.2)
    "tv": lambda u: 0.5 * np.sign(u - 1),
    "kl": lambda u: np.log(u) + 1,
    "reverse_kl": lambda u: -1 / u,
    "pearson": lambda u: 2 * (u - 1),
    "neyman": lambda u: 1 - 1 / u**2,
    "hellinger": lambda u: 1 - 1 / np.sqrt(u),
    "jeffrey": lambda u: np.log(u) + 1 - 1 / u,
    "js": lambda u: np.log(2 * u / (1 + u)),
    "gan": lambda u: np.log(u / (1 + u)),
}


def jeffrey_conjugate(t):
    w = lambertw(math.exp(1 - t)).real
    return w + 1 / w + t - 2


PAPER = {  # (g_f, f*) as printed in Table 2 of Nowozin et al. 2016, in plain math
    "tv": (lambda v: 0.5 * math.tanh(v), lambda t: t),
    "kl": (lambda v: v, lambda t: math.exp(t - 1)),
    "reverse_kl": (lambda v: -math.exp(-v), lambda t: -1 - math.log(-t)),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "neyman": (lambda v: 1 - math.exp(-v), lambda t: 2 - 2 * math.sqrt(1 - t)),
    "hellinger": (lambda v: 1 - math.exp(-v), lambda t: t / (1 - t)),
    "jeffrey": (lambda v: v, jeffrey_conjugate),
    "js": (lambda v: math.log(2) - math.log(1 + math.exp(-v)), lambda t: -math.log(2 - math.exp(t))),
    "gan": (lambda v: -math.log(1 + math.exp(-v)), lambda t: -math.log(1 - math.exp(t))),
}

DOMAIN = {  # dom f* from Table 2
    "tv": lambda t: abs(t) <= 0.5,
    "kl": lambda t: True,
    "reverse_kl": lambda t: t < 0,
    "pearson": lambda t: True,
    "neyman": lambda t: t < 1,
    "hellinger": lambda t: t < 1,
    "jeffrey": lambda t: True,
    "js": lambda t: t < math.log(2),
    "gan": lambda t: t < 0,
}

REAL = [0.5, -1.2, 2.0]
FAKE = [-0.3, 1.1]


def mean(xs):
    return sum(xs) / len(xs)


def t64(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def optimal_logits(name):
    """Critic outputs v with g_f(v) = f'(p/q), found by root finding on the row's activation."""
    div = DIVERGENCES[name]
    targets = F_PRIME[name](P / Q)
    if name == "tv":  # ½ tanh never reaches ±½; at |v| = 30 it does in float64
        return 30 * np.sign(targets)
    return np.array([brentq(lambda v, t=t: div.activation(t64(v)).item() - t, -50, 50, xtol=1e-14) for t in targets])


def exact_bound(name, v):
    """E_P[g_f(V)] − E_Q[f*(g_f(V))] as exact sums over the four points."""
    div, v = DIVERGENCES[name], t64(v)
    return float((t64(P) * div.activation(v)).sum() - (t64(Q) * div.conjugate_of_activation(v)).sum())


def test_table_has_every_divergence_of_table_2():
    assert set(DIVERGENCES) == set(CLOSED_FORM) == set(PAPER)


@pytest.mark.parametrize("name", NAMES)
def test_generator_function_gives_the_named_divergence(name):
    div = DIVERGENCES[name]
    by_f = float((t64(Q) * div.f(t64(P / Q))).sum())
    assert by_f == pytest.approx(CLOSED_FORM[name](P, Q), rel=1e-12)
    f_at_1 = -math.log(4) if name == "gan" else 0.0  # the paper's GAN row is 2·JS − log 4, so f(1) ≠ 0
    assert div.f(t64(1.0)).item() == pytest.approx(f_at_1, abs=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_optimal_critic_attains_the_divergence(name):
    v = optimal_logits(name)
    assert exact_bound(name, v) == pytest.approx(CLOSED_FORM[name](P, Q), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_any_other_critic_stays_below(name):
    """Fenchel–Young: t·u − f*(t) ≤ f(u), with equality only at t = f'(u)."""
    divergence = CLOSED_FORM[name](P, Q)
    perturbed = optimal_logits(name) + np.array([0.3, -0.4, 0.5, -0.2])
    if name == "tv":  # a perturbed saturated tanh is still optimal
        assert exact_bound(name, perturbed) <= divergence + 1e-12
    else:
        assert exact_bound(name, perturbed) < divergence - 1e-4
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert exact_bound(name, rng.normal(size=4)) < divergence - 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_conjugate_is_the_legendre_transform_of_f(name):
    """f*(t) = sup_{u>0} t·u − f(u), maximised numerically over log u, at points of the activation's range."""
    div = DIVERGENCES[name]
    for v in (-1.5, -0.4, 0.3, 1.2):  # Pearson's t = v stays above −2, where its sup over u > 0 is interior
        t = div.activation(t64(v)).item()

        def negative(s, t=t):
            u = math.exp(s)
            return -(t * u - div.f(t64(u)).item())

        result = minimize_scalar(negative, bounds=(-20, 20), method="bounded", options={"xatol": 1e-11})
        assert div.conjugate(t64(t)).item() == pytest.approx(-result.fun, rel=1e-8, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_stable_composition_equals_conjugate_of_activation(name):
    div = DIVERGENCES[name]
    v = torch.linspace(-5, 5, 41, dtype=torch.float64)
    t = div.activation(v)
    assert all(DOMAIN[name](x) for x in t.tolist())
    torch.testing.assert_close(div.conjugate_of_activation(v), div.conjugate(t), rtol=1e-10, atol=1e-12)
    for dtype in (torch.float32, torch.float64):
        wide = torch.linspace(-30, 30, 61, dtype=dtype)
        assert torch.isfinite(div.conjugate_of_activation(wide)).all()
        assert torch.isfinite(div.activation(wide)).all()


@pytest.mark.parametrize("name", NAMES)
def test_registered_row_is_minus_the_bound_by_hand(name):
    g_f, conjugate = PAPER[name]
    bound = mean([g_f(r) for r in REAL]) - mean([conjugate(g_f(f)) for f in FAKE])
    loss = get_loss(f"fgan_{name}")
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    assert loss.d(real, fake).item() == pytest.approx(-bound, rel=1e-10)
    assert loss.g(real, fake).item() == pytest.approx(-mean([conjugate(g_f(f)) for f in FAKE]), rel=1e-10)
    assert fgan_alternative_g_loss(DIVERGENCES[name], real, fake).item() == pytest.approx(
        -mean([g_f(f) for f in FAKE]), rel=1e-10
    )
    alt = get_loss(f"fgan_{name}_alt")  # the experiments' generator update, with the same critic loss
    assert alt.d(real, fake).item() == pytest.approx(-bound, rel=1e-10)
    assert alt.g(real, fake).item() == pytest.approx(-mean([g_f(f) for f in FAKE]), rel=1e-10)


def test_every_fgan_row_is_registered():
    rows = {f"fgan_{name}{suffix}" for name in DIVERGENCES for suffix in ("", "_alt")}
    assert {name for name in LOSSES if name.startswith("fgan_")} == rows


def test_gan_row_is_the_original_gan():
    """g_f(v) = log σ(v) and f*(g_f(v)) = softplus(v): −F is the BCE loss, descending F is the minimax generator."""
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    assert get_loss("fgan_gan").d(real, fake).item() == pytest.approx(get_loss("minimax").d(real, fake).item())
    assert get_loss("fgan_gan").g(real, fake).item() == pytest.approx(get_loss("minimax").g(real, fake).item())
    alternative = fgan_alternative_g_loss(DIVERGENCES["gan"], real, fake).item()
    assert alternative == pytest.approx(get_loss("non_saturating").g(real, fake).item())


def test_lambert_w_matches_scipy():
    z = np.concatenate([np.logspace(-300, 300, 601), [1e-320, 0.5, 1.0, math.e, 10.0]])
    assert lambert_w(t64(z)).numpy() == pytest.approx(lambertw(z).real, rel=1e-12)


def test_wright_omega_has_the_right_gradient():
    """ω'(x) = ω/(1 + ω), including the far tail where ω = eˣ."""
    x = torch.tensor([-60.0, -40.5, -39.5, -3.0, 0.0, 1.0, 2.5, 40.0], dtype=torch.float64, requires_grad=True)
    w = wright_omega(x)
    (grad,) = torch.autograd.grad(w.sum(), x)
    torch.testing.assert_close(grad, (w / (1 + w)).detach(), rtol=1e-12, atol=0)


def test_unknown_divergence_names_the_known_ones():
    with pytest.raises(UnknownNameError, match="reverse_kl"):
        get_divergence("renyi")
    assert get_divergence("kl") is DIVERGENCES["kl"]


@pytest.mark.parametrize("name", ["js", "gan"])
def test_js_and_gan_rows_train_exactly_as_the_non_saturating_gan(name):
    """g_f(v) = log 2 + log σ(v) (JS) or log σ(v) (GAN) and f*(g_f(v)) = −log 2 − log(1 − σ(v)) or −log(1 − σ(v)):
    both critic losses are the BCE loss plus a constant, and the section 3.2 generator loss is the non-saturating one
    plus a constant, so their gradients are the NS GAN's (the fashion-mnist suite's identical fgan-js, fgan-gan and
    dcgan rows follow from this)."""
    real = torch.tensor(REAL, dtype=torch.float64, requires_grad=True)
    fake = torch.tensor(FAKE, dtype=torch.float64, requires_grad=True)
    row, ns = get_loss(f"fgan_{name}_alt"), get_loss("non_saturating")
    for pick in (lambda loss: loss.d(real, fake), lambda loss: loss.g(real, fake)):
        ours = torch.autograd.grad(pick(row), (real, fake), allow_unused=True)
        theirs = torch.autograd.grad(pick(ns), (real, fake), allow_unused=True)
        for a, b in zip(ours, theirs, strict=True):
            assert (a is None and b is None) or torch.allclose(a, b, rtol=1e-12, atol=1e-15)
    offset = math.log(4) if name == "js" else 0.0
    assert row.d(real, fake).item() == pytest.approx(ns.d(real, fake).item() - offset, rel=1e-12)
