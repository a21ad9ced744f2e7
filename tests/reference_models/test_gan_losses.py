"""Each GAN loss against its paper's formula evaluated by hand on a few logits."""

import math

import pytest
import torch

from benchbox.errors import BenchboxError, UnknownNameError
from reference_models.gan.fgan import DIVERGENCES
from reference_models.gan.losses import LOSSES, AdversarialLoss, get_loss, gradient_penalty, penalty_pair, register_loss
from reference_models.gan.trainer import TrainSettings, check_settings

REAL = [0.5, -1.2, 2.0]
FAKE = [-0.3, 1.1]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def mean(xs):
    return sum(xs) / len(xs)


PAIRED = {"rsgan"}  # losses on (real, fake) pairs see only the first len(FAKE) real logits


EXPECTED = {  # name: (discriminator loss, generator loss) by hand
    "minimax": (
        mean([-math.log(sigmoid(r)) for r in REAL]) + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        mean([math.log(1 - sigmoid(f)) for f in FAKE]),
    ),
    "non_saturating": (
        mean([-math.log(sigmoid(r)) for r in REAL]) + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        mean([-math.log(sigmoid(f)) for f in FAKE]),
    ),
    "dragan": (  # the non-saturating GAN's; its gradient penalty is tested below
        mean([-math.log(sigmoid(r)) for r in REAL]) + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        mean([-math.log(sigmoid(f)) for f in FAKE]),
    ),
    "wasserstein": (mean(FAKE) - mean(REAL), -mean(FAKE)),
    "least_squares": (
        0.5 * mean([(r - 1) ** 2 for r in REAL]) + 0.5 * mean([f**2 for f in FAKE]),
        0.5 * mean([(f - 1) ** 2 for f in FAKE]),
    ),
    "hinge": (mean([max(0, 1 - r) for r in REAL]) + mean([max(0, 1 + f) for f in FAKE]), -mean(FAKE)),
    "rsgan": (
        mean([-math.log(sigmoid(r - f)) for r, f in zip(REAL[: len(FAKE)], FAKE, strict=True)]),
        mean([-math.log(sigmoid(f - r)) for r, f in zip(REAL[: len(FAKE)], FAKE, strict=True)]),
    ),
    "rasgan": (
        mean([-math.log(sigmoid(r - mean(FAKE))) for r in REAL])
        + mean([-math.log(1 - sigmoid(f - mean(REAL))) for f in FAKE]),
        mean([-math.log(sigmoid(f - mean(REAL))) for f in FAKE])
        + mean([-math.log(1 - sigmoid(r - mean(FAKE))) for r in REAL]),
    ),
    "ralsgan": (
        mean([(r - mean(FAKE) - 1) ** 2 for r in REAL]) + mean([(f - mean(REAL) + 1) ** 2 for f in FAKE]),
        mean([(f - mean(REAL) - 1) ** 2 for f in FAKE]) + mean([(r - mean(FAKE) + 1) ** 2 for r in REAL]),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_matches_formula(name):
    loss = get_loss(name)
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    if name in PAIRED:
        real = real[: len(FAKE)]
    d_expected, g_expected = EXPECTED[name]
    assert loss.d(real, fake).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.g(real, fake).item() == pytest.approx(g_expected, rel=1e-12)


def test_every_registered_loss_is_checked_here():
    """The f-GAN rows are checked by hand in test_fgan.py, BEGAN's (a loss with state) in test_began.py."""
    fgan = {f"fgan_{name}{suffix}" for name in DIVERGENCES for suffix in ("", "_alt")}
    assert set(LOSSES) == set(EXPECTED) | fgan | {"began"}


def settings(loss: str) -> TrainSettings:
    return TrainSettings(loss, batch_size=2, lr_g=1e-4, lr_d=1e-4)


@pytest.mark.parametrize("name", sorted(set(LOSSES) - {"began"}))
def test_stateless_rows_train_with_their_own_functions_and_no_state(name):
    """A run of a stateless loss uses the row's d and g, logs nothing after the generator step and has no state,
    so its checkpoints keep the keys they had before losses could carry state."""
    row = get_loss(name)
    assert isinstance(row, AdversarialLoss)
    loss = row.start(settings(name))
    real, fake = torch.tensor(REAL[: len(FAKE)]), torch.tensor(FAKE)
    assert loss.d(real, fake).item() == row.d(real, fake).item()
    assert loss.g(real, fake).item() == row.g(real, fake).item()
    assert loss.g_reads_real == (name in ("rsgan", "rasgan", "ralsgan"))
    assert loss.after_g_step(real, fake) == {}
    assert loss.state_dict() == {}


def test_rsgan_refuses_unpaired_batches():
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    for part in (get_loss("rsgan").d, get_loss("rsgan").g):
        with pytest.raises(BenchboxError, match="as many generated samples as real"):
            part(real, fake)


def test_relativistic_losses_see_only_differences():
    """Shifting every critic output by one constant leaves C(x_r) − C(x_f) (or its average form) unchanged."""
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    for name in ("rsgan", "rasgan", "ralsgan"):
        loss = get_loss(name)
        r = real[: len(FAKE)] if name in PAIRED else real
        for part in (loss.d, loss.g):
            assert part(r + 3.7, fake + 3.7).item() == pytest.approx(part(r, fake).item(), rel=1e-12)


def test_unknown_loss_names_the_known_ones():
    with pytest.raises(BenchboxError, match="hinge"):
        get_loss("nonexistent")
    with pytest.raises(UnknownNameError, match="choose one of: began, dragan, fgan_gan, .*hinge") as error:
        check_settings(settings("nonexistent"))  # the trainer checks its loss against the same table
    assert "\n" not in str(error.value)


def test_trainer_settings_take_every_row_of_the_table():
    for name in LOSSES:
        check_settings(settings(name))


def test_gradient_penalty_on_linear_critic():
    """A linear critic D(x) = w·x has ∇D = w everywhere, so the penalty is (‖w‖ − 1)² exactly."""
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)  # ‖w‖ = 5

    def critic(x):
        return x @ w

    real, fake = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(16.0, rel=1e-12)


def test_gradient_penalty_interpolates_per_sample():
    """With D(x) = ½‖x‖², ∇D(x̂) = x̂: per-sample ε gives norms that a single shared ε would not."""
    torch.manual_seed(0)
    real = torch.zeros(64, 2, dtype=torch.float64)
    fake = torch.ones(64, 2, dtype=torch.float64)  # x̂ = (1 − ε)·(1, 1), ‖x̂‖ = √2 (1 − ε)
    torch.manual_seed(1)
    got = gradient_penalty(lambda x: 0.5 * (x**2).sum(1), real, fake).item()
    torch.manual_seed(1)
    eps = torch.rand(64, 1, dtype=torch.float64)
    want = ((math.sqrt(2) * (1 - eps) - 1) ** 2).mean().item()
    assert got == pytest.approx(want, rel=1e-12)


def test_dragan_penalises_around_the_data_not_between_data_and_samples():
    """DRAGAN (Kodali et al. 2017): x̂ = x + (1 − ε)·δ with δ = 0.5·std(x)·u, u ~ U[0,1] per entry. With D(x) = ½‖x‖²
    the penalty is mean (‖x̂‖ − 1)², recomputed here from the same draws; fake samples do not enter it."""
    real = torch.randn(32, 2, dtype=torch.float64)
    far_fake = torch.full((32, 2), 100.0, dtype=torch.float64)
    critic = lambda x: 0.5 * (x**2).sum(1)  # noqa: E731
    torch.manual_seed(3)
    got = gradient_penalty(critic, *penalty_pair("dragan", real, far_fake)).item()
    torch.manual_seed(3)
    delta = 0.5 * real.std() * torch.rand_like(real)
    eps = torch.rand(32, 1, dtype=torch.float64)
    want = (((real + (1 - eps) * delta).norm(dim=1) - 1) ** 2).mean().item()
    assert got == pytest.approx(want, rel=1e-12)
    assert get_loss("dragan").d is get_loss("non_saturating").d  # the NS GAN's loss, with the penalty added
    assert penalty_pair("wasserstein", real, far_fake)[1] is far_fake  # WGAN-GP's: towards the samples


def test_a_loss_row_with_unknown_penalty_points_is_refused():
    with pytest.raises(ValueError, match="penalty_at 'nowhere'"):
        register_loss("x", LOSSES["minimax"].d, LOSSES["minimax"].g, "none", penalty_at="nowhere")
