"""DCGAN nets: shapes, the paper's architecture rules read off the modules, init, spectral norm, packing."""

from dataclasses import replace

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from benchbox.errors import BenchboxError
from reference_models.gan.dcgan import DCGANNetsConfig, dcgan_discriminator, dcgan_generator

SMALL = DCGANNetsConfig(base_width=8)


def leaves(net: nn.Module) -> list[nn.Module]:
    """Modules without children, in forward order for these Sequential nets."""
    return [m for m in net.modules() if not list(m.children())]


def is_conv(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d | nn.ConvTranspose2d)


@pytest.mark.parametrize("size", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(size, channels):
    torch.manual_seed(0)
    config = replace(SMALL, image_size=size, channels=channels)
    g, d = dcgan_generator(config), dcgan_discriminator(config)
    with torch.no_grad():  # a large output layer drives tanh to its bounds, which it must not pass
        [m for m in g.modules() if is_conv(m)][-1].weight.mul_(1000)
    x = g(torch.randn(6, config.z_dim))
    assert x.shape == (6, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1 and x.min() < -0.99 and x.max() > 0.99
    assert d(x).shape == (6,)
    g.eval()
    assert g(torch.randn(1, config.z_dim)).shape == (1, channels, size, size)  # eval: one sample is enough


@pytest.mark.parametrize("size", [8, 28, 32])
def test_no_pooling_no_fully_connected_layers(size):
    config = replace(SMALL, image_size=size)
    for net in (dcgan_generator(config), dcgan_discriminator(config)):
        for m in net.modules():
            assert "Pool" not in type(m).__name__
            assert not isinstance(m, nn.Linear)


@pytest.mark.parametrize("size,start", [(8, 2), (28, 7), (32, 4)])
def test_generator_rules(size, start):
    layers = leaves(dcgan_generator(replace(SMALL, image_size=size)))
    convs = [m for m in layers if is_conv(m)]
    assert all(isinstance(c, nn.ConvTranspose2d) for c in convs)  # fractional-strided only
    first = convs[0]  # projects z from 1×1 to start×start
    assert (first.kernel_size, first.stride, first.padding) == ((start, start), (1, 1), (0, 0))
    assert all(c.stride == (2, 2) for c in convs[1:])
    assert isinstance(layers[-1], nn.Tanh) and layers[-2] is convs[-1]  # no BN between the output conv and tanh
    for c in convs[:-1]:  # every other conv: BN then ReLU
        i = layers.index(c)
        assert isinstance(layers[i + 1], nn.BatchNorm2d) and type(layers[i + 2]) is nn.ReLU
    activations = [m for m in layers if not is_conv(m) and not isinstance(m, nn.BatchNorm2d | nn.Unflatten)]
    assert [type(m) for m in activations] == [nn.ReLU] * (len(convs) - 1) + [nn.Tanh]


@pytest.mark.parametrize("size,start", [(8, 2), (28, 7), (32, 4)])
def test_discriminator_rules(size, start):
    layers = leaves(dcgan_discriminator(replace(SMALL, image_size=size)))
    convs = [m for m in layers if is_conv(m)]
    assert all(type(c) is nn.Conv2d for c in convs)
    assert all(c.stride == (2, 2) for c in convs[:-1])
    assert isinstance(layers[layers.index(convs[0]) + 1], nn.LeakyReLU)  # no BN on the input layer
    for c in convs[1:-1]:
        i = layers.index(c)
        assert isinstance(layers[i + 1], nn.BatchNorm2d) and isinstance(layers[i + 2], nn.LeakyReLU)
    last = convs[-1]  # a conv to one 1×1 logit, nothing after it
    assert layers[-1] is last and last.out_channels == 1 and last.kernel_size == (start, start)
    activations = [m for m in layers if not is_conv(m) and not isinstance(m, nn.BatchNorm2d)]
    assert len(activations) == len(convs) - 1
    assert all(type(m) is nn.LeakyReLU and m.negative_slope == 0.2 for m in activations)


def test_discriminator_without_batch_norm():
    d = dcgan_discriminator(replace(SMALL, d_batch_norm=False))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    assert all(m.bias is not None for m in d.modules() if is_conv(m))  # no BN, so the convs keep their bias


def test_init_statistics():
    torch.manual_seed(0)
    config = DCGANNetsConfig()
    g, d = dcgan_generator(config), dcgan_discriminator(config)
    big = max((m for m in g.modules() if is_conv(m)), key=lambda m: m.weight.numel())
    assert big.weight.numel() == 256 * 128 * 4 * 4
    assert big.weight.mean().abs() < 1e-3 and abs(big.weight.std().item() - 0.02) < 0.02 * 0.01
    for net in (g, d):
        bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        scales = torch.cat([m.weight.detach() for m in bns])
        assert abs(scales.mean().item() - 1) < 0.005 and abs(scales.std().item() - 0.02) < 0.005
        biases = [m.bias for m in net.modules() if isinstance(m, nn.BatchNorm2d) or is_conv(m)]
        assert all(torch.equal(b, torch.zeros_like(b)) for b in biases if b is not None)


def test_spectral_norm_wraps_every_discriminator_conv():
    torch.manual_seed(0)
    config = replace(SMALL, spectral_norm=True)
    d = dcgan_discriminator(config)
    convs = [m for m in d.modules() if is_conv(m)]
    assert len(convs) == 4
    for conv in convs:
        assert parametrize.is_parametrized(conv, "weight")
        assert type(conv.parametrizations.weight[0]).__name__ == "_SpectralNorm"
        with torch.no_grad():
            conv.parametrizations.weight.original.mul_(100)  # far from norm 1 before normalisation
    assert not any(parametrize.is_parametrized(m) for m in dcgan_generator(config).modules())
    d.train()
    x = torch.randn(8, 3, 32, 32)
    for _ in range(30):  # each training forward pass runs one power iteration per conv
        d(x)
    for conv in convs:
        w = conv.weight.detach()
        sigma = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.03)
        raw = conv.parametrizations.weight.original.detach()
        assert torch.linalg.matrix_norm(raw.reshape(raw.shape[0], -1), ord=2).item() > 10


def test_packing_stacks_consecutive_samples_along_channels():
    torch.manual_seed(0)
    config = replace(SMALL, channels=1, image_size=28, pack=2)
    d = dcgan_discriminator(config).eval()
    assert next(m for m in d.modules() if is_conv(m)).in_channels == 2
    x = torch.randn(8, 1, 28, 28)
    logits = d(x)
    assert logits.shape == (4,)
    stacked = torch.cat([x[0::2], x[1::2]], dim=1)  # sample 2i in channel 0, sample 2i+1 in channel 1
    torch.testing.assert_close(logits, d.packed_critic(stacked))
    with pytest.raises(BenchboxError, match="groups of 2"):
        d(x[:7])


def test_wrong_input_shape_is_refused():
    d = dcgan_discriminator(SMALL)
    with pytest.raises(BenchboxError, match=r"\(3, 32, 32\)"):
        d(torch.randn(2, 1, 28, 28))


@pytest.mark.parametrize("build", [dcgan_generator, dcgan_discriminator])
def test_unsupported_size_is_refused(build):
    with pytest.raises(BenchboxError, match="8, 28, 32"):
        build(replace(SMALL, image_size=64))


def test_parameter_counts_of_the_32x32_default():
    config = DCGANNetsConfig()  # z 100, width 64, 3 channels; a conv before BN has no bias
    g, d = dcgan_generator(config), dcgan_discriminator(config)
    generator = (
        (100 * 256 * 4 * 4 + 2 * 256)  # 1×1 → 4×4: transposed conv, BN scale and shift
        + (256 * 128 * 4 * 4 + 2 * 128)  # 4 → 8
        + (128 * 64 * 4 * 4 + 2 * 64)  # 8 → 16
        + (64 * 3 * 4 * 4 + 3)  # 16 → 32, output conv with bias, no BN
    )
    discriminator = (
        (3 * 64 * 4 * 4 + 64)  # 32 → 16, input conv with bias, no BN
        + (64 * 128 * 4 * 4 + 2 * 128)  # 16 → 8
        + (128 * 256 * 4 * 4 + 2 * 256)  # 8 → 4
        + (256 * 1 * 4 * 4 + 1)  # 4 → 1 logit, with bias
    )
    assert generator == 1_068_931 and discriminator == 663_361
    assert sum(p.numel() for p in g.parameters()) == generator
    assert sum(p.numel() for p in d.parameters()) == discriminator


def test_fc_hidden_builds_lucic_et_als_infogan_nets_for_28x28():
    """Lucic et al. 2018, Table 7: G = FC 1024 (BN, ReLU) → FC 7·7·128 (BN, ReLU) → deconv 64 (BN, ReLU) → deconv 1;
    D = conv 64 (lReLU) → conv 128 (BN, lReLU) → FC 1024 (BN, lReLU) → FC 1."""
    config = DCGANNetsConfig(z_dim=64, base_width=64, image_size=28, channels=1, fc_hidden=1024)
    g, d = dcgan_generator(config), dcgan_discriminator(config)
    linears = [(m.in_features, m.out_features) for m in g.modules() if isinstance(m, nn.Linear)]
    deconvs = [(m.in_channels, m.out_channels) for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert linears == [(64, 1024), (1024, 7 * 7 * 128)] and deconvs == [(128, 64), (64, 1)]
    convs = [(m.in_channels, m.out_channels) for m in d.modules() if isinstance(m, nn.Conv2d)]
    d_linears = [(m.in_features, m.out_features) for m in d.modules() if isinstance(m, nn.Linear)]
    assert convs == [(1, 64), (64, 128)] and d_linears == [(7 * 7 * 128, 1024), (1024, 1)]
    assert sum(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in d.modules()) == 2  # none on D's input layer
    x = g(torch.randn(6, 64))
    assert x.shape == (6, 1, 28, 28) and x.abs().max() <= 1
    assert d(x).shape == (6,)
    with_aux = dcgan_discriminator(
        DCGANNetsConfig(z_dim=64, base_width=64, image_size=28, channels=1, fc_hidden=1024, aux_dim=12)
    )
    logits, aux = with_aux(x)
    assert logits.shape == (6,) and aux.shape == (6, 12)
