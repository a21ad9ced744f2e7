"""Likelihood, reconstruction and sampling-cost values recorded beside sample quality, for every family, through
`benchbox run` on the digits smoke budget."""

import textwrap

import pytest
import torch

from benchbox.cli import main
from benchbox.metrics.reconstruction import psnr
from benchbox.model_metrics import LIKELIHOOD_N, likelihood_images
from benchbox.store import ResultStore

SUITE_FILE = """
from dataclasses import replace

from benchbox.suite import ModelEntry
from benchmarks.digits import SUITE as DIGITS
from benchmarks.gan_zoo import MODELS
from reference_models.ae import AEConfig
from reference_models.diffusion.model import DDPMConfig
from reference_models.vae import VAEConfig

DDPM = DDPMConfig(steps=10, base_channels=16, channel_mults=(1, 2), attention_resolutions=(4,), norm_groups=8,
                  batch_size=16)
SUITE = replace(
    DIGITS,
    name="digits-families",
    models=(
        MODELS[1],
        ModelEntry("ddpm", "ddpm", DDPM),
        ModelEntry("ddim", "ddpm", replace(DDPM, sampler="ddim", sample_steps=5)),
        ModelEntry("vae", "vae", VAEConfig(batch_size=16, iw_samples=20)),
        ModelEntry("ae", "ae", AEConfig(batch_size=16)),
    ),
)
"""


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("families")
    (folder / "suite.py").write_text(textwrap.dedent(SUITE_FILE))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHBOX_CACHE", str(folder / "cache"))
        mp.setenv("BENCHBOX_OFFLINE", "1")
        store = folder / "r.db"
        args = ["run", "--suite", str(folder / "suite.py"), "--budget", "smoke", "--jobs", "1", "--store", str(store)]
        assert main(args) == 0
        yield {(r.model, r.metric): r for r in ResultStore(store).records()}, folder


def test_each_family_records_what_it_has(records):
    got, _ = records
    has = {model: {metric for m, metric in got if m == model} for model in ("dcgan", "ddpm", "ddim", "vae", "ae")}
    own = {"nll_bits_per_dim", "elbo_bits_per_dim", "psnr", "ssim", "nfe_per_sample"}
    assert has["dcgan"] & own == {"nfe_per_sample"}
    assert has["ddpm"] & own == {"nll_bits_per_dim", "nfe_per_sample"}
    assert has["vae"] & own == {"nll_bits_per_dim", "elbo_bits_per_dim", "psnr"}  # 8×8: too small for SSIM
    assert has["ae"] & own == {"psnr"}
    assert all("seconds_per_sample" in metrics and "fd_digits" in metrics for metrics in has.values())


def test_sampling_cost_is_one_pass_for_a_gan_and_one_per_step_for_diffusion(records):
    got, _ = records
    assert got["dcgan", "nfe_per_sample"].value == 1
    assert got["ddpm", "nfe_per_sample"].value == 10
    assert got["ddim", "nfe_per_sample"].value == 5
    assert all(got[m, "seconds_per_sample"].value > 0 for m in ("dcgan", "ddpm", "ddim", "vae", "ae"))


def test_likelihoods_are_bounds_in_a_sane_range(records):
    """Bits/dim of 8-bit data lie in (0, 8] for any model better than uniform noise; a 4-step model is near noise.
    The negative ELBO is an upper bound on the NLL that IWAE estimates, so it is not smaller (same images)."""
    got, _ = records
    for model in ("ddpm", "vae"):
        assert 0 < got[model, "nll_bits_per_dim"].value < 20
    assert got["vae", "elbo_bits_per_dim"].value >= got["vae", "nll_bits_per_dim"].value - 0.05


def test_reconstruction_psnr_matches_a_hand_computation_from_the_checkpoint(records):
    """Rebuild the trained AE (smoke budget: base width 8) from its checkpoint; PSNR = 10 log10(2² / MSE) by hand."""
    got, folder = records
    from benchbox.model import ModelContext
    from benchmarks.digits import TASK
    from reference_models.ae import AEConfig, AutoEncoder

    path = next(folder.glob("checkpoints/digits-families/v1/smoke/digits/ae/seed0/last.pt"))
    model = AutoEncoder(AEConfig(batch_size=16, base_width=8), ModelContext((1, 8, 8), torch.device("cpu"), 10))
    model.load_state_dict(torch.load(path, weights_only=True)["model"])
    x = likelihood_images(TASK)
    assert len(x) == min(LIKELIHOOD_N, 355) and (x * 127.5 + 127.5).round().eq(x * 127.5 + 127.5).all()
    with torch.no_grad():
        rec = model.reconstruct(x).double()
    mse = ((rec - x.double()) ** 2).flatten(1).mean(1)
    by_hand = (10 * torch.log10(4.0 / mse)).mean().item()
    assert got["ae", "psnr"].value == pytest.approx(by_hand, rel=1e-5)
    assert psnr(rec, x, data_range=2.0) == pytest.approx(by_hand, rel=1e-5)
