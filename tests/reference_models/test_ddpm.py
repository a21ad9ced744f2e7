"""The DDPM model: trained on a known distribution its samples have the data's moments, DDIM reads the same
network, guidance and likelihood are wired as the papers say, and bad configs are refused."""

from dataclasses import replace

import pytest
import torch

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from reference_models.diffusion.model import DDPM, DDPMConfig

CPU = torch.device("cpu")
MEANS = torch.tensor([[-1.0, 0.5], [1.0, -0.5]])  # a two-component mixture in 2-D, std 0.2, equal weights
STD = 0.2
TOY = DDPMConfig(steps=100, net="mlp", mlp_hidden=64, batch_size=256, lr=2e-3, warmup=50, ema_decay=0.99)


def mixture(n, generator):
    component = torch.randint(0, 2, (n,), generator=generator)
    return MEANS[component] + STD * torch.randn(n, 2, generator=generator)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = DDPM(TOY, ModelContext((2,), CPU))
    g = torch.Generator().manual_seed(1)
    for _ in range(600):
        model.train_step(mixture(TOY.batch_size, g))
    return model


def moments(x):
    return x.mean(0), x.std(0), (x[:, 0] > 0).float().mean()


def test_trained_samples_have_the_mixtures_moments(trained):
    """Mixture moments: mean (0, 0); per-axis std √(1 + 0.2²) = 1.0198 and √(0.25 + 0.04) = 0.5385; half the
    mass on each side of x = 0."""
    x = trained.sample(4000, torch.Generator().manual_seed(2))
    mean, std, right = moments(x)
    assert mean.abs().max().item() < 0.1
    torch.testing.assert_close(std, torch.tensor([(1 + STD**2) ** 0.5, (0.25 + STD**2) ** 0.5]), rtol=0.1, atol=0)
    assert right.item() == pytest.approx(0.5, abs=0.05)


def test_ddim_from_the_same_network_gives_the_same_distribution(trained):
    ddpm_moments = moments(trained.sample(4000, torch.Generator().manual_seed(3)))
    ddim = DDPM(replace(TOY, sampler="ddim", sample_steps=100, eta=1.0), ModelContext((2,), CPU))
    ddim.load_state_dict(trained.state_dict())
    ddim_moments = moments(ddim.sample(4000, torch.Generator().manual_seed(3)))
    for a, b in zip(ddpm_moments, ddim_moments, strict=True):
        torch.testing.assert_close(a, b, rtol=0.1, atol=0.05)
    assert ddim.network_evaluations_per_sample == 100
    fast = DDPM(replace(TOY, sampler="ddim", sample_steps=10), ModelContext((2,), CPU))
    assert fast.network_evaluations_per_sample == 10


def test_sampling_is_deterministic_given_the_generator(trained):
    a = trained.sample(50, torch.Generator().manual_seed(4))
    assert torch.equal(a, trained.sample(50, torch.Generator().manual_seed(4)))


def test_guidance_scale_1_uses_only_the_conditional_prediction_and_costs_one_call():
    ctx = ModelContext((1, 8, 8), CPU, num_classes=10)
    small = DDPMConfig(steps=10, base_channels=16, channel_mults=(1, 2), attention_resolutions=(4,), norm_groups=8)
    model = DDPM(replace(small, conditional=True), ctx)
    for p in model.ema.module.parameters():  # leave the zero init so the label matters
        p.data.normal_(0, 0.05)
    x, t, labels = torch.randn(3, 1, 8, 8), torch.tensor([1, 5, 10]), torch.tensor([0, 3, 9])
    net = model.ema.module.eval()
    torch.testing.assert_close(model.eps_model(labels)(x, t), net(x, t, labels))
    assert model.network_evaluations_per_sample == 10
    guided = DDPM(replace(small, conditional=True, guidance_scale=3.0), ctx)
    guided.ema.module.load_state_dict(model.ema.module.state_dict())
    null = torch.full_like(labels, 10)
    want = net(x, t, null) + 3.0 * (net(x, t, labels) - net(x, t, null))
    torch.testing.assert_close(guided.eps_model(labels)(x, t), want)
    assert guided.network_evaluations_per_sample == 20


def test_unet_ddpm_trains_on_images_samples_them_and_gives_bits_per_dim():
    ctx = ModelContext((1, 8, 8), CPU, num_classes=10)
    config = DDPMConfig(
        steps=20, base_channels=16, channel_mults=(1, 2), attention_resolutions=(4,), norm_groups=8, batch_size=8
    )
    model = DDPM(replace(config, conditional=True), ctx)
    g = torch.Generator().manual_seed(0)
    images = (torch.randint(0, 256, (8, 1, 8, 8), generator=g).float() / 127.5) - 1
    losses = [model.train_step((images, torch.arange(8) % 10))["loss"] for _ in range(3)]
    assert all(torch.isfinite(torch.tensor(losses)))
    samples, labels = model.sample_labeled(4, torch.Generator().manual_seed(1))
    assert samples.shape == (4, 1, 8, 8) and torch.isfinite(samples).all() and labels.tolist() == [0, 1, 2, 3]
    bits = model.bits_per_dim(images[:2], torch.Generator().manual_seed(2))
    assert bits.shape == (2,) and torch.isfinite(bits).all() and (bits > 0).all()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"steps": 0}, "T >= 1"),
        ({"sample_steps": 101}, "101 sampling steps for T = 100"),
        ({"guidance_scale": float("nan")}, "not finite"),
        ({"schedule": "sigmoid"}, "unknown schedule"),
    ],
)
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(BenchboxError, match=message):
        DDPM(replace(TOY, **changes), ModelContext((2,), CPU))


def test_likelihood_of_vectors_is_refused(trained):
    with pytest.raises(BenchboxError, match="no discrete likelihood"):
        trained.bits_per_dim(torch.zeros(2, 2), torch.Generator())
