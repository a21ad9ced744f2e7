"""The VAE: its ELBO terms against closed forms, the IWAE estimate against the exact marginal of a linear-Gaussian
model (scipy), the bound's ordering ELBO ≤ IWAE_1 ≤ IWAE_10 ≤ IWAE_100 on a trained model, bits/dim by hand,
training, sampling and the data checks."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp
from torch.distributions import Normal, kl_divergence

from benchbox.errors import BenchboxError
from benchbox.model import Model, ModelContext
from benchbox.registry import MODELS
from reference_models.vae import VAE, VAEConfig, check_config, elbo_terms, iwae_log_likelihood

CPU = torch.device("cpu")
SMALL = VAEConfig(latent_dim=8, base_width=8, batch_size=64, lr=5e-3, iw_samples=50)
TEMPLATES = (torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(123)) > 0.6).float()


def digits(n, seed):
    """Digits-like 8×8 images: one of 10 fixed binary strokes at a random brightness plus faint noise, 8-bit."""
    g = torch.Generator().manual_seed(seed)
    strokes = TEMPLATES[torch.randint(0, 10, (n,), generator=g)]
    img = strokes * torch.empty(n, 1, 1, 1).uniform_(0.6, 1.0, generator=g) + 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    return (img.clamp(0, 1) * 255).round() / 127.5 - 1


def make(config=SMALL, shape=(1, 8, 8), seed=0):
    torch.manual_seed(seed)
    return VAE(config, ModelContext(shape, CPU))


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def trained():
    """A Gaussian-decoder VAE trained until its posterior carries information (KL of several nats)."""
    model = make(replace(SMALL, decoder="gaussian"))
    for step in range(300):
        logs = model.train_step(digits(64, seed=step))
    assert logs["kl"] > 3
    return model


def test_elbo_terms_kl_is_the_diagonal_gaussian_closed_form():
    mean = torch.randn(5, 4, generator=gen(0), dtype=torch.float64)
    log_var = torch.randn(5, 4, generator=gen(1), dtype=torch.float64)
    log_px = torch.randn(5, 1, 3, 3, generator=gen(2), dtype=torch.float64)
    rec, kl = elbo_terms(log_px, mean, log_var)
    var = log_var.exp()
    by_hand = 0.5 * (var + mean**2 - 1 - log_var).sum(1)
    by_torch = kl_divergence(Normal(mean, var.sqrt()), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(kl, by_hand, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(kl, by_torch, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(rec, log_px.reshape(5, -1).sum(1))


def test_iwae_is_log_mean_exp_and_k1_is_the_weight_itself():
    log_w = torch.randn(6, 40, generator=gen(3), dtype=torch.float64) * 5 - 300  # far below exp's range
    by_scipy = logsumexp(log_w.numpy(), axis=1) - math.log(40)
    np.testing.assert_allclose(iwae_log_likelihood(log_w).numpy(), by_scipy, rtol=1e-13)
    torch.testing.assert_close(iwae_log_likelihood(log_w[:, :1]), log_w[:, 0])
    assert bool((iwae_log_likelihood(log_w) >= log_w.mean(1)).all())  # Jensen, for the very same samples
    with pytest.raises(BenchboxError, match="importance weights"):
        iwae_log_likelihood(torch.zeros(3, 0))


def log_normal(v, mean, var):
    return Normal(mean, var.sqrt()).log_prob(v).sum(-1)


def test_iwae_recovers_the_exact_marginal_of_a_linear_gaussian_model():
    """p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I), so p(x) = N(b, WWᵀ + σ²I). q(z|x) is diagonal, shifted by 0.3 and
    twice as wide as the true posterior: the ELBO misses by over a nat, 5000 importance samples by < 0.05."""
    g = gen(0)
    dz, dx, s2, n, k = 2, 6, 0.5, 8, 5000
    w = torch.randn(dx, dz, generator=g, dtype=torch.float64)
    b = torch.randn(dx, generator=g, dtype=torch.float64)
    cov = w @ w.T + s2 * torch.eye(dx, dtype=torch.float64)
    x = b + torch.randn(n, dx, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    exact = stats.multivariate_normal(b.numpy(), cov.numpy()).logpdf(x.numpy())
    post_cov = torch.linalg.inv(torch.eye(dz, dtype=torch.float64) + w.T @ w / s2)
    q_mean = (x - b) @ w @ post_cov.T / s2 + 0.3
    q_log_var = torch.log(2 * torch.diag(post_cov)).expand(n, dz)
    z = q_mean[:, None] + (0.5 * q_log_var).exp()[:, None] * torch.randn(n, k, dz, generator=g, dtype=torch.float64)
    log_px_given_z = log_normal(x[:, None], z @ w.T + b, torch.full((dx,), s2, dtype=torch.float64))
    log_pz = log_normal(z, torch.zeros(dz, dtype=torch.float64), torch.ones(dz, dtype=torch.float64))
    log_qz = log_normal(z, q_mean[:, None], q_log_var.exp()[:, None])
    iwae = iwae_log_likelihood(log_px_given_z + log_pz - log_qz).numpy()
    rec, kl = elbo_terms(log_px_given_z.mean(1), q_mean, q_log_var)
    elbo = (rec - kl).numpy()
    np.testing.assert_allclose(iwae, exact, atol=0.05, rtol=0)
    assert bool((exact - elbo > 1.0).all())


def test_k1_importance_weights_average_to_the_elbo(trained):
    """With the same z draws, mean_k log w_k − ELBO = mean_k (log p(z_k) − log q(z_k|x)) + KL: Monte Carlo error
    only, within 5 standard errors (bounded above by std(log w)/√k, as log p(x|z_k) is common to both)."""
    x, k = digits(16, seed=1000), 2000
    log_w = trained.log_importance_weights(x, gen(5), k)
    elbo = trained.elbo(x, gen(5), samples=k)
    standard_error = log_w.std(1) / math.sqrt(k)
    assert bool(((log_w.mean(1) - elbo).abs() < 5 * standard_error).all())


def test_iwae_bounds_tighten_with_k(trained):
    x = digits(128, seed=2000)
    elbo = trained.elbo(x, gen(1), samples=100).mean()
    ll = {k: trained.log_likelihood(x, gen(10 + k), k=k).mean() for k in (1, 10, 100)}
    assert float(elbo) == pytest.approx(float(ll[1]), abs=0.5)  # IWAE with K = 1 is an ELBO sample
    assert ll[1] < ll[10] < ll[100]
    assert float(ll[10] - ll[1]) > 0.5  # a posterior several nats from the prior leaves a visible gap


@pytest.mark.parametrize("decoder", ["logistic", "gaussian"])
def test_bits_per_dim_is_nats_over_d_ln2(decoder):
    model = make(replace(SMALL, decoder=decoder))
    x = digits(10, seed=3)
    nats = model.log_likelihood(x, gen(4), k=20)
    bpd = model.bits_per_dim(x, gen(4), k=20)
    torch.testing.assert_close(bpd, -nats / (64 * math.log(2)), rtol=1e-12, atol=0)
    assert bpd.shape == (10,) and bool((bpd > 0).all())  # a probability mass: −log P ≥ 0
    assert model.bits_per_dim(x, gen(4)).shape == (10,)  # the default K = iw_samples


@pytest.mark.parametrize("decoder", ["bernoulli", "logistic", "gaussian"])
def test_training_is_finite_and_lowers_the_loss(decoder):
    model = make(replace(SMALL, decoder=decoder, lr=1e-2))  # a discretized decoder's log-scales start at ~0
    logs = [model.train_step(digits(64, seed=step)) for step in range(100)]
    assert all(math.isfinite(v) for log in logs for v in log.values())
    assert set(logs[0]) >= {"loss", "reconstruction", "kl"}
    for log in logs:
        assert log["loss"] == pytest.approx(log["reconstruction"] + SMALL.beta * log["kl"], rel=1e-5)
    first, last = (np.mean([log["loss"] for log in part]) for part in (logs[:5], logs[-5:]))
    assert last < 0.95 * first


def test_beta_weights_the_kl_in_the_loss():
    logs = make(replace(SMALL, beta=4.0)).train_step(digits(64, seed=0))
    assert logs["loss"] == pytest.approx(logs["reconstruction"] + 4.0 * logs["kl"], rel=1e-5)


@pytest.mark.parametrize("decoder", ["bernoulli", "logistic", "gaussian"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_samples_and_reconstructions(decoder, shape):
    model = make(replace(SMALL, decoder=decoder), shape=shape)
    assert isinstance(model, Model)
    x = torch.rand(3, *shape, generator=gen(0)) * 2 - 1
    rec = model.reconstruct(x)
    assert rec.shape == x.shape and float(rec.abs().max()) <= 1
    s = model.sample(6, gen(1))
    assert s.shape == (6, *shape) and float(s.abs().max()) <= 1
    assert torch.equal(s, model.sample(6, gen(1)))
    drawn = replace(SMALL, decoder=decoder, sample_pixels=True)
    pixels = make(drawn, shape=shape).sample(6, gen(2))
    levels = 2 if decoder == "bernoulli" else 256  # {-1, 1}, or the 8-bit grid
    units = (pixels.double() + 1) * (levels - 1) / 2
    assert (
        pixels.shape == (6, *shape)
        and bool(((units - units.round()).abs() < 1e-4).all())
        and float(pixels.abs().max()) <= 1
    )


def test_state_round_trip_gives_the_same_samples():
    model = make()
    model.train_step(digits(64, seed=0))
    other = make(seed=1)
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other.sample(5, gen(0)), model.sample(5, gen(0)))


@pytest.mark.parametrize("change", [{"decoder": "poisson"}, {"beta": -0.1}, {"iw_samples": 0}, {"latent_dim": 0}])
def test_bad_configs_are_refused(change):
    config = replace(SMALL, **change)
    with pytest.raises(BenchboxError, match="VAE config"):
        check_config(config)
    with pytest.raises(BenchboxError):
        MODELS.get_or_fail("vae").check(config)
    with pytest.raises(BenchboxError):
        VAE(config, ModelContext((1, 8, 8), CPU))
    with pytest.raises(BenchboxError, match="at least 1"):
        make().log_likelihood(digits(2, 0), gen(0), k=0)


@pytest.mark.parametrize("decoder", ["logistic", "gaussian"])
def test_discretized_likelihoods_refuse_pixels_off_the_grid(decoder):
    model = make(replace(SMALL, decoder=decoder))
    off_grid = digits(4, seed=0) * 0.999
    with pytest.raises(BenchboxError, match="256-level grid"):
        model.bits_per_dim(off_grid, gen(0))
    with pytest.raises(BenchboxError, match="outside"):
        model.bits_per_dim(digits(4, seed=0) * 127.5 + 127.5, gen(0))  # 0..255 values


def test_bernoulli_likelihood_needs_binary_images():
    model = make(replace(SMALL, decoder="bernoulli"))
    grey = digits(4, seed=0)
    with pytest.raises(BenchboxError, match="binary"):
        model.bits_per_dim(grey, gen(0))
    assert model.elbo(grey).shape == (4,)  # the training objective is still defined on grey levels
    binary = torch.where(grey > 0, 1.0, -1.0)
    bpd = model.bits_per_dim(binary, gen(0), k=10)
    assert bpd.shape == (4,) and bool((bpd > 0).all())
