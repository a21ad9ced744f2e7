"""DDPM speed: the model's training step against a bare loop of the same U-Net, and sampling with DDPM and DDIM.

    python benchmarks/perf/ddpm_trainer_vs_bare_loop.py [--steps 10] [--rounds 3] [--width 16] [--batch 32]

Training: `DDPM.train_step` (t and ε draws, q_sample, L_simple, the warm-up learning rate, gradient clipping, the EMA
update, the loss read back) against the bare forward/backward/Adam step of the same U-Net on the same noised batch,
rounds alternating so the machine's noise hits both alike; target: ours ≥ 0.9× the bare loop. Sampling: images/s of
ancestral sampling over all T steps and of DDIM with 50 steps, from the same network (their ratio is the step
count's, T/50, less per-step overhead). 28×28 grey images, as the fashion-mnist suite's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from benchbox.model import ModelContext
from reference_models.diffusion.model import DDPM, DDPMConfig
from reference_models.diffusion.schedule import q_sample

SHAPE = (1, 28, 28)


def bare_loop(model: DDPM, x0: torch.Tensor, steps: int) -> float:
    """Steps/s of forward, MSE, backward and Adam on the same net and schedule, nothing else."""
    net, opt = model.net, torch.optim.Adam(model.net.parameters(), lr=2e-4)
    t0 = time.perf_counter()
    for _ in range(steps):
        t = torch.randint(1, model.config.steps + 1, (x0.shape[0],))
        noise = torch.randn_like(x0)
        loss = F.mse_loss(net(q_sample(model.schedule, x0, t, noise), t), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def ours(model: DDPM, x0: torch.Tensor, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_step(x0)
    return steps / (time.perf_counter() - t0)


def sampling_rate(model: DDPM, n: int) -> float:
    t0 = time.perf_counter()
    model.sample(n, torch.Generator().manual_seed(0))
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--T", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()
    config = DDPMConfig(
        steps=args.T,
        base_channels=args.width,
        channel_mults=(1, 2, 2),
        attention_resolutions=(7,),
        norm_groups=8,
        batch_size=args.batch,
        dropout=0.0,
    )
    ctx = ModelContext(SHAPE, torch.device("cpu"))
    x0 = torch.rand(args.batch, *SHAPE) * 2 - 1
    trained, bare = DDPM(config, ctx), DDPM(config, ctx)
    params = sum(p.numel() for p in trained.net.parameters())
    ours(trained, x0, 2), bare_loop(bare, x0, 2)  # warm-up
    a, b = [], []
    for _ in range(args.rounds):
        b.append(bare_loop(bare, x0, args.steps))
        a.append(ours(trained, x0, args.steps))
    mb, ma = statistics.median(b), statistics.median(a)
    print(f"U-Net {params / 1e6:.2f}M parameters, batch {args.batch}, 28×28, {torch.get_num_threads()} threads")
    print(f"training, bare loop : {mb:6.2f} steps/s")
    print(f"training, DDPM      : {ma:6.2f} steps/s   ratio {ma / mb:.3f} (target >= 0.9)")
    ddim = DDPM(replace(config, sampler="ddim", sample_steps=50), ctx)
    ddim.load_state_dict(trained.state_dict())
    rate_ddpm, rate_ddim = sampling_rate(trained, args.samples), sampling_rate(ddim, args.samples)
    print(f"sampling, DDPM {args.T} steps: {rate_ddpm:7.3f} images/s ({trained.network_evaluations_per_sample} calls)")
    print(f"sampling, DDIM 50 steps  : {rate_ddim:7.3f} images/s ({ddim.network_evaluations_per_sample} calls)")
    print(f"DDIM/DDPM speed-up: {rate_ddim / rate_ddpm:.1f}× (step ratio {args.T / 50:.0f}×)")


if __name__ == "__main__":
    main()
