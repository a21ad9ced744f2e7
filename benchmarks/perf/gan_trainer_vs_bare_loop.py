"""Training throughput of benchbox's GAN trainer against a bare loop of the same nets, side by side in one run.

    python benchmarks/perf/gan_trainer_vs_bare_loop.py [--steps 60] [--rounds 5] [--width 32] [--threads 1]

Both train DCGAN nets for 28×28 grey images (the fashion-mnist short budget's nets) with the non-saturating loss,
Adam 2e-4/0.5 and batch 64. The bare loop is the PyTorch DCGAN example's: one generator forward per step, reused for
the generator update, batches cut from a tensor already on the device. Ours is the runner's whole step: the shuffled
on-device data stream, GANTrainer.train_step (fresh latents for the generator update, D frozen during it, the EMA
update, losses read back for divergence detection). Rounds alternate between the two, so the machine's noise hits
both alike; the median images/s of each and their ratio are printed. Target: ours ≥ 0.9× the bare loop.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from benchbox.data.image_task import ImageStream
from benchbox.model import ModelContext
from benchbox.testing import fake_labeled_images
from reference_models.gan.dcgan import DCGANNetsConfig, dcgan_discriminator, dcgan_generator
from reference_models.gan.image_gan import ImageGAN, ImageGANConfig

BATCH = 64


def bare_loop(config: DCGANNetsConfig, data: torch.Tensor, steps: int) -> float:
    """Images/s of the PyTorch DCGAN example's loop on the same nets."""
    g, d = dcgan_generator(config), dcgan_discriminator(config)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    t0 = time.perf_counter()
    for step in range(steps):
        start = (step * BATCH) % (len(data) - BATCH)
        real = data[start : start + BATCH].float().div(127.5).sub(1)
        fake = g(torch.randn(BATCH, config.z_dim))
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-d(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    return steps * BATCH / (time.perf_counter() - t0)


def our_trainer(config: ImageGANConfig, stream: ImageStream, steps: int) -> float:
    """Images/s of the runner's step: data stream + GANTrainer.train_step with the protocol's EMA."""
    model = ImageGAN(config, ModelContext((1, 28, 28), torch.device("cpu"), 10))
    t0 = time.perf_counter()
    for _ in range(steps):
        losses = model.train_step(stream.next(model.examples_per_step))
        assert all(v == v for v in losses.values())
    return steps * model.examples_per_step / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = fake_labeled_images(6000, (1, 28, 28), 10, seed=0)
    nets = DCGANNetsConfig(base_width=args.width, image_size=28, channels=1)
    ours_config = replace(ImageGANConfig(), base_width=args.width)
    stream = ImageStream(data, seed=0, device=torch.device("cpu"))
    bare, ours = [], []
    bare_loop(nets, data.images, 5), our_trainer(ours_config, stream, 5)  # warm-up: allocator, kernels
    for _ in range(args.rounds):
        bare.append(bare_loop(nets, data.images, args.steps))
        ours.append(our_trainer(ours_config, stream, args.steps))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare loop   : {b:7.1f} images/s (median of {args.rounds} rounds of {args.steps} steps)")
    print(f"our trainer : {o:7.1f} images/s")
    print(f"ratio ours/bare: {o / b:.3f}  (target >= 0.9)")


if __name__ == "__main__":
    main()
