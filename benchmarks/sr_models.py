"""The super-resolution suites' models, budgets and findings, shared by benchmarks/sr.py (Fashion-MNIST ×2) and
sr-cifar10 (CIFAR-10 ×4): the bicubic baseline, SRResNet, SRGAN and an SR3-style diffusion super-resolver."""

from __future__ import annotations

from benchbox.description import Finding, ReportedResult
from benchbox.registry import register_suite
from benchbox.sr.evaluation import SREvaluation
from benchbox.sr.task import SRTask
from benchbox.suite import Budget, ModelEntry, Suite
from reference_models.sr.bicubic import BicubicConfig
from reference_models.sr.sr3 import SR3Config
from reference_models.sr.srgan import SRGANConfig

HEADLINE = ("sr_psnr", "sr_ssim", "fd", "kid", "seconds_per_sample")

# A CPU's nets: every budget but `full` shrinks the generator, the discriminator and the U-Net alike.
SMALL_NETS = (
    ("width", 32),
    ("blocks", 4),
    ("d_width", 32),
    ("d_levels", 3),
    ("d_hidden", 256),
    ("base_channels", 32),
    ("channel_mults", (1, 2)),
    ("num_res_blocks", 1),
    ("norm_groups", 8),
)
TINY_NETS = (("width", 16), ("blocks", 2), ("d_width", 8), ("d_levels", 2), ("d_hidden", 16), ("base_channels", 8))

# Long enough for SRResNet to pass bicubic on Fashion-MNIST ×2 (19.8 against 19.0 dB at 200 steps, seed 0), which a
# test checks; a tenth of a minute per model on a CPU.
SMOKE = Budget(
    "smoke",
    steps=240,
    checkpoint_every=120,
    seeds=(0,),
    model_overrides=(*SMALL_NETS, *TINY_NETS, ("lr", 1e-3), ("pretrain_steps", 120), ("sample_steps", 2)),
    n_eval=300,
    description="240 steps of tiny nets at a learning rate of 1e-3 (SRGAN: 120 of MSE first), 300 test images, "
    "SR3 with 2 DDIM steps: for tests",
)


def no_training(budget: Budget) -> Budget:
    """The bicubic baseline's budget: one (empty) step, the same seeds and test images."""
    return Budget(budget.name, 1, 1, budget.seeds, "nothing to train", n_eval=budget.n_eval)


SRGAN_FEATURES = SRGANConfig(content="features", adversarial_weight=1e-3)  # offline: the task's classifier
# Ledig et al.'s own: VGG19's conv5_4 maps scaled by 1/12.75, for suites whose data is downloaded anyway
SRGAN_VGG54 = SRGANConfig(content="vgg54", adversarial_weight=1e-3, feature_scale=1 / 12.75)


def models(budgets: tuple[Budget, ...], srgan: SRGANConfig = SRGAN_FEATURES) -> tuple[ModelEntry, ...]:
    return (
        ModelEntry(
            "bicubic",
            "bicubic",
            BicubicConfig(),
            "bicubic upscaling with the degradation's own kernel (a = −0.5)",
            budgets=tuple(no_training(b) for b in budgets),
        ),
        ModelEntry(
            "srresnet",
            "srgan",
            SRGANConfig(),
            "SRResNet (Ledig et al. 2017): residual blocks and sub-pixel upsampling trained on the pixels' MSE",
        ),
        ModelEntry(
            "srgan",
            "srgan",
            srgan,
            f"SRGAN (Ledig et al. 2017): SRResNet's generator, MSE first, then a content loss on "
            f"{'VGG19 conv5_4 maps' if srgan.content == 'vgg54' else 'the classifier’s conv maps'} plus 1e-3 × the "
            "non-saturating adversarial loss",
        ),
        ModelEntry(
            "sr3",
            "sr3",
            SR3Config(),
            "SR3-style diffusion (Saharia et al. 2021): a DDPM U-Net given the bicubic-upscaled input, DDIM sampling",
        ),
    )


LEDIG = "Ledig et al. 2017"
ONE_IMAGE = "one photograph at ×4, not a data set's mean"
BSD100 = "BSD100's mean at ×4 (Y channel)"


def ledig_2017(task: str) -> tuple[ReportedResult, ...]:
    """The lecture's figures (Ledig et al. 2017, Figure 2: one image) and the paper's BSD100 means (Table 2)."""
    rows = (
        ("bicubic", "bicubic", 21.59, 0.6423, 25.94, 0.6935),
        ("SRResNet", "srresnet", 23.53, 0.7832, 27.58, 0.7620),
        ("SRGAN", "srgan", 21.15, 0.6868, 25.16, 0.6688),
    )
    out = []
    for method, ours, fig_psnr, fig_ssim, bsd_psnr, bsd_ssim in rows:
        out += [
            ReportedResult(f"{LEDIG}, Figure 2", method, task, "sr_psnr", fig_psnr, comparable_to=ours, note=ONE_IMAGE),
            ReportedResult(f"{LEDIG}, Figure 2", method, task, "sr_ssim", fig_ssim, comparable_to=ours, note=ONE_IMAGE),
            ReportedResult(f"{LEDIG}, Table 2", method, task, "sr_psnr", bsd_psnr, comparable_to=ours, note=BSD100),
            ReportedResult(f"{LEDIG}, Table 2", method, task, "sr_ssim", bsd_ssim, comparable_to=ours, note=BSD100),
        ]
    return tuple(out)


def sr_findings(task: str) -> tuple[Finding, ...]:
    ledig = "×4 on Set5, Set14 and BSD100 (photographs), 16-block SRResNet, 10⁶ MSE updates; SRGAN from it, 2·10⁵ more"
    sr3 = "ImageNet 64→256, SR3 against a regression model of the same U-Net"
    return (
        Finding(
            "srresnet-psnr",
            f"{LEDIG}, Table 2",
            "SRResNet, trained on the MSE, upscales with a higher PSNR than bicubic interpolation",
            f"{ledig}: 32.05 against 28.43 dB on Set5",
            task,
            "sr_psnr",
            ("srresnet", "bicubic"),
            "higher",
        ),
        Finding(
            "srgan-distortion",
            f"{LEDIG}, Table 2",
            "SRGAN's perceptual and adversarial losses cost PSNR: SRResNet's is higher",
            f"{ledig}: 32.05 against 29.40 dB on Set5, 27.58 against 25.16 on BSD100",
            task,
            "sr_psnr",
            ("srresnet", "srgan"),
            "higher",
        ),
        Finding(
            "srgan-below-bicubic",
            f"{LEDIG}, Figure 2",
            "SRGAN's PSNR is even below bicubic interpolation's",
            "one image at ×4 (21.15 against 21.59 dB) and BSD100's mean (25.16 against 25.94); not on Set5 or Set14, "
            "where SRGAN is above bicubic",
            task,
            "sr_psnr",
            ("bicubic", "srgan"),
            "higher",
        ),
        Finding(
            "srgan-perception",
            f"{LEDIG}, Table 2 (MOS)",
            "SRGAN's images look more like real ones than SRResNet's: a lower distance between the distributions",
            f"{ledig}; judged by 26 raters' mean opinion scores, not a feature distance",
            task,
            "fd",
            ("srgan", "srresnet"),
            "lower",
        ),
        Finding(
            "sr3-perception",
            "Saharia et al. 2021, Table 2",
            "diffusion super-resolution (SR3) gives a lower FID than a regression model (our MSE-trained SRResNet)",
            f"{sr3}: FID 5.2 against 15.2",
            task,
            "fd",
            ("sr3", "srresnet"),
            "lower",
        ),
        Finding(
            "sr3-distortion",
            "Saharia et al. 2021, Table 2",
            "the regression model keeps the higher PSNR: SR3's samples trade distortion for realism",
            f"{sr3}: PSNR 26.4 against 27.9",
            task,
            "sr_psnr",
            ("srresnet", "sr3"),
            "higher",
        ),
    )


def sr_suite(
    name: str,
    version: int,
    description: str,
    task: SRTask,
    evaluation: SREvaluation,
    short: Budget,
    full: Budget,
    n_eval: int,
    references: tuple[str, ...],
    srgan: SRGANConfig = SRGAN_FEATURES,
) -> Suite:
    budgets = (SMOKE, short, full)
    return register_suite(
        Suite(
            name=name,
            version=version,
            description=description,
            tasks=(task,),
            models=models(budgets, srgan),
            budgets=budgets,
            metrics=tuple(evaluation.required(task)),
            n_eval=n_eval,
            evaluation=evaluation,
            reported=ledig_2017(task.name),
            references=references,
            headline=HEADLINE,
            findings=sr_findings(task.name),
        )
    )
