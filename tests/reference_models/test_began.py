"""BEGAN (Berthelot et al. 2017): its losses, k_t balance and convergence measure against the paper's formulas by hand;
the auto-encoder discriminator against an independent functional re-implementation."""

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference_models.gan.began import (
    BEGANBalance,
    BEGANDiscriminator,
    began_d_loss,
    began_g_loss,
    began_k_update,
    convergence_measure,
)
from reference_models.gan.losses import get_loss
from reference_models.gan.trainer import TrainSettings, check_settings

REAL = [0.2, 0.4, 0.9]  # per-sample reconstruction losses L(x)
FAKE = [0.1, 0.7]  # per-sample reconstruction losses L(G(z))


def mean(xs):
    return sum(xs) / len(xs)


def test_d_loss_is_real_minus_k_times_fake():
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    # L_D = L(x) − k_t L(G(z)): (0.2 + 0.4 + 0.9)/3 − 0.3 · (0.1 + 0.7)/2 = 0.5 − 0.12 = 0.38
    assert began_d_loss(real, fake, 0.3).item() == pytest.approx(0.38, rel=1e-12)
    assert began_d_loss(real, fake, 0.0).item() == pytest.approx(0.5, rel=1e-12)  # k_0 = 0: only L(x)
    assert began_d_loss(real, fake, 1.0).item() == pytest.approx(0.1, rel=1e-12)


def test_g_loss_is_fake_reconstruction_loss():
    fake = torch.tensor(FAKE, dtype=torch.float64)
    assert began_g_loss(fake).item() == pytest.approx(0.4, rel=1e-12)


def test_losses_carry_gradients_to_their_inputs():
    real = torch.tensor(REAL, dtype=torch.float64, requires_grad=True)
    fake = torch.tensor(FAKE, dtype=torch.float64, requires_grad=True)
    began_d_loss(real, fake, 0.3).backward()
    # ∂L_D/∂real_i = 1/3, ∂L_D/∂fake_j = −k/2
    assert torch.allclose(real.grad, torch.full((3,), 1 / 3, dtype=torch.float64))
    assert torch.allclose(fake.grad, torch.full((2,), -0.15, dtype=torch.float64))


@pytest.mark.parametrize(
    "k,real,fake,gamma,lambda_k,expected",
    [
        (0.3, 0.2, 0.05, 0.5, 0.01, 0.3 + 0.01 * (0.5 * 0.2 - 0.05)),  # inside [0, 1]: 0.3005
        (0.3, 0.2, 0.3, 0.5, 0.01, 0.3 + 0.01 * (0.1 - 0.3)),  # decreases when G's loss exceeds γ L(x): 0.298
        (0.0, 0.1, 1.0, 0.5, 0.1, 0.0),  # 0 + 0.1 · (0.05 − 1) = −0.095, clipped to 0
        (0.02, 0.1, 1.0, 0.5, 0.1, 0.0),  # 0.02 − 0.095 < 0, clipped to 0
        (0.99, 10.0, 0.0, 0.5, 0.1, 1.0),  # 0.99 + 0.1 · 5 = 1.49, clipped to 1
        (1.0, 1.0, 0.0, 0.7, 1e-3, 1.0),  # already at 1, pushed up: stays 1
        (0.5, 1.0, 0.5, 0.5, 1.0, 0.5),  # γ L(x) = L(G(z)): in equilibrium, k unchanged
    ],
)
def test_k_update_is_proportional_control_clipped_to_unit_interval(k, real, fake, gamma, lambda_k, expected):
    assert began_k_update(k, real, fake, gamma, lambda_k) == pytest.approx(expected, abs=1e-15)


def test_convergence_measure_by_hand():
    # M = L(x) + |γ L(x) − L(G(z))|
    assert convergence_measure(0.2, 0.05, 0.5) == pytest.approx(0.2 + 0.05)  # |0.1 − 0.05|
    assert convergence_measure(0.2, 0.3, 0.5) == pytest.approx(0.2 + 0.2)  # |0.1 − 0.3|
    assert convergence_measure(0.4, 0.2, 0.5) == pytest.approx(0.4)  # equilibrium: the term vanishes
    assert convergence_measure(1.0, 0.0, 0.7) == pytest.approx(1.7)


def test_balance_starts_at_zero_and_advances_k_as_the_formula_says():
    gamma, lambda_k = 0.5, 0.1
    balance = BEGANBalance(gamma, lambda_k)
    assert balance.k == 0.0  # the paper's k_0 = 0
    steps = [  # (real errors, fake errors) per generator step
        ([0.8, 1.2], [0.1, 0.3]),  # L(x) = 1.0, L(G) = 0.2 → k = 0 + 0.1 · (0.5 − 0.2) = 0.03
        ([0.5, 0.7], [0.2, 0.2]),  # L(x) = 0.6, L(G) = 0.2 → k = 0.03 + 0.1 · 0.1 = 0.04
        ([0.4, 0.4], [1.0, 2.0]),  # L(x) = 0.4, L(G) = 1.5 → k = 0.04 + 0.1 · (−1.3) < 0 → 0
        ([9.0, 11.0], [0.0, 0.0]),  # L(x) = 10, L(G) = 0 → k = 0 + 0.1 · 5 = 0.5
    ]
    expected_k = [0.03, 0.04, 0.0, 0.5]
    expected_m = [1.0 + 0.3, 0.6 + 0.1, 0.4 + 1.3, 10.0 + 5.0]
    for (real, fake), k, m in zip(steps, expected_k, expected_m, strict=True):
        k_before = balance.k
        real_t, fake_t = torch.tensor(real, dtype=torch.float64), torch.tensor(fake, dtype=torch.float64)
        # the losses read the k of before the update
        assert balance.d(real_t, fake_t).item() == pytest.approx(mean(real) - k_before * mean(fake))
        assert balance.g(real_t, fake_t).item() == pytest.approx(mean(fake))
        logs = balance.after_g_step(real_t, fake_t)
        assert balance.k == pytest.approx(k, abs=1e-12)
        assert float(logs["began_k"]) == pytest.approx(k, abs=1e-6)
        assert float(logs["convergence"]) == pytest.approx(m, rel=1e-6)


def test_balance_state_round_trips():
    balance = BEGANBalance(0.5, 0.1)
    balance.after_g_step(torch.tensor([1.0]), torch.tensor([0.2]))
    balance.after_g_step(torch.tensor([0.6]), torch.tensor([0.2]))
    state = balance.state_dict()
    other = BEGANBalance(0.5, 0.1)
    other.load_state_dict(state)
    assert other.k == balance.k == pytest.approx(0.04)
    real, fake = torch.tensor([0.3]), torch.tensor([0.05])
    balance.after_g_step(real, fake)
    other.after_g_step(real, fake)
    assert other.k == balance.k == pytest.approx(0.04 + 0.1 * (0.15 - 0.05))


def t(xs: list[float]) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float64)


def began_run(gamma: float, lambda_k: float):
    """BEGAN's loss for one run, made by its row of the loss table as the trainer makes it."""
    settings = TrainSettings("began", batch_size=2, lr_g=1e-4, lr_d=1e-4, began_gamma=gamma, began_lambda_k=lambda_k)
    check_settings(settings)
    return get_loss("began").start(settings)


def test_loss_table_row_drives_the_balance_as_the_paper_says():
    """Two training steps through the interface the trainer uses: d on the discriminator step, g and after_g_step
    on the generator step, each value computed by hand from L_D = L(x) − k_t L(G(z)), L_G = L(G(z)),
    k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1), M = L(x) + |γ L(x) − L(G(z))|, with γ = 0.4, λ_k = 0.5."""
    loss = began_run(gamma=0.4, lambda_k=0.5)
    assert loss.g_reads_real  # the balance needs L(x) at the generator step
    assert loss.state_dict() == {"k": 0.0}  # k_0 = 0
    # step 1: k_0 = 0, so L_D = L(x) = (0.5 + 1.5)/2 = 1.0; L_G = (0.1 + 0.3)/2 = 0.2
    assert loss.d(t([0.5, 1.5]), t([0.2, 0.6])).item() == pytest.approx(1.0, rel=1e-12)
    assert loss.g(t([0.8, 1.2]), t([0.1, 0.3])).item() == pytest.approx(0.2, rel=1e-12)
    logs = loss.after_g_step(t([0.8, 1.2]), t([0.1, 0.3]))  # L(x) = 1.0, L(G) = 0.2: k_1 = 0.5 · (0.4 − 0.2) = 0.1
    assert loss.state_dict()["k"] == pytest.approx(0.1, abs=1e-12)
    assert float(logs["began_k"]) == pytest.approx(0.1, abs=1e-7)
    assert float(logs["convergence"]) == pytest.approx(1.0 + 0.2, rel=1e-6)
    # step 2: L_D = (0.6 + 1.0)/2 − 0.1 · (0.4 + 0.8)/2 = 0.8 − 0.06 = 0.74; L_G = (0.2 + 0.4)/2 = 0.3
    assert loss.d(t([0.6, 1.0]), t([0.4, 0.8])).item() == pytest.approx(0.74, rel=1e-12)
    assert loss.g(None, t([0.2, 0.4])).item() == pytest.approx(0.3, rel=1e-12)  # L_G does not read L(x)
    logs = loss.after_g_step(t([0.4, 0.6]), t([0.2, 0.4]))  # L(x) = 0.5, L(G) = 0.3: 0.1 + 0.5 · (0.2 − 0.3) = 0.05
    assert loss.state_dict()["k"] == pytest.approx(0.05, abs=1e-12)
    assert float(logs["convergence"]) == pytest.approx(0.5 + 0.1, rel=1e-6)
    # and the clip: L(x) = 0.1, L(G) = 1.0 → 0.05 + 0.5 · (0.04 − 1.0) < 0 → k = 0
    assert float(loss.after_g_step(t([0.1]), t([1.0]))["began_k"]) == 0.0


def test_loss_table_row_state_round_trips_and_each_run_has_its_own():
    loss = began_run(gamma=0.5, lambda_k=0.1)
    loss.after_g_step(torch.tensor([1.0]), torch.tensor([0.2]))  # k = 0.1 · (0.5 − 0.2) = 0.03
    fresh = began_run(gamma=0.5, lambda_k=0.1)
    assert fresh.state_dict() == {"k": 0.0}  # a second run starts at k_0 = 0, not where the first one is
    buffer = io.BytesIO()
    torch.save(loss.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert fresh.state_dict() == loss.state_dict() == {"k": pytest.approx(0.03)}
    real, fake = torch.tensor([0.5, 0.7]), torch.tensor([0.1, 0.3])
    assert fresh.d(real, fake).item() == loss.d(real, fake).item() == pytest.approx(0.6 - 0.03 * 0.2)
    assert {k: float(v) for k, v in fresh.after_g_step(real, fake).items()} == {
        k: float(v) for k, v in loss.after_g_step(real, fake).items()
    }
    assert fresh.state_dict() == loss.state_dict() == {"k": pytest.approx(0.03 + 0.1 * (0.3 - 0.2))}


# image size → (side of the code's last feature map, number of ×2 steps), DCGAN's layouts written out here
LAYOUT = {8: (2, 2), 28: (7, 2), 32: (4, 3)}


def functional_reconstruction(d: BEGANDiscriminator, x: torch.Tensor, size: int) -> torch.Tensor:
    """Encoder: stride-2 4×4 convs with ELU, then a start×start conv to the code (linear); decoder: a start×start
    transposed conv with ELU, stride-2 4×4 transposed convs with ELU, and a linear stride-2 output conv."""
    start, steps = LAYOUT[size]
    enc = [m for m in d.encoder.modules() if isinstance(m, nn.Conv2d)]
    dec = [m for m in d.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(enc) == len(dec) == steps + 1
    h = x
    for conv in enc[:-1]:
        h = F.elu(F.conv2d(h, conv.weight, conv.bias, stride=2, padding=1))
    h = F.conv2d(h, enc[-1].weight, enc[-1].bias)  # start×start → 1×1: the h-d code, no activation
    assert h.shape[2:] == (1, 1)
    h = F.elu(F.conv_transpose2d(h, dec[0].weight, dec[0].bias))  # 1×1 → start×start
    assert h.shape[2:] == (start, start)
    for conv in dec[1:-1]:
        h = F.elu(F.conv_transpose2d(h, conv.weight, conv.bias, stride=2, padding=1))
    return F.conv_transpose2d(h, dec[-1].weight, dec[-1].bias, stride=2, padding=1)


@pytest.mark.parametrize("size", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_output_is_per_sample_mean_absolute_reconstruction_error(size, channels):
    torch.manual_seed(0)
    d = BEGANDiscriminator(channels, size, base_width=4, hidden=5).double()
    x = torch.rand(3, channels, size, size, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        recon = functional_reconstruction(d, x, size)
        assert recon.shape == x.shape
        assert torch.allclose(d.reconstruct(x), recon, rtol=1e-12, atol=1e-12)
        out = d(x)
    assert out.shape == (3,)
    n_pixels = channels * size * size
    for i in range(3):
        expected = sum(abs(float(a) - float(b)) for a, b in zip(x[i].flatten(), recon[i].flatten(), strict=True))
        assert float(out[i]) == pytest.approx(expected / n_pixels, rel=1e-10)


@pytest.mark.parametrize("size", [8, 28, 32])
def test_discriminator_code_has_hidden_dimensions_and_no_batch_norm(size):
    d = BEGANDiscriminator(1, size, base_width=4, hidden=7)
    assert d.encoder(torch.zeros(2, 1, size, size)).shape == (2, 7, 1, 1)
    for net in (d.encoder, d.decoder):
        for m in net.modules():
            assert not isinstance(m, nn.modules.batchnorm._BatchNorm)
    activations = [m for m in d.modules() if isinstance(m, nn.ELU)]
    assert len(activations) == 2 * LAYOUT[size][1]  # every conv but the code and the output is followed by an ELU
