"""fashion-mnist: the GAN zoo on Fashion-MNIST (Xiao et al. 2017), 28×28 grey, the main offline image suite.

Protocol (version 1):
- Data: the published IDX files (60,000 train / 10,000 test, digests checked; benchbox/data/fashion_mnist.py).
  Batches of 64 from a fixed, seeded shuffle of the training split held on the device.
- Models: the zoo of benchmarks/gan_zoo.py on DCGAN nets for 28×28 (7 → 14 → 28), each with its paper's optimiser
  settings; samples from an EMA of the generator's weights (decay 0.999, batch norm statistics re-measured).
- Metrics on 10,000 samples against the 10,000 test images, as Lucic et al. 2018 compute FID, but in the space of
  the classifier benchbox trains on the training split (91.6% test accuracy), so they are named fd_fashion_mnist,
  kid_fashion_mnist, …, not FID: precision/recall (k = 3), density/coverage (k = 5), classes covered and the KL of
  the predicted class histogram to the test set's, NDB (50 bins), and the class accuracy of conditional samples.
  Inception FID/KID/IS are added on the `full` budget when the Inception weights are on disk.
- Likelihood and diffusion models (benchmarks/likelihood_zoo.py), added beside the zoo without changing any of
  its cells: AE, sparse AEs (L1, KL), VAE (latent 32), DDPM with DDIM-10/50 rows from the same network, the improved
  DDPM, and the class-conditional DDPM swept over its guidance scale. They also record bits/dim on the first 500 test
  images (VAE: IWAE with K = 1000 and its ELBO; DDPM: the variational bound), reconstruction PSNR/SSIM (AE, VAE),
  and network evaluations and seconds per sample. Diffusion models have their own budgets, printed with the table.
- Budgets: `full` follows Lucic et al. 2018's protocol for their Fashion-MNIST table: their InfoGAN-style nets
  (fully connected layers of 1024 in G and D, `fc_hidden`), a 64-d latent, 20 epochs of 50,000 images at batch 64
  (15,625 generator steps), 10,000 samples against the 10,000 test images, 5 seeds; their uniform latent prior is the
  one difference left (ours is normal). `short` (1,500 generator steps,
  base width 32, 3 seeds) trains the 24 models × 3 seeds in about 95 minutes on a 2-core CPU; `smoke` is for tests.

Reported numbers: the best FID per model on Fashion-MNIST from Lucic et al. 2018 (mean ± std over the best
configuration's reruns, Inception space, their nets and a large hyperparameter search). They sit beside ours for their
ordering only: our values are distances in another feature space.
"""

from __future__ import annotations

from benchbox.data.image_task import ImageTask
from benchbox.evaluation.features import FeatureEvaluation
from benchbox.suite import Budget
from benchmarks.gan_zoo import lucic_2018_fid, zoo_suite
from benchmarks.likelihood_zoo import DiffusionPlan, autoencoders, diffusion, short_diffusion_budget

TASK = ImageTask(
    "fashion-mnist", "fashion-mnist", (1, 28, 28), 10, description="Fashion-MNIST, 60,000 train / 10,000 test, 28×28"
)

# Lucic et al. 2018, best FID per model on Fashion-MNIST (their Table 2), as reproduced identically by Dai & Wipf
# 2019 (Table 1) and Zhang & Khoreva 2019 (Table 2): (method, our comparable model, mean, std).
LUCIC_2018_FASHION_FID = (
    ("MM GAN", "gan-minimax", 29.6, 1.6),
    ("NS GAN", "dcgan", 26.5, 1.6),
    ("LSGAN", "lsgan", 30.7, 2.2),
    ("WGAN", "wgan", 21.5, 1.6),
    ("WGAN GP", "wgan-gp", 24.5, 2.1),
    ("DRAGAN", "dragan", 27.7, 1.2),
    ("BEGAN", "began", 22.9, 0.9),
)

# The U-Net for 28×28: three levels (28, 14, 7) with attention at 14×14, as Ho et al. put it at CIFAR-10's 16×16.
DIFFUSION = DiffusionPlan(
    channel_mults=(1, 2, 2),
    attention_resolutions=(14,),
    full_channels=64,
    full=Budget(
        "full",
        steps=200_000,
        checkpoint_every=10_000,
        seeds=(0, 1, 2),
        description="200,000 steps of batch 128 with Ho et al. 2020's recipe on a U-Net of base width 64, 3 seeds; "
        "our own length (theirs is 800,000 on CIFAR-10)",
    ),
    short=short_diffusion_budget(2000, 20, (0, 1, 2)),
    short_guidance=(0.0, 3.0),
    short_ddim=(10,),
)

# Lucic et al. 2018, Table 7 (MNIST and Fashion-MNIST): InfoGAN's nets, a 64-d latent. Their prior is U(−1, 1);
# ours stays N(0, I), the one difference left.
LUCIC_NETS = (("fc_hidden", 1024), ("z_dim", 64), ("base_width", 64))

SUITE = zoo_suite(
    name="fashion-mnist",
    version=1,
    description="The GAN zoo on Fashion-MNIST, scored in the space of benchbox's own Fashion-MNIST classifier.",
    task=TASK,
    short=Budget(
        "short",
        steps=1500,
        checkpoint_every=500,
        seeds=(0, 1, 2),
        model_overrides=(("base_width", 32),),
        description="1,500 generator steps of batch 64 (1.6 epochs) with base width 32, 3 seeds",
    ),
    full=Budget(
        "full",
        steps=15_625,
        checkpoint_every=1563,
        seeds=(0, 1, 2, 3, 4),
        model_overrides=LUCIC_NETS,
        description="Lucic et al. 2018's protocol for their table: their InfoGAN-style nets (FC 1024 in G and D, "
        "7·7·128 → 64 → 1 deconvs, a 64-d latent), 20 epochs of 50,000 images at batch 64, 10,000 samples against "
        "the 10,000 test images, 5 seeds",
    ),
    n_eval=10_000,
    evaluation=FeatureEvaluation(),
    reported=lucic_2018_fid("fashion-mnist", LUCIC_2018_FASHION_FID),
    references=(
        "Xiao et al. 2017, Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
        "Lucic et al. 2018, Are GANs Created Equal? A Large-Scale Study",
        "Ho et al. 2020, Denoising Diffusion Probabilistic Models",
        "Song et al. 2021, Denoising Diffusion Implicit Models",
        "Nichol & Dhariwal 2021, Improved Denoising Diffusion Probabilistic Models",
        "Ho & Salimans 2021, Classifier-Free Diffusion Guidance",
    ),
    extra_models=autoencoders(latent_dim=32) + diffusion(DIFFUSION),
)
