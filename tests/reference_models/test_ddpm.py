"""The DDPM model: trained on a known distribution its samples have the data's moments, DDIM reads the same
network, guidance and likelihood are wired as the papers say, and bad configs are refused."""

from dataclasses import replace

import pytest
import torch

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from reference_models.diffusion.model import DDPM, DDPMConfig
from reference_models.diffusion.vlb import total_bits

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
        ({"vlb_timesteps": -1}, "-1 VLB timesteps for T = 100"),
        ({"vlb_timesteps": 101}, "101 VLB timesteps for T = 100"),
        ({"net": "unet", "learn_sigma": True}, "learn_sigma with loss='simple' leaves the variance untrained"),
        ({"net": "unet", "loss": "hybrid"}, "loss='hybrid' needs learn_sigma=True"),
        ({"learn_sigma": True, "loss": "hybrid"}, "the MLP net has no variance output"),
        ({"loss": "vlb"}, "unknown loss 'vlb'"),
        ({"vlb_weight": -0.1}, "vlb_weight -0.1"),
    ],
)
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(BenchboxError, match=message) as info:
        DDPM(replace(TOY, **changes), ModelContext((2,), CPU))
    assert "\n" not in str(info.value)


def test_likelihood_of_vectors_is_refused(trained):
    with pytest.raises(BenchboxError, match="no discrete likelihood"):
        trained.bits_per_dim(torch.zeros(2, 2), torch.Generator())


def test_respaced_ancestral_sampling_costs_K_calls_and_keeps_the_mixtures_moments(trained):
    fast = trained.sampling_variant(replace(TOY, sample_steps=25))
    assert fast.network_evaluations_per_sample == 25 and trained.network_evaluations_per_sample == 100
    mean, std, right = moments(fast.sample(4000, torch.Generator().manual_seed(5)))
    assert mean.abs().max().item() < 0.1 and right.item() == pytest.approx(0.5, abs=0.05)
    torch.testing.assert_close(std, torch.tensor([(1 + STD**2) ** 0.5, (0.25 + STD**2) ** 0.5]), rtol=0.15, atol=0)


@pytest.mark.parametrize(
    "changes", [{"sampler": "ddim", "sample_steps": 10, "eta": 0.5}, {"sample_steps": 7}, {"vlb_timesteps": 3}]
)
def test_a_sampling_variant_samples_like_a_fresh_model_loaded_with_the_same_weights(trained, changes):
    config = replace(TOY, **changes)
    variant = trained.sampling_variant(config)
    assert variant.net is trained.net and variant.ema is trained.ema and variant.schedule is trained.schedule
    assert variant.config == config and trained.config == TOY
    fresh = DDPM(config, ModelContext((2,), CPU))
    fresh.load_state_dict(trained.state_dict())
    g = torch.Generator
    assert torch.equal(variant.sample(300, g().manual_seed(6)), fresh.sample(300, g().manual_seed(6)))
    assert variant.network_evaluations_per_sample == fresh.network_evaluations_per_sample


@pytest.mark.parametrize("changes", [{"mlp_hidden": 32}, {"steps": 50}, {"lr": 1e-3}])
def test_a_sampling_variant_refuses_to_change_training_fields(trained, changes):
    name = next(iter(changes))
    with pytest.raises(BenchboxError, match=f"cannot change '{name}'"):
        trained.sampling_variant(replace(TOY, **changes))
    with pytest.raises(BenchboxError, match="sampling steps"):
        trained.sampling_variant(replace(TOY, sample_steps=101))


def test_a_sampling_variant_of_a_unet_refuses_another_width():
    model = DDPM(TINY, IMAGES)
    with pytest.raises(BenchboxError, match="cannot change 'base_channels' \\(16 → 32\\)"):
        model.sampling_variant(replace(TINY, base_channels=32))


IMAGES = ModelContext((1, 8, 8), CPU, num_classes=10)
TINY = DDPMConfig(
    steps=20, base_channels=16, channel_mults=(1, 2), attention_resolutions=(4,), norm_groups=8, batch_size=8
)


def test_guidance_scale_0_calls_only_the_unconditional_net_once():
    model = DDPM(replace(TINY, conditional=True, guidance_scale=0.0), IMAGES)
    for p in model.ema.module.parameters():
        p.data.normal_(0, 0.05)
    calls = []
    net = model.ema.module.eval()
    net.register_forward_hook(lambda module, args, out: calls.append(args[2].tolist()))
    x, t, labels = torch.randn(3, 1, 8, 8), torch.tensor([1, 5, 10]), torch.tensor([0, 3, 9])
    got = model.eps_model(labels)(x, t)
    assert calls == [[10, 10, 10]]  # one call, with the null label
    torch.testing.assert_close(got, net(x, t, torch.full_like(labels, 10)))
    assert model.network_evaluations_per_sample == 20


def images(n, seed):
    return (torch.randint(0, 256, (n, 1, 8, 8), generator=torch.Generator().manual_seed(seed)).float() / 127.5) - 1


def test_hybrid_training_with_learned_variances_logs_both_terms_and_samples():
    """Nichol & Dhariwal's L_simple + λ L_vlb on a tiny U-Net: finite losses, the logged parts add up, and the
    learned variance reaches ancestral sampling (also respaced) and the bound."""
    torch.manual_seed(0)
    config = replace(TINY, learn_sigma=True, loss="hybrid", vlb_weight=0.01)
    model = DDPM(config, ModelContext((1, 8, 8), CPU))
    logs = [model.train_step(images(8, 0)) for _ in range(3)]
    for log in logs:
        assert set(log) == {"loss", "l_simple", "l_vlb"} and all(torch.isfinite(torch.tensor(list(log.values()))))
        assert log["loss"] == pytest.approx(log["l_simple"] + 0.01 * log["l_vlb"], rel=1e-5)
    for variant in (model, model.sampling_variant(replace(config, sample_steps=5))):
        x = variant.sample(4, torch.Generator().manual_seed(1))
        assert x.shape == (4, 1, 8, 8) and torch.isfinite(x).all()
    bits = model.sampling_variant(replace(config, vlb_timesteps=4)).bits_per_dim(images(2, 1), torch.Generator())
    assert bits.shape == (2,) and torch.isfinite(bits).all() and (bits > 0).all()


def test_bits_per_dim_uses_the_learned_variance_and_the_stratified_estimate():
    """With the v channel's bias at 1 the bound is the fixed-β bound of the ε channel (vlb.total_bits by hand);
    vlb_timesteps = T reproduces all T terms with the same draws."""
    torch.manual_seed(0)
    config = replace(TINY, learn_sigma=True, loss="hybrid")
    model = DDPM(config, ModelContext((1, 8, 8), CPU))
    net = model.ema.module.eval()
    torch.nn.init.normal_(net.conv_out.weight, std=0.05)
    with torch.no_grad():
        net.conv_out.weight[1:] = 0
        net.conv_out.bias[1:] = 1.0
    x = images(3, 2)
    got = model.bits_per_dim(x, torch.Generator().manual_seed(3))
    eps_net = lambda xt, t: net(xt, t)[:, :1]  # noqa: E731
    want = total_bits(eps_net, model.schedule, x, torch.Generator().manual_seed(3), clip=True)  # the default
    torch.testing.assert_close(got, want)
    unclipped = model.sampling_variant(replace(config, clip_denoised=False))
    want = total_bits(eps_net, model.schedule, x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(unclipped.bits_per_dim(x, torch.Generator().manual_seed(3)), want)
    every = model.sampling_variant(replace(config, vlb_timesteps=20))
    assert torch.equal(every.bits_per_dim(x, torch.Generator().manual_seed(3)), got)
