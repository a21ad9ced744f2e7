"""toy2d: mode collapse on the 2-D ring of 8 Gaussians and the 5×5 grid of 25 (the embedded default suite).

Protocol (version 1):
- Data: PacGAN's mixtures (see benchbox/data/toy2d.py): ring8 (radius 1, std 0.01), grid25 (spacing 2, std 0.05).
  Training batches are fresh draws from the mixture (PacGAN draws from a fixed set of 100,000 points).
- Nets: PacGAN's 2-D nets for every model: generator 4×400 ReLU + batch norm from a 2-D normal latent;
  discriminator 3 maxout layers of 200 units × 5 pieces. Only the loss, packing and optimiser change.
- Metrics on 2,500 samples (VEEGAN and PacGAN): modes covered and % high-quality samples (within 3 std of
  the nearest mode), reverse KL of the mode histogram to uniform (PacGAN), and the energy distance to
  2,500 fixed real points.
- Budgets: `full` is PacGAN's 400 epochs × 1,000 batches of 100 with its nets (about 2 hours per run on one CPU
  core); `short` trains smaller nets at a 10× learning rate with a step decay (SHORT_NETS below), calibrated to put
  the non-saturating GAN in PacGAN's regime (most samples near a mode, modes dropped on the grid) in about 20 minutes
  for the whole suite on 2 CPU cores; `smoke` is 20 steps, for tests.
- Findings (FINDINGS below): packing (Lin et al. 2018) on both mixtures and the non-saturating against the minimax
  loss (Goodfellow et al. 2014), decided on the records by every report (docs/findings.md).
"""

from __future__ import annotations

from dataclasses import replace

from benchbox.data.toy2d import grid, ring
from benchbox.description import Finding
from benchbox.evaluation.points import PointsEvaluation
from benchbox.registry import register_suite
from benchbox.suite import Budget, ModelEntry, ReportedResult, Suite
from reference_models.gan.model import MLPGANConfig

PACGAN = MLPGANConfig()  # PacGAN's nets, loss (non-saturating) and optimiser
WGAN_GP = replace(
    PACGAN, loss="wasserstein", gradient_penalty=10.0, n_critic=5, betas=(0.5, 0.9)
)  # Gulrajani et al. 2017
LSGAN = replace(PACGAN, loss="least_squares")  # Mao et al. 2017, a=0, b=c=1

# The smoke budget's nets: 20 steps of small nets at a 10× learning rate, for tests only.
SMOKE_NETS = (("g_hidden", 128), ("g_layers", 3), ("d_hidden", 128), ("d_layers", 2), ("lr", 1e-3))
# The short budget, calibrated until the GAN is in PacGAN's regime on a 2-core CPU in about 20 minutes for the
# suite: a generator of 3×128, PacGAN's three maxout layers in D at 128 units, Adam at 10× PacGAN's rate with
# β1 = 0.5, divided by 10 at step 5,000 and by 100 at 6,500 (the high-rate phase finds the modes, the low-rate one
# sharpens them: measured here, the high-quality share on grid25 rose from 32% at step 5,000 to 71% at 8,000).
# The depth of D mattered most: with two maxout layers the GAN covered 18–24 of the grid's modes with 38–56% of its
# samples near one; with three, 11–13 modes with 71–86%, PacGAN's regime (17 modes with 95%). Samples come from an
# EMA of G's weights (decay 0.999, as in the image suites): on the ring the live generator still wanders at the
# lowest rate (a seed's high-quality share fell from 74% at step 7,000 to 58% at 8,000), its average does not (86%).
SHORT_STEPS = 8000
SHORT_MILESTONES = ((5000, 0.1), (6500, 0.01))
SHORT_NETS = (
    ("g_hidden", 128),
    ("g_layers", 3),
    ("d_hidden", 128),
    ("d_layers", 3),
    ("lr", 1e-3),
    ("betas", (0.5, 0.999)),
    ("lr_milestones", SHORT_MILESTONES),
    ("ema_decay", 0.999),
)
# WGAN-GP takes 5 critic steps per generator step: its short budget gives it as many critic updates as the other
# rows' discriminators get (8,000) in 1,600 generator steps, with its own β (Gulrajani et al.) and the same decay
# at the same fractions of training.
WGAN_GP_SHORT = Budget(
    "short",
    steps=SHORT_STEPS // 5,
    checkpoint_every=SHORT_STEPS // 20,
    seeds=(0, 1, 2),
    model_overrides=(
        *(o for o in SHORT_NETS if o[0] not in ("betas", "lr_milestones")),
        ("lr_milestones", tuple((at // 5, f) for at, f in SHORT_MILESTONES)),
    ),
    description="1,600 generator steps (8,000 critic steps, as many D updates as the other rows) of the short "
    "budget's nets, lr 1e-3 with β (0.5, 0.9), divided by 10 at step 1,000 and by 100 at 1,300, samples from an EMA",
)

MODELS = (
    ModelEntry("gan-minimax", "mlp_gan", replace(PACGAN, loss="minimax"), "GAN, minimax generator loss"),
    ModelEntry("gan-ns", "mlp_gan", PACGAN, "GAN, non-saturating generator loss (PacGAN's baseline)"),
    ModelEntry("wgan-gp", "mlp_gan", WGAN_GP, "WGAN-GP, λ=10, 5 critic steps", budgets=(WGAN_GP_SHORT,)),
    ModelEntry("lsgan", "mlp_gan", LSGAN, "least-squares GAN"),
    ModelEntry("pacgan2", "mlp_gan", replace(PACGAN, pack=2), "non-saturating GAN, discriminator packs m=2"),
)


# Lin et al. 2018 (PacGAN), Table 1: mean ± standard error over 10 trials, PacGAN's nets, 400 epochs.
# Rows: (method, task, our comparable model, modes_covered, high_quality_pct, reverse_kl), values (mean, s.e.).
PACGAN_TABLE_1 = (
    ("GAN", "ring8", "gan-ns", (6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
    ("PacGAN2", "ring8", "pacgan2", (7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
    ("GAN", "grid25", "gan-ns", (17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
    ("PacGAN2", "grid25", "pacgan2", (23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
)
# Srivastava et al. 2017 (VEEGAN), Table 1: mean over 5 runs, VEEGAN's own nets and budget, no spread given.
# Rows: (method, task, modes_covered, high_quality_pct).
VEEGAN_TABLE_1 = (
    ("GAN", "ring8", 1.0, 99.3),
    ("VEEGAN", "ring8", 8.0, 52.9),
    ("GAN", "grid25", 3.3, 0.5),
    ("VEEGAN", "grid25", 24.6, 40.0),
)
REPORTED = (
    *(
        ReportedResult("Lin et al. 2018, Table 1", method, task, metric, mean, se, "s.e.", comparable_to=ours)
        for method, task, ours, *values in PACGAN_TABLE_1
        for metric, (mean, se) in zip(("modes_covered", "high_quality_pct", "reverse_kl"), values, strict=True)
    ),
    *(
        ReportedResult("Srivastava et al. 2017, Table 1", method, task, metric, value, note="VEEGAN's nets")
        for method, task, *values in VEEGAN_TABLE_1
        for metric, value in zip(("modes_covered", "high_quality_pct"), values, strict=True)
    ),
)

METRICS = ("modes_covered", "high_quality_pct", "reverse_kl", "energy_distance")

PACGAN_CONDITIONS = (
    "PacGAN's 2-D nets (G 4×400 ReLU + batch norm, D 3 maxout layers of 200 × 5), Adam 1e-4 (β1 0.8), "
    "400 epochs of 100,000 points in batches of 100, 2,500 samples scored, 10 trials"
)
GOODFELLOW_CONDITIONS = (
    "Argued in §3 for early training, where D rejects G's samples with confidence and log(1 − D(G(z))) saturates; no "
    "table. Read here as how much of G's mass reaches the data, the share of samples within 3σ of a mode (which modes "
    "are covered is another question), on PacGAN's mixtures and nets"
)
FINDINGS = (
    Finding(
        "packing-grid25",
        "Lin et al. 2018, Table 1",
        "packing the discriminator's input (PacGAN2) covers more of the grid's 25 modes than the GAN",
        PACGAN_CONDITIONS + "; reported 23.8 ± 0.7 against 17.3 ± 0.8 modes (s.e.)",
        "grid25",
        "modes_covered",
        ("pacgan2", "gan-ns"),
        "higher",
    ),
    Finding(
        "packing-ring8",
        "Lin et al. 2018, Table 1",
        "packing (PacGAN2) spreads samples over the ring's 8 modes more evenly than the GAN (lower reverse KL)",
        PACGAN_CONDITIONS + "; reported 0.07 ± 0.03 against 0.45 ± 0.09 (s.e.)",
        "ring8",
        "reverse_kl",
        ("pacgan2", "gan-ns"),
        "lower",
    ),
    Finding(
        "non-saturating-ring8",
        "Goodfellow et al. 2014, §3",
        "the non-saturating generator loss brings more of G's samples to the data than the minimax one (ring)",
        GOODFELLOW_CONDITIONS,
        "ring8",
        "high_quality_pct",
        ("gan-ns", "gan-minimax"),
        "higher",
    ),
    Finding(
        "non-saturating-grid25",
        "Goodfellow et al. 2014, §3",
        "the non-saturating generator loss brings more of G's samples to the data than the minimax one (grid)",
        GOODFELLOW_CONDITIONS,
        "grid25",
        "high_quality_pct",
        ("gan-ns", "gan-minimax"),
        "higher",
    ),
)

SUITE = register_suite(
    Suite(
        name="toy2d",
        version=1,
        description="GAN losses and packing on 2-D Gaussian mixtures, scored for mode collapse (VEEGAN/PacGAN protocol).",
        tasks=(ring(), grid()),
        models=MODELS,
        budgets=(
            Budget(
                "smoke",
                steps=20,
                checkpoint_every=10,
                seeds=(0,),
                model_overrides=SMOKE_NETS,
                description="20 steps of small nets (G 3×128, D 2 maxout×128) at lr 1e-3, for tests only",
            ),
            Budget(
                "short",
                steps=SHORT_STEPS,
                checkpoint_every=SHORT_STEPS // 4,
                seeds=(0, 1, 2),
                model_overrides=SHORT_NETS,
                description="8,000 generator steps of batch 100 with smaller nets (G 3×128, D 3 maxout×128), Adam 1e-3 "
                "with β (0.5, 0.999) divided by 10 at step 5,000 and by 100 at 6,500, samples from an EMA of G "
                "(0.999), 3 seeds (WGAN-GP: its own)",
            ),
            Budget(
                "full",
                steps=400_000,
                checkpoint_every=10_000,
                seeds=tuple(range(10)),
                description="PacGAN's 400 epochs × 1,000 batches of 100, 10 seeds",
            ),
        ),
        metrics=METRICS,
        n_eval=2500,  # VEEGAN and PacGAN score 2,500 samples
        evaluation=PointsEvaluation(METRICS),  # (the default; written out as every suite's evaluation is)
        reported=REPORTED,
        findings=FINDINGS,
        headline=METRICS,  # the four columns of VEEGAN's and PacGAN's tables
        references=(
            "Srivastava et al. 2017, VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational Learning",
            "Lin et al. 2018, PacGAN: The power of two samples in generative adversarial networks",
        ),
    )
)
