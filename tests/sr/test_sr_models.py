"""The SR reference models: SRResNet passes bicubic on PSNR after the smoke budget's real training on Fashion-MNIST
×2; SRGAN and the SR3-style diffusion train and upscale to the right size; checkpoints resume exactly."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from benchbox.data.fashion_mnist import DEBIAN_FOLDER
from benchbox.data.images import to_uint8
from benchbox.errors import BenchboxError
from benchbox.metrics.super_resolution import sr_fidelity
from benchbox.model import ModelContext
from benchbox.runner.cells import build_model
from benchbox.sr.degrade import to_unit
from benchmarks.sr import CIFAR10_SUITE, SUITE
from reference_models.diffusion.unet import UNet, UNetConfig
from reference_models.sr.sr3 import SR3, SR3Config
from reference_models.sr.srgan import SRGAN, SRGANConfig

CPU = torch.device("cpu")
SMOKE = SUITE.budget("smoke")
TASK = SUITE.tasks[0]


def stand_in_features(network: str) -> nn.Module:
    """A frozen random conv layer in place of the domain classifier's trunk (which needs its training)."""
    torch.manual_seed(123)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())


CTX = ModelContext((1, 28, 28), CPU, 0, upscale_factor=2, perceptual=stand_in_features)


def smoke_model(name: str):
    entry = next(m for m in SUITE.models if m.name == name)
    return build_model(entry, entry.budget_for(SMOKE), CTX)


def random_pairs(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    hr = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
    return torch.nn.functional.avg_pool2d(hr, 2), hr


@pytest.mark.skipif(not (DEBIAN_FOLDER / "train-images-idx3-ubyte.gz").is_file(), reason="needs Fashion-MNIST")
def test_srresnet_beats_bicubic_on_the_smoke_budget():
    torch.manual_seed(0)
    models = {name: smoke_model(name) for name in ("bicubic", "srresnet")}
    stream = TASK.stream(0, CPU)
    for _ in range(SMOKE.steps):
        models["srresnet"].train_step(stream.next(models["srresnet"].examples_per_step))
    lr, hr = TASK.test_pairs(SMOKE.n_eval)
    psnr = {}
    for name, model in models.items():
        out = to_uint8(model.upscale(to_unit(lr), torch.Generator().manual_seed(0)), clamps=True)
        psnr[name] = sr_fidelity(out, hr, SUITE.evaluation.fidelity)["sr_psnr"]
    assert psnr["srresnet"] > psnr["bicubic"] + 0.3, psnr


@pytest.mark.parametrize("name", ["srgan", "sr3"])
def test_the_other_models_train_and_upscale_to_the_right_size(name):
    torch.manual_seed(0)
    model = smoke_model(name)
    logs = [model.train_step(random_pairs(model.examples_per_step, s)) for s in range(4)]
    assert all(torch.isfinite(torch.tensor(list(log.values()))).all() for log in logs)
    out = model.upscale(random_pairs(3, 9)[0], torch.Generator().manual_seed(0))
    assert out.shape == (3, 1, 28, 28) and out.dtype == torch.float32


def test_srgan_trains_on_mse_first_then_adds_its_adversary():
    config = SRGANConfig(width=8, blocks=1, content="features", adversarial_weight=1e-3, pretrain_steps=2, d_width=4)
    model = SRGAN(config, CTX)
    keys = [set(model.train_step(random_pairs(4, s))) for s in range(4)]
    assert keys == [{"content"}, {"content"}, {"content", "d_loss", "g_adv"}, {"content", "d_loss", "g_adv"}]


@pytest.mark.parametrize(
    "make",
    [
        lambda: SRGAN(SRGANConfig(width=8, blocks=1, adversarial_weight=1e-3, pretrain_steps=1, d_width=4), CTX),
        lambda: SR3(SR3Config(base_channels=8, channel_mults=(1, 2), num_res_blocks=1, norm_groups=8), CTX),
    ],
)
def test_a_checkpoint_resumes_exactly(make):
    torch.manual_seed(0)
    straight = make()
    for s in range(4):
        straight.train_step(random_pairs(4, s))
    torch.manual_seed(0)
    first = make()
    for s in range(2):
        first.train_step(random_pairs(4, s))
    state, rng = first.state_dict(), torch.get_rng_state()
    resumed = make()
    resumed.load_state_dict(state)
    torch.set_rng_state(rng)
    for s in range(2, 4):
        resumed.train_step(random_pairs(4, s))
    lr = random_pairs(2, 7)[0]
    a = straight.upscale(lr, torch.Generator().manual_seed(1))
    b = resumed.upscale(lr, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_misuse_is_refused_in_one_line():
    with pytest.raises(BenchboxError, match="unpaired"):
        smoke_model("srresnet").train_step(torch.zeros(4, 1, 28, 28))
    with pytest.raises(BenchboxError, match="no upscaling factor"):
        SRGAN(SRGANConfig(), ModelContext((1, 28, 28), CPU))
    with pytest.raises(BenchboxError, match="perceptual"):
        SRGAN(SRGANConfig(content="features"), ModelContext((1, 28, 28), CPU, 0, 2))
    with pytest.raises(BenchboxError, match="2, 4 or 8"):
        SRGAN(SRGANConfig(), ModelContext((1, 27, 27), CPU, 0, 3))
    shape = {"image_size": 28, "in_channels": 1, "base_channels": 8, "channel_mults": (1, 2), "norm_groups": 8}
    net = UNet(UNetConfig(**shape, attention_resolutions=(), cond_channels=1))
    with pytest.raises(BenchboxError, match="conditioning image"):
        net(torch.zeros(2, 1, 28, 28), torch.ones(2, dtype=torch.long))


@pytest.mark.parametrize("name", ["bicubic", "srresnet", "srgan", "sr3"])
def test_every_model_builds_for_cifar10_at_x4(name):
    """sr-cifar10's task: RGB 32×32 from 8×8 (two sub-pixel ×2 stages for SRResNet, a 32-pixel U-Net for SR3)."""
    entry = next(m for m in CIFAR10_SUITE.models if m.name == name)
    ctx = ModelContext((3, 32, 32), CPU, 0, upscale_factor=4, perceptual=lambda network: nn.Conv2d(3, 4, 3, padding=1))
    model = build_model(entry, entry.budget_for(CIFAR10_SUITE.budget("smoke")), ctx)
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    model.train_step((torch.nn.functional.avg_pool2d(hr, 4), hr))
    assert model.upscale(torch.zeros(2, 3, 8, 8), g).shape == (2, 3, 32, 32)


def test_the_content_loss_asks_for_its_network_and_scales_its_maps():
    asked = []

    def network(name):
        asked.append(name)
        return stand_in_features(name)

    ctx = replace(CTX, perceptual=network)
    scale = 1 / 12.75
    model = SRGAN(SRGANConfig(width=8, blocks=1, content="vgg54", feature_scale=scale), ctx)
    assert asked == ["vgg54"]
    sr, hr = random_pairs(2, 3)[1], random_pairs(2, 4)[1]
    plain = torch.nn.functional.mse_loss(model.features(sr), model.features(hr))
    assert model._content(sr, hr, pretraining=False) == pytest.approx(float(plain) * scale**2, rel=1e-5)
    SRGAN(SRGANConfig(width=8, blocks=1, content="features"), ctx)
    assert asked == ["vgg54", "domain"]
