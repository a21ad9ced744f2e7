"""The autoencoder: sparsity penalties against hand computations and scipy, shapes for every supported image size,
overfitting one batch, sparse codes moving toward their targets, the fitted code Gaussian against numpy's
moments, deterministic sampling, and bad configs refused."""

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.special import rel_entr

from benchbox.errors import BenchboxError
from benchbox.model import Model, ModelContext
from benchbox.registry import MODELS
from reference_models.ae import AEConfig, AutoEncoder, check_config, kl_sparsity, l1_sparsity

CPU = torch.device("cpu")
SMALL = AEConfig(latent_dim=16, base_width=16, batch_size=16, lr=2e-3)


def grid_images(n, channels, size, seed=0):
    """Uniformly random 8-bit images scaled to [-1, 1] with x/127.5 - 1."""
    levels = torch.randint(0, 256, (n, channels, size, size), generator=torch.Generator().manual_seed(seed))
    return levels.float() / 127.5 - 1


def make(config=SMALL, shape=(1, 8, 8), seed=0):
    torch.manual_seed(seed)
    return AutoEncoder(config, ModelContext(shape, CPU))


def test_l1_sparsity_by_hand():
    codes = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, -3.0]])
    torch.testing.assert_close(l1_sparsity(codes), torch.tensor([3.5, 3.0]))


def test_kl_sparsity_against_hand_formula_and_scipy():
    rho, rho_hat = 0.1, torch.tensor([0.2, 0.5, 0.05], dtype=torch.float64)
    by_hand = sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r)) for r in [0.2, 0.5, 0.05])
    r = rho_hat.numpy()
    by_scipy = float(np.sum(rel_entr(rho, r) + rel_entr(1 - rho, 1 - r)))  # Σ_j KL(Bernoulli(ρ) ‖ Bernoulli(ρ̂_j))
    got = float(kl_sparsity(rho, rho_hat))
    assert got == pytest.approx(by_hand, rel=1e-12)
    assert got == pytest.approx(by_scipy, rel=1e-12)


def test_kl_sparsity_is_zero_at_the_target_and_positive_elsewhere():
    assert float(kl_sparsity(0.05, torch.full((7,), 0.05, dtype=torch.float64))) == pytest.approx(0.0, abs=1e-15)
    assert float(kl_sparsity(0.05, torch.tensor([0.05, 0.06]))) > 0
    assert math.isfinite(float(kl_sparsity(0.05, torch.tensor([0.0, 1.0]))))  # saturated units stay finite
    with pytest.raises(BenchboxError, match="outside"):
        kl_sparsity(1.0, torch.tensor([0.5]))


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_shapes_for_every_supported_size(shape):
    model = make(shape=shape)
    x = grid_images(4, *shape[:2])
    assert isinstance(model, Model)
    assert model.encode(x).shape == (4, SMALL.latent_dim)
    logs = model.train_step(x)
    assert set(logs) >= {"loss", "reconstruction", "sparsity"} and all(math.isfinite(v) for v in logs.values())
    assert model.reconstruct(x).shape == x.shape
    assert model.sample(5, torch.Generator().manual_seed(0)).shape == (5, *shape)


def test_overfits_one_batch():
    model = make()
    x = grid_images(16, 1, 8)
    first = model.train_step(x)["reconstruction"]
    for _ in range(49):
        last = model.train_step(x)["reconstruction"]
    assert last < 0.5 * first


def test_kl_sparsity_pulls_mean_activations_toward_the_target():
    config = replace(SMALL, sparsity="kl", sparsity_weight=0.1, sparsity_target=0.05)
    model = make(config)
    x = grid_images(16, 1, 8)
    first = model.train_step(x)["mean_activation"]
    for _ in range(60):
        logs = model.train_step(x)
    rho_hat = model.encode(x).detach().mean(dim=0)
    assert abs(first - 0.05) > 0.3  # sigmoid units start near 0.5
    assert abs(logs["mean_activation"] - 0.05) < 0.5 * abs(first - 0.05)
    assert float(rho_hat.max()) < 0.5


def test_l1_sparsity_shrinks_the_codes():
    x = grid_images(16, 1, 8)
    plain, sparse = make(), make(replace(SMALL, sparsity="l1", sparsity_weight=0.01))  # same initial weights
    for _ in range(60):
        plain.train_step(x)
        sparse.train_step(x)
    assert float(sparse.encode(x).detach().abs().mean()) < 0.5 * float(plain.encode(x).detach().abs().mean())


def test_reconstructions_lie_in_the_image_range():
    model = make()
    out = model.reconstruct(grid_images(8, 1, 8))
    assert float(out.min()) >= -1 and float(out.max()) <= 1


def test_code_gaussian_is_the_moments_of_the_training_codes():
    """With decay d the fit is m = d·m1 + (1 − d)·m2 and likewise E[hhᵀ]; the first batch replaces N(0, I)."""
    model = make(replace(SMALL, code_stats_decay=0.75))
    x1, x2 = grid_images(16, 1, 8, seed=1), grid_images(16, 1, 8, seed=2)
    before = copy.deepcopy(model.encoder)
    h1 = before(x1).detach().double().numpy()
    model.train_step(x1)
    h2 = model.encoder(x2).detach().double().numpy()
    model.train_step(x2)
    mean = 0.75 * h1.mean(0) + 0.25 * h2.mean(0)
    second = 0.75 * (h1.T @ h1) / 16 + 0.25 * (h2.T @ h2) / 16
    np.testing.assert_allclose(model.code_mean.numpy(), mean, atol=1e-5)
    np.testing.assert_allclose(model.code_covariance().numpy(), second - np.outer(mean, mean), atol=1e-5)
    one = make()
    one.train_step(x1)  # a single batch: the biased sample covariance of its codes
    np.testing.assert_allclose(one.code_covariance().numpy(), np.cov(h1.T, bias=True), atol=1e-5)


def test_samples_are_deterministic_in_range_and_survive_a_state_round_trip():
    model = make()
    for seed in range(3):
        model.train_step(grid_images(16, 1, 8, seed=seed))
    a = model.sample(20, torch.Generator().manual_seed(7))
    assert a.shape == (20, 1, 8, 8) and float(a.abs().max()) <= 1
    assert torch.equal(a, model.sample(20, torch.Generator().manual_seed(7)))
    assert not torch.equal(a, model.sample(20, torch.Generator().manual_seed(8)))
    copy_ = make(seed=1)
    copy_.load_state_dict(model.state_dict())
    assert torch.equal(a, copy_.sample(20, torch.Generator().manual_seed(7)))


@pytest.mark.parametrize(
    "change",
    [
        {"sparsity": "l2"},
        {"sparsity_target": 0.0},
        {"sparsity_target": 1.0},
        {"sparsity_weight": -1.0},
        {"latent_dim": 0},
        {"lr": 0.0},
        {"code_stats_decay": 1.0},
    ],
)
def test_bad_configs_are_refused(change):
    config = replace(SMALL, **change)
    with pytest.raises(BenchboxError, match="AE config"):
        check_config(config)
    with pytest.raises(BenchboxError):
        MODELS.get_or_fail("ae").check(config)
    with pytest.raises(BenchboxError):
        AutoEncoder(config, ModelContext((1, 8, 8), CPU))


def test_non_image_and_unsupported_shapes_are_refused():
    with pytest.raises(BenchboxError, match="square"):
        AutoEncoder(SMALL, ModelContext((2,), CPU))
    with pytest.raises(BenchboxError, match="16×16"):
        AutoEncoder(SMALL, ModelContext((1, 16, 16), CPU))
    with pytest.raises(BenchboxError, match="shape"):
        make().train_step(grid_images(4, 3, 8))
