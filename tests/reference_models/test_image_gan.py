"""Image GANs of the zoo on the digits smoke budget: every model trains and samples; the trainer's settings (critic
steps, clipping, heads, conditioning, EMA sampling, state) do what their papers and the config say."""

import io
from dataclasses import replace

import pytest
import torch
from torch import nn

from benchbox.errors import BenchboxError
from benchbox.model import Model, ModelContext
from benchmarks.digits import SUITE, TASK
from benchmarks.gan_zoo import MODELS
from reference_models.gan.began import BEGANDiscriminator
from reference_models.gan.image_gan import ImageGAN

CPU = torch.device("cpu")
CTX = ModelContext((1, 8, 8), CPU, num_classes=10)
SMOKE = SUITE.budget("smoke")
ENTRIES = {entry.name: entry for entry in MODELS}


def smoke_config(name: str):
    return SMOKE.apply(ENTRIES[name].config)


def build(name: str, seed: int = 0, **changes) -> ImageGAN:
    torch.manual_seed(seed)
    return ImageGAN(replace(smoke_config(name), **changes), CTX)


def batch(gan: ImageGAN, stream):
    return stream.next(gan.examples_per_step, labels=gan.uses_labels)


def train(gan: ImageGAN, steps: int, seed: int = 0) -> dict[str, float]:
    stream = TASK.stream(seed, CPU)
    for _ in range(steps):
        losses = gan.train_step(batch(gan, stream))
    return losses


def saved_and_loaded(state: dict) -> dict:
    """The state as a checkpoint holds it (benchbox/checkpoint.py): written with torch.save and read back, so that
    the restored model shares no tensors (optimizer moments) with the original."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, map_location="cpu", weights_only=True)


def test_zoo_has_24_models_with_smoke_overrides():
    assert len(ENTRIES) == len(MODELS) == 24
    for name in ENTRIES:
        config = smoke_config(name)
        assert (config.base_width, config.batch_size) == (8, 16)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_zoo_model_trains_and_samples(name):
    gan = build(name)
    assert isinstance(gan, Model)
    before = [p.detach().clone() for p in gan.generator.parameters()]
    losses = train(gan, 3)
    assert losses and all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses
    assert {"d_loss", "g_loss"} <= set(losses)
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.generator.parameters(), strict=True))
    samples, labels = gan.sample_labeled(16, torch.Generator().manual_seed(0))
    assert samples.shape == (16, 1, 8, 8) and samples.dtype == torch.float32
    assert torch.isfinite(samples).all() and samples.min() >= -1 and samples.max() <= 1
    if name in ("cgan", "acgan"):
        assert gan.uses_labels
        assert torch.equal(labels, torch.arange(16) % 10)
    else:
        assert not gan.uses_labels and labels is None


def test_cgan_generator_and_discriminator_depend_on_the_label():
    gan = build("cgan")
    assert gan.conditioner.input_dim == 100 + 10
    first = [m for m in gan.generator.modules() if isinstance(m, nn.ConvTranspose2d)][0]
    assert first.in_channels == 110  # z and the one-hot label
    gan.generator.eval()
    z = torch.randn(1, 100).expand(10, 100)
    one_hot = torch.eye(10)
    with torch.no_grad():
        images = gan.generator(torch.cat([z, one_hot], 1))
    for a in range(10):
        for b in range(a + 1, 10):
            assert (images[a] - images[b]).abs().max() > 1e-4, (a, b)
    x = images[:1].expand(10, -1, -1, -1)
    gan.discriminator.eval()
    with torch.no_grad():
        logits = gan.discriminator(x, torch.arange(10))
    assert logits.shape == (10,) and logits.unique().numel() == 10  # the same image judged under each label
    with pytest.raises(BenchboxError, match="labels"):
        gan.discriminator(x)


@pytest.mark.parametrize("name,aux", [("acgan", 10), ("infogan", 12)])
def test_discriminator_aux_head_width(name, aux):
    gan = build(name)
    logits, head = gan.discriminator(torch.zeros(4, 1, 8, 8))
    assert logits.shape == (4,) and head.shape == (4, aux)
    assert gan.discriminator.aux.out_channels == aux


def test_infogan_logs_the_information_bound_and_acgan_the_accuracy():
    info = train(build("infogan"), 1)
    assert "mi_lower_bound" in info and info["mi_lower_bound"] <= torch.log(torch.tensor(10.0)).item() + 1e-6
    ac = train(build("acgan"), 1)
    assert 0.0 <= ac["aux_real_accuracy"] <= 1.0


def test_wgan_clips_every_discriminator_parameter():
    gan = build("wgan")
    assert gan.settings.weight_clip == 0.01 and isinstance(gan.opt_d, torch.optim.RMSprop)
    train(gan, 1)
    for name, p in gan.discriminator.named_parameters():
        assert p.min() >= -0.01 and p.max() <= 0.01, name
    # and the clip binds: DCGAN's N(0, 0.02²) weights (BN scales near 1) have entries beyond ±0.01
    assert max(float(p.detach().abs().max()) for p in gan.discriminator.parameters()) == pytest.approx(0.01)


@pytest.mark.parametrize("name", ["wgan-gp", "wgan"])
def test_n_critic_discriminator_steps_per_train_step(name):
    gan = build(name)
    assert gan.examples_per_step == 16 * 5
    d_steps, g_steps, d_batch_sizes = [], [], []
    gan.opt_d.register_step_pre_hook(lambda opt, args, kwargs: d_steps.append(1))
    gan.opt_g.register_step_pre_hook(lambda opt, args, kwargs: g_steps.append(1))
    gan.discriminator.register_forward_pre_hook(lambda m, args: d_batch_sizes.append(args[0].shape[0]))
    train(gan, 2)
    assert len(d_steps) == 10 and len(g_steps) == 2
    for p in gan.discriminator.parameters():
        assert int(gan.opt_d.state[p]["step"]) == 10
    for p in gan.generator.parameters():
        assert int(gan.opt_g.state[p]["step"]) == 2
    assert set(d_batch_sizes) == {16}  # each critic step judges its own slice of batch_size real examples


@pytest.mark.parametrize("name", ["dcgan", "rasgan", "began", "acgan", "infogan", "wgan-gp", "pacgan2"])
def test_generator_step_leaves_no_gradient_on_the_discriminator(name):
    gan = build(name)
    snapshots = []

    def snapshot(opt, args, kwargs):
        snapshots.append([None if p.grad is None else p.grad.clone() for p in gan.discriminator.parameters()])

    gan.opt_d.register_step_pre_hook(snapshot)
    train(gan, 2)
    last_d_step = snapshots[-1]
    for p, g in zip(gan.discriminator.parameters(), last_d_step, strict=True):
        assert p.requires_grad  # restored after the generator step
        assert (p.grad is None) == (g is None)
        if g is not None:
            assert torch.equal(p.grad, g)  # nothing added by the generator's backward pass


@pytest.mark.parametrize("name", ["dcgan", "cgan", "began"])
def test_sampling_is_deterministic_and_state_round_trips_with_ema(name):
    gan = build(name)
    assert gan.ema is not None and gan.settings.ema_decay == 0.999
    train(gan, 2)
    a, labels = gan.sample_labeled(12, torch.Generator().manual_seed(3))
    b, _ = gan.sample_labeled(12, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, gan.sample(12, torch.Generator().manual_seed(4)))
    other = build(name, seed=99)
    assert not torch.equal(a, other.sample(12, torch.Generator().manual_seed(3)))
    other.load_state_dict(saved_and_loaded(gan.state_dict()))
    c, other_labels = other.sample_labeled(12, torch.Generator().manual_seed(3))
    assert torch.equal(a, c)
    assert (labels is None and other_labels is None) or torch.equal(labels, other_labels)
    if name == "began":
        assert other.loss.k == gan.loss.k > 0  # BEGAN's k_t is restored too
    # training goes on identically from the restored state
    torch.manual_seed(5)
    gan.train_step(batch(gan, TASK.stream(1, CPU)))
    torch.manual_seed(5)
    other.train_step(batch(other, TASK.stream(1, CPU)))
    after = gan.sample(12, torch.Generator().manual_seed(3))
    assert not torch.equal(after, a)
    assert torch.equal(after, other.sample(12, torch.Generator().manual_seed(3)))


NETS_AND_OPTIMIZERS = {"generator", "discriminator", "opt_g", "opt_d", "ema", "step"}  # step: the lr milestones'


@pytest.mark.parametrize("name", ["dcgan", "rasgan", "wgan-gp", "began"])
def test_checkpoint_holds_began_k_under_began_and_nothing_more_for_other_losses(name):
    gan = build(name)
    train(gan, 2)
    state = gan.state_dict()
    if name != "began":
        assert set(state) == NETS_AND_OPTIMIZERS and state["step"] == 2
        build(name).load_state_dict(saved_and_loaded(state))
        older = {k: v for k, v in state.items() if k != "step"}  # a checkpoint written before the step was kept
        build(name).load_state_dict(saved_and_loaded(older))
        return
    assert set(state) == NETS_AND_OPTIMIZERS | {"began"} and state["began"] == {"k": gan.loss.k}
    state["began"] = {"k": 0.25}  # a checkpoint's k_t is the one training goes on from
    other = build(name)
    other.load_state_dict(saved_and_loaded(state))
    assert other.loss.k == 0.25
    logs = train(other, 1)
    assert logs["began_k"] == pytest.approx(other.loss.k) and other.loss.k != 0.25
    # from the loaded k, not from k_0 = 0: |k_{t+1} − k_t| = λ_k |γ L(x) − L(G(z))| ≤ λ_k M, M = L(x) + |γ L(x) − L(G(z))|
    assert abs(other.loss.k - 0.25) <= other.loss.lambda_k * logs["convergence"] * (1 + 1e-6)


def test_ema_samples_differ_from_the_live_generator():
    gan = build("dcgan")
    train(gan, 2)
    ema_samples = gan.sample(8, torch.Generator().manual_seed(0))
    live = build("dcgan", ema_decay=0.0)
    live.load_state_dict({k: v for k, v in saved_and_loaded(gan.state_dict()).items() if k != "ema"})
    assert live.ema is None
    assert not torch.allclose(ema_samples, live.sample(8, torch.Generator().manual_seed(0)))


def test_began_uses_the_auto_encoder_discriminator_and_refuses_conditioning():
    gan = build("began")
    assert isinstance(gan.discriminator, BEGANDiscriminator) and gan.loss.k == 0.0
    logs = train(gan, 1)
    assert {"began_k", "convergence"} <= set(logs) and 0.0 <= logs["began_k"] <= 1.0
    for conditioning in ("cgan", "acgan", "infogan"):
        with pytest.raises(BenchboxError, match="unconditional"):
            build("began", conditioning=conditioning)
    with pytest.raises(BenchboxError, match="unconditional"):
        build("began", pack=2)


@pytest.mark.parametrize("name", ["cgan", "acgan", "infogan"])
def test_packing_with_per_sample_conditioning_is_refused(name):
    with pytest.raises(BenchboxError, match="pack"):
        build(name, pack=2)


def test_conditional_model_without_classes_is_refused():
    with pytest.raises(BenchboxError, match="labelled dataset"):
        ImageGAN(smoke_config("cgan"), ModelContext((1, 8, 8), CPU))


def test_non_square_or_unsupported_images_are_refused():
    with pytest.raises(BenchboxError, match="square"):
        ImageGAN(smoke_config("dcgan"), ModelContext((1, 8, 16), CPU))
    with pytest.raises(BenchboxError, match="not defined"):
        ImageGAN(smoke_config("dcgan"), ModelContext((1, 16, 16), CPU))
