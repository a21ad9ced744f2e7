"""DDPM speed at a suite's sizes: the model's training step and its samplers against bare loops of the same U-Net.

    python benchmarks/perf/ddpm_trainer_vs_bare_loop.py [--suite fashion-mnist] [--budget short] [--rounds 3]
        [--device cpu|cuda] [--precision fp32|bf16] [--channels-last]

The network is the suite's `ddpm` entry under the budget (e.g. fashion-mnist `short`: base width 16, one ResBlock per
level, 28×28 grey, batch 64). Rounds alternate so the machine's noise hits both sides alike; medians are printed.
- Training: `DDPM.train_step` (t and ε draws, q_sample, L_simple, warm-up learning rate, gradient clipping, the EMA
  update, the loss read back) against a bare forward/MSE/backward/Adam step on the same net and batch; target: ours
  ≥ 0.9× the bare loop (trainer overhead ≤ 10%).
- Sampling: images/s of `DDPM.sample` (ancestral, the budget's respaced steps) and of DDIM, each against a bare loop
  that calls the same EMA network on the same timesteps and does the update inline; target ≥ 0.9×.
- On a GPU, `--precision bf16` (autocast) and `--channels-last` run the same comparison; run once with each and
  compare the printed rates (speed-up over fp32).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from benchbox.model import ModelContext
from benchbox.suites import load_suite
from reference_models.diffusion.model import DDPM
from reference_models.diffusion.samplers import ddim_timesteps
from reference_models.diffusion.schedule import predict_x0, q_sample, respaced


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def bare_train(model: DDPM, opt: torch.optim.Optimizer, x0: torch.Tensor, steps: int) -> None:
    """Forward, MSE, backward and Adam on the same net and schedule, nothing else."""
    for _ in range(steps):
        t = torch.randint(1, model.config.steps + 1, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        loss = F.mse_loss(model.net(q_sample(model.schedule, x0, t, noise), t), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@torch.no_grad()
def bare_ancestral(model: DDPM, n: int, steps: int, device: torch.device) -> torch.Tensor:
    """Algorithm 2 on the respaced schedule, σ² = β', written inline around the EMA net."""
    net = model.ema.module
    taus = ddim_timesteps(model.config.steps, steps)
    sched = respaced(model.schedule, taus[::-1])
    x = torch.randn(n, *model.sample_shape, device=device)
    for i in range(len(taus), 0, -1):
        t = torch.full((n,), taus[len(taus) - i], device=device)
        beta, alpha, alpha_bar = (float(v[i - 1]) for v in (sched.betas, sched.alphas, sched.alpha_bars))
        x = (x - beta / (1 - alpha_bar) ** 0.5 * net(x, t)) / alpha**0.5
        if i > 1:
            x = x + beta**0.5 * torch.randn_like(x)
    return x


@torch.no_grad()
def bare_ddim(model: DDPM, n: int, steps: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """DDIM with η = 0 written inline around the EMA net (from the x_T that `DDPM.sample` draws with this seed)."""
    net, bars = model.ema.module, model.schedule.alpha_bars
    taus = ddim_timesteps(model.config.steps, steps)
    x = torch.randn(n, *model.sample_shape, generator=torch.Generator().manual_seed(seed)).to(device)
    for t, prev in zip(taus, [*taus[1:], 0], strict=True):
        tt = torch.full((n,), t, device=device)
        eps = net(x, tt)
        x0 = predict_x0(model.schedule, x, tt, eps)
        a_prev = float(bars[prev - 1]) if prev else 1.0
        x = a_prev**0.5 * x0 + (1 - a_prev) ** 0.5 * eps
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="fashion-mnist")
    parser.add_argument("--budget", default="short")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--samples", type=int, default=64, help="images per sampling round")
    parser.add_argument("--ddim-steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()

    device = torch.device(args.device)
    suite = load_suite(args.suite)
    entry = next(m for m in suite.models if m.name == "ddpm")
    budget = entry.budget_for(suite.budget(args.budget))
    config = replace(budget.apply(entry.config), dropout=0.0)
    task = suite.tasks[0]
    ctx = ModelContext(tuple(task.sample_shape), device, 0)
    ours, bare = DDPM(config, ctx), DDPM(config, ctx)
    bare.load_state_dict(ours.state_dict())
    if args.channels_last:
        for m in (ours, bare):
            m.net.to(memory_format=torch.channels_last)
            m.ema.module.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(bare.net.parameters(), lr=config.lr)
    x0 = torch.rand(config.batch_size, *task.sample_shape, device=device) * 2 - 1
    if args.channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16) if args.precision == "bf16" else contextlib.nullcontext()
    )
    sample_steps = config.sample_steps or config.steps
    ddim = ours.sampling_variant(replace(config, sampler="ddim", sample_steps=args.ddim_steps))
    gen = torch.Generator().manual_seed(0)
    n = args.samples
    pairs = {
        "training (steps/s)": (
            lambda: [ours.train_step(x0) for _ in range(args.steps)],
            lambda: bare_train(bare, opt, x0, args.steps),
            args.steps,
        ),
        f"ancestral, {sample_steps} steps (images/s)": (
            lambda: ours.sample(n, gen),
            lambda: bare_ancestral(ours, n, sample_steps, device),
            n,
        ),
        f"DDIM, {args.ddim_steps} steps (images/s)": (
            lambda: ddim.sample(n, gen),
            lambda: bare_ddim(ours, n, args.ddim_steps, device),
            n,
        ),
    }
    params = sum(p.numel() for p in ours.net.parameters())
    print(
        f"{args.suite} `{args.budget}` U-Net: {params / 1e6:.2f}M parameters, {tuple(task.sample_shape)}, batch "
        f"{config.batch_size}, {device}, {args.precision}{', channels_last' if args.channels_last else ''}, "
        f"{torch.get_num_threads()} threads"
    )
    with autocast:
        for label, (mine, theirs, count) in pairs.items():
            timed(mine, device), timed(theirs, device)  # warm-up
            a, b = [], []
            for _ in range(args.rounds):
                b.append(count / timed(theirs, device))
                a.append(count / timed(mine, device))
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"{label:38s} bare {mb:9.2f}   benchbox {ma:9.2f}   ratio {ma / mb:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
