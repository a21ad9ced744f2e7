"""The GAN zoo every image suite trains: one ImageGANConfig per model, each with its paper's own optimiser settings.

Shared by benchmarks/digits.py, fashion_mnist.py and cifar10.py, so that the three suites train the same models.
Nets are DCGAN's (Radford et al. 2016) for every model except BEGAN's auto-encoder discriminator; a model differs
from the DCGAN baseline only in the fields set here. Samples always come from an EMA of the generator (decay 0.999).
"""

from __future__ import annotations

from dataclasses import replace

from benchbox.data.image_task import ImageTask
from benchbox.description import Finding
from benchbox.evaluation.features import FeatureEvaluation
from benchbox.registry import register_suite
from benchbox.suite import Budget, ModelEntry, ReportedResult, Suite
from benchmarks.likelihood_zoo import GUIDANCE_SCALES
from benchmarks.zoo_findings import image_findings
from reference_models.gan.fgan import DIVERGENCES
from reference_models.gan.image_gan import ImageGANConfig

DCGAN = ImageGANConfig()  # non-saturating loss, Adam 2e-4, β1 0.5, batch 64

# f-GAN: Nowozin et al. 2016 train every divergence with the same nets and the generator update of their section 3.2.
FGAN_LABELS = {
    "tv": "total variation",
    "kl": "Kullback-Leibler",
    "reverse_kl": "reverse KL",
    "pearson": "Pearson χ²",
    "neyman": "Neyman χ²",
    "hellinger": "squared Hellinger",
    "jeffrey": "Jeffrey",
    "js": "Jensen-Shannon",
    "gan": "GAN (2·JS − log 4)",
}


# What a paper's main table of image models prints: quality, the two sides of diversity, classes covered, the
# likelihood where a model has one, class accuracy for conditional models, and the sampling cost.
IMAGE_HEADLINE = (
    "fd",
    "precision",
    "recall",
    "classes_covered",
    "class_accuracy",
    "nll_bits_per_dim",
    "nfe_per_sample",
)


def zoo() -> tuple[ModelEntry, ...]:
    """Every GAN of the zoo as a model entry of an image suite."""
    entries = [
        ModelEntry("gan-minimax", "image_gan", replace(DCGAN, loss="minimax"), "GAN, minimax generator loss (MM GAN)"),
        ModelEntry("dcgan", "image_gan", DCGAN, "DCGAN: GAN with the non-saturating generator loss (NS GAN)"),
        ModelEntry(
            "wgan",
            "image_gan",
            replace(
                DCGAN,
                loss="wasserstein",
                optimizer="rmsprop",
                lr_g=5e-5,
                lr_d=5e-5,
                n_critic=5,
                weight_clip=0.01,
            ),
            "WGAN: weights clipped to ±0.01, RMSProp 5e-5, 5 critic steps (Arjovsky et al. 2017)",
        ),
        ModelEntry(
            "wgan-gp",
            "image_gan",
            replace(
                DCGAN,
                loss="wasserstein",
                gradient_penalty=10.0,
                n_critic=5,
                lr_g=1e-4,
                lr_d=1e-4,
                betas=(0.0, 0.9),
                d_batch_norm=False,
            ),
            "WGAN-GP: λ = 10, 5 critic steps, Adam 1e-4 (0, 0.9), no batch norm in D (Gulrajani et al. 2017)",
        ),
        ModelEntry(
            "dragan",
            "image_gan",
            replace(DCGAN, loss="dragan", gradient_penalty=10.0),
            "DRAGAN: NS GAN, gradient penalty λ = 10 around data perturbed by 0.5·std noise (Kodali et al. 2017)",
        ),
        ModelEntry(
            "lsgan", "image_gan", replace(DCGAN, loss="least_squares"), "LSGAN, a = 0, b = c = 1 (Mao et al. 2017)"
        ),
        ModelEntry(
            "began",
            "image_gan",
            replace(DCGAN, loss="began", lr_g=1e-4, lr_d=1e-4),
            "BEGAN: auto-encoder D, γ = 0.5, λ_k = 0.001, Adam 1e-4 (Berthelot et al. 2017)",
        ),
        ModelEntry(
            "rsgan", "image_gan", replace(DCGAN, loss="rsgan"), "relativistic standard GAN (Jolicoeur-Martineau 2018)"
        ),
        ModelEntry(
            "rasgan", "image_gan", replace(DCGAN, loss="rasgan"), "relativistic average GAN (Jolicoeur-Martineau 2018)"
        ),
        ModelEntry(
            "ralsgan",
            "image_gan",
            replace(DCGAN, loss="ralsgan"),
            "relativistic average LSGAN (Jolicoeur-Martineau 2018)",
        ),
        ModelEntry(
            "sngan",
            "image_gan",
            replace(DCGAN, loss="hinge", spectral_norm=True, d_batch_norm=False),
            "SNGAN: hinge loss, spectral norm on every D layer (Miyato et al. 2018)",
        ),
        ModelEntry(
            "pacgan2", "image_gan", replace(DCGAN, pack=2), "DCGAN whose D judges pairs (PacGAN, Lin et al. 2018)"
        ),
    ]
    entries += [
        ModelEntry(
            f"fgan-{name.replace('_', '-')}",
            "image_gan",
            replace(DCGAN, loss=f"fgan_{name}_alt"),
            f"f-GAN, {FGAN_LABELS[name]} (Nowozin et al. 2016)",
        )
        for name in DIVERGENCES
    ]
    entries += [
        ModelEntry("cgan", "image_gan", replace(DCGAN, conditioning="cgan"), "CGAN: one-hot label into G and D"),
        ModelEntry("acgan", "image_gan", replace(DCGAN, conditioning="acgan"), "ACGAN: auxiliary classifier in D"),
        ModelEntry(
            "infogan",
            "image_gan",
            replace(DCGAN, conditioning="infogan"),
            "InfoGAN: a 10-way and two continuous codes, λ = 1 (Chen et al. 2016)",
        ),
    ]
    return tuple(entries)


MODELS = zoo()


SMOKE = Budget(
    "smoke",
    steps=4,
    checkpoint_every=2,
    seeds=(0,),
    model_overrides=(("base_width", 8), ("batch_size", 16)),
    n_eval=300,
    description="4 steps of tiny nets, 300 samples: for tests only",
)


def lucic_2018_fid(task: str, rows: tuple[tuple[str, str, float, float | None], ...]) -> tuple[ReportedResult, ...]:
    """Lucic et al. 2018's best FID per model (method, our comparable model, mean, std) as reported results."""
    return tuple(
        ReportedResult(
            "Lucic et al. 2018, Table 2",
            method,
            task,
            "fid",
            mean,
            std,
            "std" if std is not None else "",
            comparable_to=ours,
            note="Inception FID, best of a hyperparameter search; InfoGAN nets",
        )
        for method, ours, mean, std in rows
    )


def zoo_suite(
    *,
    name: str,
    version: int,
    description: str,
    task: ImageTask,
    short: Budget,
    full: Budget,
    n_eval: int,
    evaluation: FeatureEvaluation,
    reported: tuple[ReportedResult, ...] = (),
    references: tuple[str, ...] = (),
    extra_models: tuple[ModelEntry, ...] = (),
    headline: tuple[str, ...] = IMAGE_HEADLINE,
    findings: tuple[Finding, ...] | None = None,
) -> Suite:
    """Register an image suite that trains the whole zoo (and `extra_models`, e.g. the likelihood and diffusion
    models) on one task: smoke, the given short and full budgets, and every value of the evaluation's families in
    the task's own feature space as the required metrics."""
    return register_suite(
        Suite(
            name=name,
            version=version,
            description=description,
            tasks=(task,),
            models=MODELS + extra_models,
            budgets=(SMOKE, short, full),
            metrics=tuple(evaluation.required(task)),
            n_eval=n_eval,
            evaluation=evaluation,
            reported=reported,
            references=references,
            headline=headline,
            findings=image_findings(task.name, GUIDANCE_SCALES) if findings is None else findings,
        )
    )
