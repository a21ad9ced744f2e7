"""cifar10: the GAN zoo on CIFAR-10 (Krizhevsky 2009), 32×32 RGB.

Protocol (version 1):
- Data: the canonical python archive (MD5 checked; benchbox/data/cifar10.py): 50,000 train / 10,000 test images,
  found through --data-dir, $BENCHBOX_DATA, the cache folder, or downloaded. Batches of 64 from a fixed, seeded
  shuffle of the training split held on the device.
- Models: the zoo of benchmarks/gan_zoo.py on DCGAN nets for 32×32 (4 → 8 → 16 → 32, the DCGAN paper's 64×64 nets
  less their first stage), each with its paper's optimiser settings; samples from the generator's EMA.
- Metrics on 10,000 samples against the 10,000 test images: in the space of the classifier benchbox trains on the
  training split (fd_cifar10, kid_cifar10, precision/recall, density/coverage, classes, NDB, class accuracy of
  conditional samples), and, on the `full` budget, Inception FID/KID/IS when the Inception weights are on disk.
- Likelihood and diffusion models (benchmarks/likelihood_zoo.py), added beside the zoo without changing any of
  its cells: AE, sparse AEs, VAE (latent 64), DDPM with DDIM rows, the improved DDPM and the guidance sweep of a
  class-conditional DDPM. DDPM's `full` budget is Ho et al. 2020's CIFAR-10 protocol, whose reported IS 9.46,
  FID 3.17 and NLL ≤ 3.75 bits/dim (test set) sit beside ours.
- Budgets: `full` follows Lucic et al. 2018's length for CIFAR-10 (100 epochs of 50,000 images at batch 64: 78,125
  generator steps; their nets are InfoGAN's, ours DCGAN's) with 5 seeds: GPU hours. `short` (1,000 generator steps,
  base width 32, 1 seed) is minutes per model on a CPU; `smoke` is for tests.

Reported numbers: Lucic et al. 2018's best FID per model on CIFAR-10 (Inception space, their nets, a large
hyperparameter search), beside ours for their ordering.
"""

from __future__ import annotations

from benchbox.data.image_task import ImageTask
from benchbox.evaluation.features import FeatureEvaluation
from benchbox.suite import Budget
from benchmarks.gan_zoo import IMAGE_HEADLINE, lucic_2018_fid, zoo_suite
from benchmarks.likelihood_zoo import DiffusionPlan, autoencoders, diffusion, ho_2020_cifar10, short_diffusion_budget

TASK = ImageTask("cifar10", "cifar10", (3, 32, 32), 10, description="CIFAR-10, 50,000 train / 10,000 test, 32×32 RGB")

# Lucic et al. 2018, best FID per model on CIFAR-10 (their Table 2), as reproduced by Dai & Wipf 2019 and Zhang &
# Khoreva 2019. The two copies differ on LSGAN's spread (± 47.5 and ± 0.9), which is therefore left out.
LUCIC_2018_CIFAR_FID = (
    ("MM GAN", "gan-minimax", 72.7, 3.6),
    ("NS GAN", "dcgan", 58.5, 1.9),
    ("LSGAN", "lsgan", 87.1, None),
    ("WGAN", "wgan", 55.2, 2.3),
    ("WGAN GP", "wgan-gp", 55.8, 0.9),
    ("DRAGAN", "", 69.8, 2.0),
    ("BEGAN", "began", 71.4, 1.6),
)

# Ho et al. 2020's CIFAR-10 protocol on `full`: their U-Net (base 128, levels 32/16/8/4, attention at 16×16, dropout
# 0.1, 35.7M parameters), T = 1000 with linear β, 800,000 steps of batch 128, Adam 2e-4 after 5,000 warm-up steps,
# EMA 0.9999, 1,000 ancestral steps per sample. `short` drops the 4×4 level and narrows the net for a CPU.
DIFFUSION = DiffusionPlan(
    channel_mults=(1, 2, 2, 2),
    attention_resolutions=(16,),
    full_channels=128,
    full=Budget(
        "full",
        steps=800_000,
        checkpoint_every=20_000,
        seeds=(0, 1, 2),
        description="Ho et al. 2020's CIFAR-10 protocol: 800,000 steps of batch 128 on their 35.7M-parameter U-Net, "
        "1,000 ancestral sampling steps, 3 seeds",
    ),
    short=short_diffusion_budget(2000, 20, (0,), extra=(("channel_mults", (1, 2, 2)),), note="Levels 32/16/8 only"),
    short_guidance=(0.0, 3.0),
    short_ddim=(10,),
)

SUITE = zoo_suite(
    name="cifar10",
    version=1,
    description="The GAN zoo on CIFAR-10, scored in the space of benchbox's own CIFAR-10 classifier.",
    task=TASK,
    short=Budget(
        "short",
        steps=1000,
        checkpoint_every=250,
        seeds=(0,),
        model_overrides=(("base_width", 32),),
        description="1,000 generator steps of batch 64 with base width 32, 1 seed",
    ),
    full=Budget(
        "full",
        steps=78_125,
        checkpoint_every=7813,
        seeds=(0, 1, 2, 3, 4),
        description="Lucic et al. 2018's length: 100 epochs of 50,000 images at batch 64, base width 64, 5 seeds",
    ),
    n_eval=10_000,
    evaluation=FeatureEvaluation(),
    reported=lucic_2018_fid("cifar10", LUCIC_2018_CIFAR_FID) + ho_2020_cifar10(),
    references=(
        "Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images",
        "Lucic et al. 2018, Are GANs Created Equal? A Large-Scale Study",
        "Ho et al. 2020, Denoising Diffusion Probabilistic Models",
        "Song et al. 2021, Denoising Diffusion Implicit Models",
        "Nichol & Dhariwal 2021, Improved Denoising Diffusion Probabilistic Models",
        "Ho & Salimans 2021, Classifier-Free Diffusion Guidance",
    ),
    extra_models=autoencoders(latent_dim=64) + diffusion(DIFFUSION),
    headline=("fd", "is", *IMAGE_HEADLINE[1:]),  # CIFAR-10 papers print IS beside FID
)
