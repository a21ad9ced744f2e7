"""The MLP GAN: nets follow PacGAN's description, training runs, sampling is deterministic, state round-trips."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from benchbox.data.toy2d import ring
from benchbox.model import Model, ModelContext
from reference_models.blocks import Maxout
from reference_models.gan.model import MLPGAN, MLPGANConfig
from reference_models.gan.nets import pack_samples

CTX = ModelContext((2,), torch.device("cpu"))
SMALL = MLPGANConfig(g_hidden=16, d_hidden=16)


def test_default_nets_are_pacgans():
    gan = MLPGAN(MLPGANConfig(), CTX)
    linears = [m for m in gan.generator if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (2, 400),
        (400, 400),
        (400, 400),
        (400, 400),
        (400, 2),
    ]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in gan.generator) == 4
    maxouts = [m for m in gan.discriminator.modules() if isinstance(m, Maxout)]
    assert [(m.out_features, m.pieces) for m in maxouts] == [(200, 5)] * 3
    assert not any(isinstance(m, nn.BatchNorm1d) for m in gan.discriminator.modules())


def test_maxout_is_the_max_over_pieces():
    layer = Maxout(3, 2, 4)
    x = torch.randn(5, 3)
    full = layer.linear(x).view(5, 2, 4)
    assert torch.equal(layer(x), full.max(dim=-1).values)


def test_packing_concatenates_consecutive_samples():
    x = torch.arange(12.0).view(6, 2)
    assert torch.equal(pack_samples(x, 2), torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]))


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        replace(SMALL, loss="minimax"),
        replace(SMALL, loss="least_squares"),
        replace(SMALL, loss="wasserstein", gradient_penalty=10.0, n_critic=5),
        replace(SMALL, pack=2),
    ],
    ids=["ns", "minimax", "lsgan", "wgan-gp", "pacgan2"],
)
def test_trains_without_nan_and_samples_right_shape(config):
    torch.manual_seed(0)
    gan = MLPGAN(config, CTX)
    assert isinstance(gan, Model)
    gen = torch.Generator().manual_seed(0)
    before = [p.detach().clone() for p in gan.generator.parameters()]
    for _ in range(5):
        losses = gan.train_step(ring().sample(gan.examples_per_step, gen))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.generator.parameters(), strict=True))
    samples = gan.sample(50, torch.Generator().manual_seed(1))
    assert samples.shape == (50, 2) and torch.isfinite(samples).all()


def test_sampling_is_deterministic_and_state_round_trips():
    torch.manual_seed(0)
    gan = MLPGAN(SMALL, CTX)
    gan.train_step(ring().sample(gan.examples_per_step, torch.Generator().manual_seed(0)))
    a = gan.sample(20, torch.Generator().manual_seed(3))
    assert torch.equal(a, gan.sample(20, torch.Generator().manual_seed(3)))
    torch.manual_seed(99)
    other = MLPGAN(SMALL, CTX)
    other.load_state_dict(gan.state_dict())
    assert torch.equal(a, other.sample(20, torch.Generator().manual_seed(3)))


def test_learning_rate_milestones_scale_both_optimisers_from_their_step_on():
    config = replace(SMALL, lr=1e-3, lr_milestones=((3, 0.1), (5, 0.01)))
    model = MLPGAN(config, CTX)
    data = torch.randn(100, 2)
    seen = []
    for _ in range(6):
        model.train_step(data)
        seen.append((model.opt_g.param_groups[0]["lr"], model.opt_d.param_groups[0]["lr"]))
    assert [g for g, _ in seen] == pytest.approx([1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5])
    assert [g for g, _ in seen] == [d for _, d in seen]
    resumed = MLPGAN(config, CTX)
    resumed.load_state_dict(model.state_dict())
    assert resumed.step == 6
