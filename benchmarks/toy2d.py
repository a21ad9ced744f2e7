"""toy2d: mode collapse on the 2-D ring of 8 Gaussians and the 5×5 grid of 25 (the embedded default suite).

Protocol (version 1):
- Data: PacGAN's mixtures (see benchbox/data/toy2d.py): ring8 (radius 1, std 0.01), grid25 (spacing 2, std 0.05).
  Training batches are fresh draws from the mixture (PacGAN draws from a fixed set of 100,000 points).
- Nets: PacGAN's 2-D nets for every model: generator 4×400 ReLU + batch norm from a 2-D normal latent;
  discriminator 3 maxout layers of 200 units × 5 pieces. Only the loss, packing and optimiser change.
- Metrics on 2,500 samples (VEEGAN and PacGAN): modes covered and % high-quality samples (within 3 std of
  the nearest mode), reverse KL of the mode histogram to uniform (PacGAN), and the energy distance to
  2,500 fixed real points.
- Budgets: `full` is PacGAN's 400 epochs × 1,000 batches of 100 with its nets; `short` and `smoke` train
  smaller nets at a 10× learning rate (SHORT_NETS below) so that a CPU finishes in minutes.
"""

from __future__ import annotations

from dataclasses import replace

from benchbox.data.toy2d import grid, ring
from benchbox.evaluation.points import PointsEvaluation
from benchbox.registry import register_suite
from benchbox.suite import Budget, ModelEntry, ReportedResult, Suite
from reference_models.gan.model import MLPGANConfig

PACGAN = MLPGANConfig()  # PacGAN's nets, loss (non-saturating) and optimiser
WGAN_GP = replace(
    PACGAN, loss="wasserstein", gradient_penalty=10.0, n_critic=5, betas=(0.5, 0.9)
)  # Gulrajani et al. 2017
LSGAN = replace(PACGAN, loss="least_squares")  # Mao et al. 2017, a=0, b=c=1

# The short and smoke budgets train smaller nets at a 10× learning rate, so that all 30 runs of the
# short budget finish in minutes on a 2-core CPU; `full` keeps PacGAN's nets and optimiser.
SHORT_NETS = (("g_hidden", 128), ("g_layers", 3), ("d_hidden", 128), ("d_layers", 2), ("lr", 1e-3))

MODELS = (
    ModelEntry("gan-minimax", "mlp_gan", replace(PACGAN, loss="minimax"), "GAN, minimax generator loss"),
    ModelEntry("gan-ns", "mlp_gan", PACGAN, "GAN, non-saturating generator loss (PacGAN's baseline)"),
    ModelEntry("wgan-gp", "mlp_gan", WGAN_GP, "WGAN-GP, λ=10, 5 critic steps"),
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
                model_overrides=SHORT_NETS,
                description="20 steps of the short budget's nets, for tests only",
            ),
            Budget(
                "short",
                steps=2000,
                checkpoint_every=500,
                seeds=(0, 1, 2),
                model_overrides=SHORT_NETS,
                description="2,000 generator steps of batch 100 with smaller nets (G 3×128, D 2 maxout×128) and lr 1e-3, 3 seeds",
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
        headline=METRICS,  # the four columns of VEEGAN's and PacGAN's tables
        references=(
            "Srivastava et al. 2017, VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational Learning",
            "Lin et al. 2018, PacGAN: The power of two samples in generative adversarial networks",
        ),
    )
)
