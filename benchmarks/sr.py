"""sr: super-resolution ×2 on Fashion-MNIST (offline); sr-cifar10: ×4 on CIFAR-10 (its data is downloaded).

Protocol (version 1 of each):
- Data: the dataset's training split for training; the first `n_eval` test images for scoring. Low-resolution inputs
  are the images shrunk by bicubic with antialiasing (Keys' a = −0.5, MATLAB's imresize and PIL's kernel) and rounded
  to 8 bits (benchbox/sr/degrade.py): 28×28 → 14×14 on Fashion-MNIST, 32×32 → 8×8 on CIFAR-10.
- Models (benchmarks/sr_models.py): bicubic upscaling with the same kernel; SRResNet (Ledig et al. 2017) on the
  pixels' MSE; SRGAN, the same generator trained on MSE for the first half of its steps, then on a feature content
  loss (benchbox's own classifier of the dataset, cut after its second conv layer, in place of VGG54) plus 1e-3 × the
  non-saturating adversarial loss (on sr-cifar10, Ledig et al.'s VGG54 loss: VGG19's conv5_4 maps × 1/12.75, its
  weights in $BENCHBOX_VGG_WEIGHTS or the cache); an SR3-style conditional DDPM (Saharia et al. 2021) with DDIM sampling.
- Metrics: PSNR and SSIM on 8-bit images against each test image's original, on the stated channel (the grey image
  itself on Fashion-MNIST; Y of ITU-R BT.601 on CIFAR-10) with the stated border shaved (the factor: 2 and 4 pixels);
  FD and KID between the upscaled and the original test images in the space of benchbox's classifier of the dataset
  (fd_fashion_mnist, not FID); seconds per upscaled image. The classifier that scores FD is the one whose early
  layers give SRGAN's content loss: the same network, another layer.
- Budgets: `full` is Ledig et al.'s generator (16 blocks of 64 channels) and discriminator (64 → 512) at batch 16,
  our own length (100,000 steps; SRGAN 50,000 of MSE then 50,000 adversarial; theirs is 10⁶ + 2·10⁵ on ImageNet),
  all 10,000 test images, 3 seeds. `short` shrinks every net (generator 4 blocks of 32, U-Net of base width 32) and
  trains 1,500 steps on 1,000 test images, 3 seeds; `smoke` is for tests.

Reported numbers: the lecture's row, Ledig et al.'s Figure 2 (one image at ×4, not a data set's mean), and the paper's
BSD100 means at ×4 (Table 2). Both are photographs at ×4: they sit beside ours for their ordering only.
"""

from __future__ import annotations

from benchbox.metrics.super_resolution import FidelitySettings
from benchbox.sr.evaluation import SREvaluation
from benchbox.sr.task import SRTask
from benchbox.suite import Budget
from benchmarks.cifar10 import TASK as CIFAR10
from benchmarks.fashion_mnist import TASK as FASHION_MNIST
from benchmarks.sr_models import SMALL_NETS, SRGAN_VGG54, sr_suite

REFERENCES = (
    "Ledig et al. 2017, Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network",
    "Shi et al. 2016, Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel CNN",
    "Saharia et al. 2021, Image Super-Resolution via Iterative Refinement",
    "Blau & Michaeli 2018, The Perception-Distortion Tradeoff",
    "Wang et al. 2004, Image Quality Assessment: From Error Visibility to Structural Similarity",
)


def short_budget(steps: int) -> Budget:
    return Budget(
        "short",
        steps=steps,
        checkpoint_every=steps // 3,
        seeds=(0, 1, 2),
        model_overrides=(*SMALL_NETS, ("pretrain_steps", steps // 2), ("sample_steps", 20)),
        n_eval=1000,
        description=f"{steps:,} steps of batch 16 on small nets (generator 4 blocks × 32, discriminator 32 → 128, "
        f"U-Net base 32); SRGAN's first {steps // 2:,} on MSE alone; SR3 with 20 DDIM steps; 1,000 test images, "
        "3 seeds",
    )


FULL = Budget(
    "full",
    steps=100_000,
    checkpoint_every=5_000,
    seeds=(0, 1, 2),
    model_overrides=(("pretrain_steps", 50_000),),
    description="Ledig et al.'s nets at batch 16 for 100,000 steps (SRGAN: 50,000 of MSE, then 50,000 adversarial), "
    "SR3 with 50 DDIM steps, all 10,000 test images, 3 seeds; our own length",
)

COMMON = {"short": short_budget(1500), "full": FULL, "n_eval": 10_000, "references": REFERENCES}  # both suites'

SUITE = sr_suite(
    name="sr",
    version=1,
    description="Super-resolution ×2 on Fashion-MNIST: PSNR/SSIM against the originals and FD in the space of "
    "benchbox's own Fashion-MNIST classifier, so the perception–distortion trade-off shows in one table.",
    task=SRTask("fashion-mnist-x2", FASHION_MNIST, 2, "Fashion-MNIST, 14×14 → 28×28 (bicubic, antialiased, 8-bit)"),
    evaluation=SREvaluation(FidelitySettings(channel="y", shave=2)),
    **COMMON,
)

CIFAR10_SUITE = sr_suite(
    name="sr-cifar10",
    version=1,
    description="Super-resolution ×4 on CIFAR-10: PSNR/SSIM on Y (BT.601) and FD in the space of benchbox's own "
    "CIFAR-10 classifier.",
    task=SRTask("cifar10-x4", CIFAR10, 4, "CIFAR-10, 8×8 → 32×32 (bicubic, antialiased, 8-bit)"),
    evaluation=SREvaluation(FidelitySettings(channel="y", shave=4)),
    srgan=SRGAN_VGG54,
    **COMMON,
)
