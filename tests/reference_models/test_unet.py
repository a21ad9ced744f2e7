"""DDPM U-Net: shapes, the sinusoidal embedding against its formula, identity blocks at init, Ho's layout read
off the modules, dependence on t and labels, Ho's CIFAR-10 parameter count, and config errors."""

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from benchbox.errors import BenchboxError
from reference_models.blocks import AttentionBlock, ResBlock, sinusoidal_embedding
from reference_models.diffusion.unet import UNet, UNetConfig

HO_CIFAR10 = UNetConfig(
    image_size=32,
    in_channels=3,
    base_channels=128,
    channel_mults=(1, 2, 2, 2),
    num_res_blocks=2,
    attention_resolutions=(16,),
    dropout=0.1,
)
TINY = UNetConfig(base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_resolutions=(), norm_groups=8)
# a CPU-sized net per image size: 8 → 4, 28 → 14 → 7, 32 → 16 → 8, attention at the second level
SMALL = {
    8: replace(TINY, image_size=8, channel_mults=(1, 2), attention_resolutions=(4,)),
    28: replace(TINY, image_size=28, channel_mults=(1, 2, 2), attention_resolutions=(14,)),
    32: replace(TINY, image_size=32, channel_mults=(1, 2, 2), attention_resolutions=(16,)),
}


def perturb_zero_layers(net: nn.Module, scale: float = 0.1) -> None:
    """Give the zero-initialised output layers small random weights, so every path reaches the output."""
    torch.manual_seed(1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d) and not m.weight.any():
                m.weight.normal_(0.0, scale)
                m.bias.normal_(0.0, scale)


@pytest.mark.parametrize("size", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("learn_sigma", [False, True])
def test_output_shape(size, channels, learn_sigma):
    torch.manual_seed(0)
    net = UNet(replace(SMALL[size], in_channels=channels, learn_sigma=learn_sigma))
    out = net(torch.randn(2, channels, size, size), torch.tensor([1, 1000]))
    assert out.shape == (2, channels * (2 if learn_sigma else 1), size, size)
    assert not out.any()  # Ho's conv_out starts at zero


def test_odd_side_rounds_up_and_back():
    # 28 → 14 → 7 → 4 on the way down; the upsample from 4 must land on the 7×7 skip
    torch.manual_seed(0)
    net = UNet(replace(SMALL[28], in_channels=1, channel_mults=(1, 1, 2, 2), attention_resolutions=(7, 4)))
    sides = []
    for m in net.modules():
        if isinstance(m, AttentionBlock):
            m.register_forward_hook(lambda _m, inp, _out: sides.append(inp[0].shape[-1]))
    perturb_zero_layers(net)
    out = net(torch.randn(2, 1, 28, 28), torch.tensor([3, 7]))
    assert out.shape == (2, 1, 28, 28) and torch.isfinite(out).all()
    assert sorted(set(sides)) == [4, 7]


@pytest.mark.parametrize("dim", [8, 9, 128])
def test_sinusoidal_embedding_matches_formula(dim):
    ts = [0, 1, 17, 999.5]
    emb = sinusoidal_embedding(torch.tensor(ts), dim)
    half = dim // 2
    for row, t in zip(emb.tolist(), ts, strict=True):
        freqs = [math.exp(-math.log(10000) * i / (half - 1)) for i in range(half)]
        expected = [math.sin(t * f) for f in freqs] + [math.cos(t * f) for f in freqs] + [0.0] * (dim % 2)
        assert row == pytest.approx(expected, abs=2e-4)  # float32 angles of up to ~1000 radians
    assert freqs[0] == 1 and freqs[-1] == pytest.approx(1e-4)  # ω runs from 1 to 1/10000


def test_sinusoidal_embedding_distinct_for_distinct_t():
    emb = sinusoidal_embedding(torch.arange(1, 1001), 32)
    gaps = torch.cdist(emb, emb) + torch.eye(1000) * 1e9
    assert gaps.min() > 1e-3


def test_resblock_with_equal_widths_is_identity_at_init():
    torch.manual_seed(0)
    block = ResBlock(32, 32, temb_dim=64, dropout=0.1, groups=8)
    x, temb = torch.randn(3, 32, 8, 8), torch.randn(3, 64)
    assert torch.equal(block(x, temb), x)


def test_resblock_with_new_width_is_its_skip_at_init():
    torch.manual_seed(0)
    block = ResBlock(16, 32, temb_dim=64, groups=8)
    x = torch.randn(3, 16, 8, 8)
    skip = nn.functional.conv2d(x, block.skip.weight, block.skip.bias)  # Ho's nin_shortcut, a 1×1 conv
    torch.testing.assert_close(block(x, torch.randn(3, 64)), skip)


def test_attention_block_is_identity_at_init_and_attends_after():
    torch.manual_seed(0)
    block = AttentionBlock(16, groups=4)
    x = torch.randn(2, 16, 5, 5)
    assert torch.equal(block(x), x)
    perturb_zero_layers(block)
    # a reference single-head attention over the 25 positions, written out with matmul
    h = block.norm(x).flatten(2)  # (N, C, P)
    w_q, w_k, w_v = block.qkv.weight[:, :, 0, 0].chunk(3)
    b_q, b_k, b_v = block.qkv.bias.chunk(3)
    q, k, v = (w @ h + b[:, None] for w, b in [(w_q, b_q), (w_k, b_k), (w_v, b_v)])
    a = torch.softmax(q.transpose(1, 2) @ k / 4.0, dim=-1)  # (N, P, P), 1/√16
    out = block.proj.weight[:, :, 0, 0] @ (v @ a.transpose(1, 2)) + block.proj.bias[:, None]
    torch.testing.assert_close(block(x), x + out.view_as(x))


def expected_attention_sides(config: UNetConfig) -> list[int]:
    """Ho's layout: per attended level num_res_blocks blocks down and num_res_blocks + 1 up, and the middle's one."""
    sides, s = [config.image_size], config.image_size
    for _ in config.channel_mults[1:]:
        s = (s + 1) // 2
        sides.append(s)
    down = [s for s in sides for _ in range(config.num_res_blocks) if s in config.attention_resolutions]
    up = [s for s in sides[::-1] for _ in range(config.num_res_blocks + 1) if s in config.attention_resolutions]
    return down + [sides[-1]] + up


@pytest.mark.parametrize(
    "config",
    [
        replace(HO_CIFAR10, base_channels=16, norm_groups=8),  # Ho's layout, narrow: 6 attention blocks
        replace(HO_CIFAR10, base_channels=16, norm_groups=8, attention_resolutions=(32, 8), num_res_blocks=1),
        replace(SMALL[28], attention_resolutions=()),  # the middle's only
    ],
)
def test_attention_only_at_configured_resolutions(config):
    net = UNet(config)
    sides = []
    for m in net.modules():
        if isinstance(m, AttentionBlock):
            m.register_forward_hook(lambda _m, inp, _out: sides.append(inp[0].shape[-1]))
    size = config.image_size
    net(torch.randn(1, config.in_channels, size, size), torch.tensor([5]))
    assert sides == expected_attention_sides(config)
    if config == replace(HO_CIFAR10, base_channels=16, norm_groups=8):
        assert sides == [16, 16, 4, 16, 16, 16]


def test_output_depends_on_t():
    torch.manual_seed(0)
    net = UNet(SMALL[8]).eval()
    perturb_zero_layers(net)
    x = torch.randn(1, 3, 8, 8).expand(3, -1, -1, -1)
    out = net(x, torch.tensor([1, 2, 500]))
    assert (out[0] - out[1]).abs().max() > 1e-4 and (out[0] - out[2]).abs().max() > 1e-4
    torch.testing.assert_close(net(x[:1], torch.tensor([2])), out[1:2])  # deterministic in eval mode


def test_output_depends_on_label_and_accepts_null_class():
    torch.manual_seed(0)
    net = UNet(replace(SMALL[8], num_classes=10)).eval()
    perturb_zero_layers(net)
    x = torch.randn(1, 3, 8, 8).expand(3, -1, -1, -1)
    out = net(x, torch.tensor([7, 7, 7]), torch.tensor([0, 9, 10]))  # 10: the null class
    assert (out[0] - out[1]).abs().max() > 1e-4 and (out[0] - out[2]).abs().max() > 1e-4
    assert net.label_emb.num_embeddings == 11
    with pytest.raises(BenchboxError, match="outside 0..10"):
        net(x, torch.tensor([7, 7, 7]), torch.tensor([0, 1, 11]))
    with pytest.raises(BenchboxError, match="needs labels"):
        net(x, torch.tensor([7, 7, 7]))
    with pytest.raises(BenchboxError, match="unconditional"):
        UNet(SMALL[8])(x, torch.tensor([7, 7, 7]), torch.tensor([0, 1, 2]))


def resblock_params(c_in: int, c_out: int, temb: int) -> int:
    norms = 2 * c_in + 2 * c_out
    convs = 9 * c_in * c_out + c_out + 9 * c_out * c_out + c_out
    skip = c_in * c_out + c_out if c_in != c_out else 0
    return norms + convs + temb * c_out + c_out + skip


def attention_params(c: int) -> int:
    return 2 * c + 4 * (c * c + c)  # GroupNorm, q, k, v and the output projection


def test_ho_cifar10_parameter_count():
    # Ho et al. 2020, section 4: "Our CIFAR10 model has 35.7 million parameters"
    count = sum(p.numel() for p in UNet(HO_CIFAR10).parameters())
    assert count == pytest.approx(35.7e6, rel=0.01)
    # and term by term from the paper's layout: 128, 256, 256, 256 channels at 32, 16, 8, 4 pixels
    ch, temb, widths = 128, 512, [128, 256, 256, 256]
    total = 128 * 512 + 512 + 512 * 512 + 512  # time MLP
    total += 27 * ch + ch  # conv_in
    skips, c = [ch], ch
    for level, w in enumerate(widths):
        for _ in range(2):
            total += resblock_params(c, w, temb) + (attention_params(w) if level == 1 else 0)
            c = w
            skips.append(c)
        if level < 3:
            total += 9 * c * c + c
            skips.append(c)
    total += 2 * resblock_params(c, c, temb) + attention_params(c)
    for level in reversed(range(4)):
        for _ in range(3):
            total += resblock_params(c + skips.pop(), widths[level], temb)
            total += attention_params(widths[level]) if level == 1 else 0
            c = widths[level]
        if level > 0:
            total += 9 * c * c + c
    total += 2 * c + 9 * c * 3 + 3  # output GroupNorm and conv
    assert count == total


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image_size": 64}, "not defined for 64-pixel"),
        ({"base_channels": 24, "norm_groups": 16}, "not a multiple of norm_groups"),
        ({"attention_resolutions": (16,)}, r"\[16\] are not among"),
        ({"channel_mults": (1, 1, 1, 1, 1)}, "below 1 pixel"),
        ({"dropout": 1.0}, "dropout"),
        ({"num_classes": -1}, "num_classes"),
        ({"channel_mults": ()}, "channel_mults"),
    ],
)
def test_bad_config_raises(change, message):
    with pytest.raises(BenchboxError, match=message):
        UNet(replace(SMALL[8], **change))


def test_bad_inputs_raise():
    net, x = UNet(SMALL[8]), torch.randn(2, 3, 8, 8)
    with pytest.raises(BenchboxError, match="shape"):
        net(torch.randn(2, 1, 8, 8), torch.tensor([1, 2]))
    with pytest.raises(BenchboxError, match="timesteps"):
        net(x, torch.tensor([1, 2, 3]))
    assert net(x, torch.tensor(4)).shape == x.shape  # one timestep for the whole batch
    with pytest.raises(BenchboxError, match="GroupNorm"):
        ResBlock(48, 48, temb_dim=8, groups=32)
