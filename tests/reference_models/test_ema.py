"""The generator's EMA: the warmed-up recursion by hand, standing batch norm statistics measured apart, state."""

import pytest
import torch
from torch import nn

from reference_models.ema import EMA, STANDING_BATCH_SIZE, STANDING_BATCHES, STANDING_SEED
from reference_models.gan.conditional import Conditioner
from reference_models.gan.dcgan import DCGANNetsConfig, dcgan_generator

CPU = torch.device("cpu")


def randomise(module: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))


@pytest.mark.parametrize("decay", [0.999, 0.5, 0.0])
def test_parameters_follow_the_warmed_up_recursion(decay):
    gen = torch.Generator().manual_seed(0)
    live = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    randomise(live, gen)
    ema = EMA(live, decay)
    expected = [p.detach().clone() for p in live.parameters()]  # the average starts at the initial weights
    for t in range(15):  # (1 + t)/(10 + t) passes 0.5 at t = 8: both branches of the min for decay 0.5
        randomise(live, gen)  # the live net moves between updates
        decay_t = min(decay, (1 + t) / (10 + t))
        expected = [decay_t * e + (1 - decay_t) * p.detach() for e, p in zip(expected, live.parameters(), strict=True)]
        ema.update(live)
        assert ema.steps == t + 1
        for e, p in zip(expected, ema.module.parameters(), strict=True):
            assert torch.allclose(p, e, rtol=1e-12, atol=1e-14)


def test_average_is_a_frozen_copy():
    live = nn.Linear(3, 2)
    ema = EMA(live, 0.9)
    assert ema.module is not live
    with torch.no_grad():
        live.weight.add_(1.0)  # the live net moves; the average does not until update
    assert not torch.equal(ema.module.weight, live.weight)
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert not ema.module.training


class TwoNorms(nn.Module):
    """z → Linear → BatchNorm1d → ReLU → Linear → BatchNorm1d: two sets of standing statistics."""

    def __init__(self, z_dim: int) -> None:
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(z_dim, 6), nn.BatchNorm1d(6)
        self.fc2, self.bn2 = nn.Linear(6, 3), nn.BatchNorm1d(3)

    def forward(self, z):
        return self.bn2(self.fc2(torch.relu(self.bn1(self.fc1(z)))))


def standing_latents(z_dim: int) -> list[torch.Tensor]:
    """The fixed latents: STANDING_BATCHES draws of N(0, I) from a generator seeded with STANDING_SEED."""
    gen = torch.Generator().manual_seed(STANDING_SEED)
    return [torch.randn(STANDING_BATCH_SIZE, z_dim, generator=gen) for _ in range(STANDING_BATCHES)]


def by_hand_statistics(net: TwoNorms, z_dim: int):
    """Each BN's running mean and variance over the standing batches, with each batch normalised by its own
    statistics in the forward pass (train mode), written out without nn.BatchNorm: the cumulative average over
    batches of the batch mean and of the unbiased batch variance."""
    stats = {"bn1": ([], []), "bn2": ([], [])}

    def bn_train(x, bn):  # normalised by the batch's own (biased) statistics, then BN's affine map
        scale, shift = bn.weight.double(), bn.bias.double()
        return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + bn.eps) * scale + shift

    with torch.no_grad():
        for z in standing_latents(z_dim):
            a1 = z.double() @ net.fc1.weight.double().T + net.fc1.bias.double()
            stats["bn1"][0].append(a1.mean(0))
            stats["bn1"][1].append(a1.var(0, unbiased=True))
            h = torch.relu(bn_train(a1, net.bn1))
            a2 = h @ net.fc2.weight.double().T + net.fc2.bias.double()
            stats["bn2"][0].append(a2.mean(0))
            stats["bn2"][1].append(a2.var(0, unbiased=True))
    return {k: (torch.stack(m).mean(0), torch.stack(v).mean(0)) for k, (m, v) in stats.items()}


def test_standing_statistics_equal_by_hand_statistics_over_the_standing_batches():
    torch.manual_seed(0)
    z_dim = 4
    live = TwoNorms(z_dim)
    with torch.no_grad():  # non-trivial BN affine parameters so that bn1's output matters to bn2's input
        live.bn1.weight.uniform_(0.5, 2.0)
        live.bn1.bias.uniform_(-0.5, 0.5)
    live.train()
    live(torch.randn(32, z_dim) * 5 + 3)  # the live net's running statistics: from other data, not to be used
    ema = EMA(live, 0.9)
    randomise(live, torch.Generator().manual_seed(1))
    ema.update(live)
    net = ema.sampling_module(Conditioner("none", z_dim), CPU)
    assert not net.training
    expected = by_hand_statistics(net, z_dim)
    for name in ("bn1", "bn2"):
        bn = getattr(net, name)
        mean, var = expected[name]
        assert int(bn.num_batches_tracked) == STANDING_BATCHES
        assert torch.allclose(bn.running_mean.double(), mean, rtol=1e-5, atol=1e-6)
        assert torch.allclose(bn.running_var.double(), var, rtol=1e-5, atol=1e-6)
    # equal batch sizes: the average of batch means is the mean over all standing latents
    all_z = torch.cat(standing_latents(z_dim)).double()
    overall = (all_z @ net.fc1.weight.double().T + net.fc1.bias.double()).mean(0)
    assert torch.allclose(net.bn1.running_mean.double(), overall, rtol=1e-5, atol=1e-6)


def test_standing_statistics_of_a_dcgan_generator_match_hooked_activations():
    """The DCGAN generator's BatchNorm2d layers: running stats equal the per-channel mean and (unbiased, averaged
    over the standing batches) variance of the activations that reached each BN, recorded by forward hooks."""
    torch.manual_seed(0)
    config = DCGANNetsConfig(z_dim=6, base_width=4, image_size=8, channels=1)
    live = dcgan_generator(config)
    ema = EMA(live, 0.999)
    randomise(live, torch.Generator().manual_seed(2))
    ema.update(live)
    norms = [m for m in ema.module.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 2
    seen = {id(m): [] for m in norms}
    hooks = [m.register_forward_pre_hook(lambda m, args: seen[id(m)].append(args[0].detach().double())) for m in norms]
    net = ema.sampling_module(Conditioner("none", 6), CPU)
    for h in hooks:
        h.remove()
    for m in norms:
        batches = seen[id(m)]
        assert len(batches) == STANDING_BATCHES and all(b.shape[0] == STANDING_BATCH_SIZE for b in batches)
        mean = torch.stack([b.mean((0, 2, 3)) for b in batches]).mean(0)
        n = batches[0].numel() // batches[0].shape[1]
        var = torch.stack([b.var((0, 2, 3), unbiased=False) * n / (n - 1) for b in batches]).mean(0)
        assert torch.allclose(m.running_mean.double(), mean, rtol=1e-5, atol=1e-6)
        assert torch.allclose(m.running_var.double(), var, rtol=1e-5, atol=1e-6)
    # the first BN's inputs came from the fixed standing latents
    first_conv = net[1][0]
    z = standing_latents(6)[0].view(-1, 6, 1, 1)
    assert torch.allclose(seen[id(norms[0])][0].float(), first_conv(z), atol=1e-6)


def test_statistics_are_measured_once_per_weights_and_do_not_touch_the_live_net():
    torch.manual_seed(0)
    live = TwoNorms(4)
    live.train()
    live(torch.randn(16, 4))
    live_stats = (live.bn1.running_mean.clone(), live.bn1.running_var.clone())
    ema = EMA(live, 0.9)
    calls = []
    hook = ema.module.bn1.register_forward_pre_hook(lambda m, args: calls.append(1))
    cond = Conditioner("none", 4)
    first = ema.sampling_module(cond, CPU).bn1.running_mean.clone()
    ema.sampling_module(cond, CPU)
    assert len(calls) == STANDING_BATCHES  # not measured again for the same weights
    randomise(live, torch.Generator().manual_seed(3))
    ema.update(live)
    second = ema.sampling_module(cond, CPU).bn1.running_mean
    assert len(calls) == 2 * STANDING_BATCHES  # new weights: measured afresh
    assert not torch.allclose(first, second)
    hook.remove()
    assert torch.equal(live.bn1.running_mean, live_stats[0]) and torch.equal(live.bn1.running_var, live_stats[1])


def test_state_dict_round_trips():
    torch.manual_seed(0)
    live = TwoNorms(4)
    ema = EMA(live, 0.999)
    gen = torch.Generator().manual_seed(4)
    for _ in range(3):
        randomise(live, gen)
        ema.update(live)
    cond = Conditioner("none", 4)
    z = torch.randn(5, 4)
    with torch.no_grad():
        out = ema.sampling_module(cond, CPU)(z)
    torch.manual_seed(1)
    other = EMA(TwoNorms(4), 0.999)
    other.load_state_dict(ema.state_dict())
    assert other.steps == 3
    for a, b in zip(ema.module.parameters(), other.module.parameters(), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        assert torch.equal(other.sampling_module(cond, CPU)(z), out)
    # the next update uses decay_t of step 3 in both
    randomise(live, gen)
    ema.update(live)
    other.update(live)
    for a, b in zip(ema.module.parameters(), other.module.parameters(), strict=True):
        assert torch.equal(a, b)
