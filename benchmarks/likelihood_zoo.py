"""The likelihood and diffusion models every image suite trains beside the GAN zoo: AE, sparse AEs, VAE, DDPM
(with DDIM rows from the same network), the improved DDPM and a class-conditional DDPM with classifier-free
guidance swept over its scale.

Shared by benchmarks/digits.py, fashion_mnist.py and cifar10.py. These models train under their own budgets
(`ModelEntry.budgets`): a diffusion model's step is one optimiser step of L_simple, not a GAN's generator step, and on
a CPU its sampling, not its training, sets the cost. What each `short` budget cuts is written in its description and
printed above the report's table. `full` follows Ho et al. 2020 on CIFAR-10 exactly and their recipe, at our own
lengths, on the smaller sets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from benchbox.suite import Budget, ModelEntry, ReportedResult, Variant
from reference_models.ae import AEConfig
from reference_models.diffusion.model import DDPMConfig
from reference_models.vae import VAEConfig


@dataclass(frozen=True)
class DiffusionPlan:
    """One suite's diffusion protocol: U-Net shapes, and each budget's length and sampling settings."""

    channel_mults: tuple[int, ...]  # one entry per resolution level of the U-Net
    attention_resolutions: tuple[int, ...]  # feature-map sides with self-attention
    full_channels: int  # base width on `full`
    full: Budget  # the suite's `full` for diffusion models
    short: Budget  # the suite's `short` for diffusion models: a small U-Net, few sampling steps
    short_guidance: tuple[float, ...]  # guidance scales scored as rows on `short` (every scale on `full`)
    short_ddim: tuple[int, ...]  # DDIM step counts scored as rows on `short` (every count on `full`)


GUIDANCE_SCALES = (0.0, 2.0, 3.0, 5.0)  # w of the sweep besides w = 1 (the conditional model, the main row)
SMOKE_T = 20  # T on the smoke budget: a 20-step chain keeps sampling and the bound to seconds
DDIM_STEPS = (10, 50)  # Song et al. 2021's Table 1 reports S = 10, 20, 50, 100 on CIFAR-10
ANCESTRAL_STEPS = 10  # an ancestral row with DDIM's fewest steps: Song et al.'s comparison at equal steps


def autoencoders(latent_dim: int) -> tuple[ModelEntry, ...]:
    """AE, the two sparse AEs and the VAE, at the suite's latent size; they follow the suite's budgets."""
    ae = AEConfig(latent_dim=latent_dim)
    return (
        ModelEntry("ae", "ae", ae, "conv autoencoder (MSE); samples from a Gaussian fitted to its codes"),
        ModelEntry(
            "sparse-ae-l1",
            "ae",
            replace(ae, sparsity="l1"),
            "sparse autoencoder, L1 penalty λ = 0.001 on the codes",
        ),
        ModelEntry(
            "sparse-ae-kl",
            "ae",
            replace(ae, sparsity="kl"),
            "sparse autoencoder, sigmoid codes pushed to mean activation ρ = 0.05 (KL penalty, β = 0.001)",
        ),
        ModelEntry(
            "vae",
            "vae",
            VAEConfig(latent_dim=latent_dim),
            "VAE, discretized logistic decoder, β = 1 (Kingma & Welling 2014); NLL by IWAE, K = 1000",
        ),
    )


def diffusion(plan: DiffusionPlan) -> tuple[ModelEntry, ...]:
    """DDPM (+ DDIM rows), the improved DDPM, and the conditional DDPM's guidance sweep, under the plan's budgets."""
    ddpm = DDPMConfig(
        base_channels=plan.full_channels,
        channel_mults=plan.channel_mults,
        attention_resolutions=plan.attention_resolutions,
    )
    budgets = (SMOKE, plan.short, plan.full)
    ddim = tuple(
        Variant(
            f"ddim{k}",
            (("sampler", "ddim"), ("sample_steps", k), ("eta", 0.0)),
            f"DDIM, {k} steps, η = 0",
            ("full",) + (("short",) if k in plan.short_ddim else ()) + (("smoke",) if k <= SMOKE_T else ()),
        )
        for k in DDIM_STEPS
    ) + (
        Variant(
            f"anc{ANCESTRAL_STEPS}",
            (("sample_steps", ANCESTRAL_STEPS),),
            f"ancestral sampling respaced to {ANCESTRAL_STEPS} steps, σ² = β (DDIM's equal-steps comparison)",
            ("full",)
            + (("short",) if ANCESTRAL_STEPS in plan.short_ddim else ())
            + (("smoke",) if ANCESTRAL_STEPS <= SMOKE_T else ()),
        ),
    )
    guidance = tuple(
        Variant(
            f"w{w:g}",
            (("guidance_scale", w),),
            f"guidance scale w = {w:g}" + (" (the unconditional model)" if w == 0 else ""),
            ("smoke", "full") + (("short",) if w in plan.short_guidance else ()),
        )
        for w in GUIDANCE_SCALES
    )
    return (
        ModelEntry(
            "ddpm",
            "ddpm",
            ddpm,
            "DDPM: L_simple, linear β, T = 1000, ancestral sampling, EMA weights (Ho et al. 2020)",
            budgets,
            ddim,
        ),
        ModelEntry(
            "iddpm",
            "ddpm",
            replace(ddpm, schedule="cosine", learn_sigma=True, loss="hybrid"),
            "improved DDPM: cosine β, learned variances, L_hybrid with λ = 0.001 (Nichol & Dhariwal 2021)",
            budgets,
        ),
        ModelEntry(
            "ddpm-cfg",
            "ddpm",
            replace(ddpm, conditional=True),
            "class-conditional DDPM, labels dropped 10% of the time, sampled at w = 1 (Ho & Salimans 2021)",
            budgets,
            guidance,
        ),
    )


def short_diffusion_budget(
    steps: int, sample_steps: int, seeds: tuple[int, ...], extra: tuple[tuple[str, object], ...] = (), note: str = ""
) -> Budget:
    """A CPU budget for diffusion models: a small U-Net (base 16, one ResBlock per level), batch 64, a short warm-up,
    the bound estimated from 50 stratified timesteps per image, and ancestral sampling respaced to few steps."""
    return Budget(
        "short",
        steps=steps,
        checkpoint_every=max(1, steps // 4),
        seeds=seeds,
        model_overrides=(
            ("base_channels", 16),
            ("norm_groups", 8),
            ("num_res_blocks", 1),
            ("batch_size", 64),
            ("lr", 5e-4),
            ("warmup", 100),
            ("sample_steps", sample_steps),
            ("vlb_timesteps", 50),
            *extra,
        ),
        description=(
            f"{steps:,} steps of batch 64 on a U-Net of base width 16 with one ResBlock per level, lr 5e-4 after "
            f"100 warm-up steps; ancestral sampling respaced to {sample_steps} of the 1,000 steps; the bound "
            f"estimated from 50 stratified timesteps per test image; {len(seeds)} seeds" + (f". {note}" if note else "")
        ),
    )


SMOKE = Budget(
    "smoke",
    steps=4,
    checkpoint_every=2,
    seeds=(0,),
    model_overrides=(
        ("base_channels", 8),
        ("norm_groups", 8),
        ("num_res_blocks", 1),
        ("batch_size", 16),
        ("steps", SMOKE_T),
    ),
    n_eval=300,
    description="4 steps of a tiny U-Net with T = 20, 300 samples: for tests only",
)


def ho_2020_cifar10() -> tuple[ReportedResult, ...]:
    """Ho et al. 2020's CIFAR-10 figures for the L_simple model (their Tables 1 and 2)."""
    source = "Ho et al. 2020, Table 1"
    note = "50,000 samples against the training set; Inception space"
    return (
        ReportedResult(source, "DDPM (L_simple)", "cifar10", "is", 9.46, 0.11, "std", "ddpm", note),
        ReportedResult(source, "DDPM (L_simple)", "cifar10", "fid", 3.17, None, "", "ddpm", note),
        ReportedResult(
            source,
            "DDPM (L_simple)",
            "cifar10",
            "nll_bits_per_dim",
            3.75,
            None,
            "",
            "ddpm",
            "an upper bound (≤ 3.75) on the test set, the full T = 1000 bound",
        ),
    )
