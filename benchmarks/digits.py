"""digits: the GAN zoo on scikit-learn's 8×8 handwritten digits, the fastest offline image suite.

Protocol (version 1):
- Data: scikit-learn's bundled digits (UCI optdigits test set), 1,442 training and 355 test images, 8×8 grey, fixed
  split (benchbox/data/digits.py). Batches from a fixed shuffle of the training split held on the device.
- Models: the zoo of benchmarks/gan_zoo.py on DCGAN nets for 8×8 (2 → 4 → 8); samples from the generator's EMA.
- Metrics on 2,000 samples against the 355 test images, in the space of the classifier benchbox trains on the
  training split (98.6% test accuracy): fd_digits, kid_digits (subsets of 300), precision/recall (k = 3),
  density/coverage (k = 5), classes covered and the KL of the class histogram, NDB (50 bins); class accuracy for
  conditional models. None of these is FID: the feature space is not Inception's.
- Likelihood and diffusion models (benchmarks/likelihood_zoo.py), added beside the zoo without changing any of
  its cells: AE, sparse AEs, VAE (latent 16), DDPM with DDIM rows, the improved DDPM and the guidance sweep of a
  class-conditional DDPM, with bits/dim, reconstruction PSNR and sampling cost; diffusion budgets of their own.
- Budgets: no paper trains GANs on these 8×8 digits, so `full` is our own: 10,000 generator steps at the zoo's
  widths, 5 seeds. `short` narrows the nets (base width 16) for minutes on a CPU; `smoke` is for tests.
"""

from __future__ import annotations

from benchbox.data.image_task import ImageTask
from benchbox.evaluation.features import FeatureEvaluation
from benchbox.pipeline import ScoreSettings
from benchbox.suite import Budget
from benchmarks.gan_zoo import zoo_suite
from benchmarks.likelihood_zoo import DiffusionPlan, autoencoders, diffusion, short_diffusion_budget

TASK = ImageTask("digits", "digits", (1, 8, 8), 10, description="scikit-learn's 8×8 digits, 1,442 train / 355 test")

# The U-Net for 8×8: two levels (8, 4) with attention at 4×4. No paper trains diffusion on these digits, so `full`
# is Ho et al.'s recipe at our own length; `short` keeps all 1,000 steps' worth of model but samples 100 of them.
DIFFUSION = DiffusionPlan(
    channel_mults=(1, 2),
    attention_resolutions=(4,),
    full_channels=64,
    full=Budget(
        "full",
        steps=50_000,
        checkpoint_every=5000,
        seeds=(0, 1, 2, 3, 4),
        description="50,000 steps of batch 128 with Ho et al. 2020's recipe on a U-Net of base width 64; our own",
    ),
    short=short_diffusion_budget(2000, 100, (0, 1, 2)),
    short_guidance=(0.0, 2.0, 3.0, 5.0),
    short_ddim=(10, 50),
)

SUITE = zoo_suite(
    name="digits",
    version=1,
    description="The GAN zoo on 8×8 digits, scored in the space of benchbox's own digits classifier.",
    task=TASK,
    short=Budget(
        "short",
        steps=1000,
        checkpoint_every=250,
        seeds=(0, 1, 2),
        model_overrides=(("base_width", 16),),
        description="1,000 generator steps of batch 64 with base width 16, 3 seeds",
    ),
    full=Budget(
        "full",
        steps=10_000,
        checkpoint_every=1000,
        seeds=(0, 1, 2, 3, 4),
        description="10,000 generator steps of batch 64 with the zoo's nets (base width 64), 5 seeds; our own",
    ),
    n_eval=2000,
    evaluation=FeatureEvaluation(settings=ScoreSettings(kid_subset_size=300)),
    references=(
        "Alpaydin & Kaynak 1998, Optical Recognition of Handwritten Digits (UCI)",
        "Ho et al. 2020, Denoising Diffusion Probabilistic Models",
        "Song et al. 2021, Denoising Diffusion Implicit Models",
        "Nichol & Dhariwal 2021, Improved Denoising Diffusion Probabilistic Models",
        "Ho & Salimans 2021, Classifier-Free Diffusion Guidance",
    ),
    extra_models=autoencoders(latent_dim=16) + diffusion(DIFFUSION),
)
