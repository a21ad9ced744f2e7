"""Conditioning (CGAN, ACGAN, InfoGAN): generator inputs per mode, InfoGAN's bounds against their formulas by hand
and scipy, ACGAN's class losses against a hand-written cross-entropy."""

import math

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import norm

from benchbox.errors import BenchboxError
from reference_models.gan.conditional import (
    Conditioner,
    Latent,
    categorical_mi_lower_bound,
    gaussian_log_likelihood,
)

CPU = torch.device("cpu")
Z = 5


def manual_cross_entropy(logits: list[list[float]], targets: list[int]) -> float:
    """Mean over rows of −log softmax(row)[target], with the log-sum-exp written out."""
    total = 0.0
    for row, t in zip(logits, targets, strict=True):
        top = max(row)
        log_z = top + math.log(sum(math.exp(v - top) for v in row))
        total += log_z - row[t]
    return total / len(targets)


@pytest.mark.parametrize(
    "mode,kwargs,input_dim,aux_dim",
    [
        ("none", {}, Z, 0),
        ("none", {"num_classes": 10}, Z, 0),  # labels of the data are ignored without conditioning
        ("cgan", {"num_classes": 10}, Z + 10, 0),  # CGAN: labels go to D's input, no head
        ("acgan", {"num_classes": 7}, Z + 7, 7),  # ACGAN: a K-way class head
        ("infogan", {}, Z + 10 + 2, 12),  # InfoGAN's MNIST codes: 10-way categorical, 2 continuous
        ("infogan", {"num_classes": 10, "info_categories": 4, "info_continuous": 3}, Z + 4 + 3, 7),
    ],
)
def test_latent_shapes_and_dims_per_mode(mode, kwargs, input_dim, aux_dim):
    c = Conditioner(mode, Z, **kwargs)
    assert c.input_dim == input_dim
    assert c.aux_dim == aux_dim
    latent = c.latent(9, CPU, generator=torch.Generator().manual_seed(0))
    assert isinstance(latent, Latent)
    assert latent.z.shape == (9, input_dim) and latent.z.dtype == torch.float32
    assert (latent.labels is not None) == (mode in ("cgan", "acgan"))
    assert (latent.codes is not None) == (mode == "infogan")
    assert (latent.continuous is not None) == (mode == "infogan")
    assert c.uses_labels == (mode in ("cgan", "acgan"))
    assert c.labels_to_d == (mode == "cgan")


@pytest.mark.parametrize("mode", ["cgan", "acgan"])
def test_one_hot_labels_follow_z_and_match_labels(mode):
    c = Conditioner(mode, Z, num_classes=6)
    latent = c.latent(200, CPU, generator=torch.Generator().manual_seed(1))
    one_hot = latent.z[:, Z:]
    assert one_hot.shape == (200, 6)
    assert set(one_hot.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(one_hot.sum(1), torch.ones(200))
    assert torch.equal(one_hot.argmax(1), latent.labels)
    assert latent.labels.dtype == torch.int64
    assert set(latent.labels.tolist()) == set(range(6))  # 200 uniform draws over 6 classes reach every class
    z = latent.z[:, :Z]  # the noise part is N(0, I), not one-hot
    assert abs(float(z.mean())) < 0.2 and 0.8 < float(z.std()) < 1.2


@pytest.mark.parametrize("mode", ["cgan", "acgan"])
def test_balanced_labels_cycle_through_classes(mode):
    c = Conditioner(mode, Z, num_classes=4)
    latent = c.latent(10, CPU, generator=torch.Generator().manual_seed(2), balanced=True)
    assert latent.labels.tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert latent.z[:, Z:].argmax(1).tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_latent_is_deterministic_given_generator():
    c = Conditioner("acgan", Z, num_classes=10)
    a = c.latent(8, CPU, generator=torch.Generator().manual_seed(3))
    b = c.latent(8, CPU, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.z, b.z) and torch.equal(a.labels, b.labels)


def test_infogan_codes_one_hot_and_continuous_in_unit_interval():
    c = Conditioner("infogan", Z, info_categories=10, info_continuous=2)
    latent = c.latent(2000, CPU, generator=torch.Generator().manual_seed(4))
    one_hot, cont = latent.z[:, Z : Z + 10], latent.z[:, Z + 10 :]
    assert torch.equal(one_hot.argmax(1), latent.codes)
    assert torch.equal(one_hot.sum(1), torch.ones(2000))
    assert set(latent.codes.tolist()) == set(range(10))
    assert torch.equal(cont, latent.continuous)
    assert cont.min() >= -1 and cont.max() <= 1
    # U[-1, 1]: both ends are reached and the mean is near 0 (a U[0, 1] code would fail)
    assert cont.min() < -0.95 and cont.max() > 0.95
    assert abs(float(cont.mean())) < 0.05


def test_mi_lower_bound_is_log_k_minus_cross_entropy_by_hand():
    logits = [[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-3.0, 1.0, 4.0], [1.5, 1.5, -0.5]]
    codes = [0, 2, 1, 1]
    expected = math.log(3) - manual_cross_entropy(logits, codes)
    got = categorical_mi_lower_bound(torch.tensor(logits, dtype=torch.float64), torch.tensor(codes))
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_mi_lower_bound_reaches_log_k_when_q_is_certain_and_right():
    k = 10
    codes = torch.arange(20) % k
    logits = torch.full((20, k), -1e4, dtype=torch.float64)
    logits[torch.arange(20), codes] = 1e4
    assert categorical_mi_lower_bound(logits, codes).item() == pytest.approx(math.log(k), abs=1e-6)


def test_mi_lower_bound_never_exceeds_log_k():
    gen = torch.Generator().manual_seed(5)
    for k in (2, 5, 10):
        for _ in range(20):
            logits = torch.randn(16, k, generator=gen, dtype=torch.float64) * 5
            codes = torch.randint(k, (16,), generator=gen)
            assert categorical_mi_lower_bound(logits, codes).item() <= math.log(k) + 1e-12
    # uniform Q: the bound is exactly 0 (log K − log K)
    assert categorical_mi_lower_bound(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])).item() == pytest.approx(0.0)


def test_gaussian_log_likelihood_matches_scipy():
    gen = torch.Generator().manual_seed(6)
    mean = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    value = torch.rand(7, 3, generator=gen, dtype=torch.float64) * 2 - 1
    expected = norm.logpdf(value.numpy(), loc=mean.numpy(), scale=1.0).sum(1).mean()
    assert gaussian_log_likelihood(mean, value).item() == pytest.approx(expected, rel=1e-12)


ACGAN_REAL_AUX = [[2.0, 0.1, -1.0], [0.3, 0.2, 1.7], [-0.5, 0.9, 0.0], [1.0, -2.0, 3.0]]
ACGAN_REAL_LABELS = [0, 2, 2, 1]  # argmax rows: 0, 2, 1, 2 → two of four right
ACGAN_FAKE_AUX = [[0.5, -0.5, 0.0], [1.2, 2.2, -0.3]]
ACGAN_FAKE_LABELS = [1, 1]


def acgan_inputs():
    real_aux = torch.tensor(ACGAN_REAL_AUX, dtype=torch.float64)
    fake_aux = torch.tensor(ACGAN_FAKE_AUX, dtype=torch.float64)
    latent = Latent(torch.zeros(2, Z + 3), labels=torch.tensor(ACGAN_FAKE_LABELS))
    return real_aux, torch.tensor(ACGAN_REAL_LABELS), fake_aux, latent


def test_acgan_aux_losses_are_class_cross_entropies():
    c = Conditioner("acgan", Z, num_classes=3)
    real_aux, real_labels, fake_aux, latent = acgan_inputs()
    real_ce = manual_cross_entropy(ACGAN_REAL_AUX, ACGAN_REAL_LABELS)
    fake_ce = manual_cross_entropy(ACGAN_FAKE_AUX, ACGAN_FAKE_LABELS)
    # cross-check of the hand computation against torch's
    assert real_ce == pytest.approx(F.cross_entropy(real_aux, real_labels).item(), rel=1e-12)
    assert fake_ce == pytest.approx(F.cross_entropy(fake_aux, latent.labels).item(), rel=1e-12)
    logs = {}
    d_loss = c.d_aux_loss(real_aux, real_labels, fake_aux, latent, logs)
    assert d_loss.item() == pytest.approx(real_ce + fake_ce, rel=1e-12)  # L_C on real and generated images
    assert float(logs["aux_real_accuracy"]) == pytest.approx(0.5)
    g_logs = {}
    g_loss = c.g_aux_loss(fake_aux, latent, g_logs)
    assert g_loss.item() == pytest.approx(fake_ce, rel=1e-12)


def test_infogan_aux_loss_is_minus_weighted_information_bound():
    c = Conditioner("infogan", Z, info_categories=3, info_continuous=2, info_weight=1.0, info_continuous_weight=0.1)
    cat_logits = [[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]]
    cont_mean = [[0.2, -0.4], [0.0, 1.0]]
    codes, cont = [0, 2], [[0.5, -0.5], [-0.9, 0.3]]
    aux = torch.tensor([a + b for a, b in zip(cat_logits, cont_mean, strict=True)], dtype=torch.float64)
    latent = Latent(
        torch.zeros(2, Z + 5), codes=torch.tensor(codes), continuous=torch.tensor(cont, dtype=torch.float64)
    )
    bound = math.log(3) - manual_cross_entropy(cat_logits, codes)
    log_q = sum(
        sum(-0.5 * (v - m) ** 2 - 0.5 * math.log(2 * math.pi) for v, m in zip(vs, ms, strict=True))
        for vs, ms in zip(cont, cont_mean, strict=True)
    ) / len(cont)
    expected = -(1.0 * bound + 0.1 * log_q)
    logs = {}
    assert c.d_aux_loss(None, None, aux, latent, logs).item() == pytest.approx(expected, rel=1e-12)
    assert float(logs["mi_lower_bound"]) == pytest.approx(bound, rel=1e-12)
    assert c.g_aux_loss(aux, latent, {}).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("mode", ["none", "cgan"])
def test_modes_without_heads_add_no_aux_loss(mode):
    c = Conditioner(mode, Z, num_classes=3)
    latent = c.latent(2, CPU)
    assert c.d_aux_loss(None, None, None, latent, {}) is None
    assert c.g_aux_loss(None, latent, {}) is None


def test_unknown_mode_raises():
    with pytest.raises(BenchboxError, match="unknown conditioning"):
        Conditioner("stylegan", Z)


@pytest.mark.parametrize("mode", ["cgan", "acgan"])
@pytest.mark.parametrize("num_classes", [0, 1])
def test_label_conditioning_without_classes_raises(mode, num_classes):
    with pytest.raises(BenchboxError, match="labelled dataset"):
        Conditioner(mode, Z, num_classes=num_classes)
