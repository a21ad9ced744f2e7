"""What the papers behind the image suites' rows found, as claims every image suite's records decide.

Shared by benchmarks/digits.py, fashion_mnist.py and cifar10.py through `zoo_suite`. Values are catalogue base names
(`fd` finds `fd_digits` on digits and `fid` on CIFAR-10 with Inception weights), so one list serves every suite.
The conditions are the papers'; our budgets differ from them, which is why a finding is a test, not a citation.
"""

from __future__ import annotations

from benchbox.description import Finding


def guidance_rows(scales: tuple[float, ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The guidance sweep's rows in increasing w (w = 1 is the conditional model's own row) and their scales."""
    ws = sorted({*scales, 1.0})
    return tuple("ddpm-cfg" if w == 1.0 else f"ddpm-cfg-w{w:g}" for w in ws), tuple(ws)


def image_findings(task: str, guidance: tuple[float, ...]) -> tuple[Finding, ...]:
    """The image suites' findings on `task`, with the guidance sweep over `guidance` (and w = 1)."""
    cfg_rows, cfg_x = guidance_rows(guidance)
    guidance_conditions = (
        "Ho & Salimans 2021, Tables 1–2: ImageNet 64×64 and 128×128, IS rises with w while FID passes a minimum near "
        "w = 0.3; the precision/recall form is Dhariwal & Nichol 2021's (Fig. 5, classifier guidance). Tested over "
        "our sweep's rows; rows a budget does not score are left out of the trend"
    )
    return (
        Finding(
            "relativistic",
            "Jolicoeur-Martineau 2018, Table 1",
            "the relativistic average GAN (RaSGAN) gives a lower Fréchet distance than the standard GAN (SGAN)",
            "CIFAR-10, a standard CNN, Adam 2e-4 (0.5, 0.999), one D step per G step, 100k generator steps; reported "
            "FID 31.98 against 40.64",
            task,
            "fd",
            ("rasgan", "dcgan"),
            "lower",
        ),
        Finding(
            "gradient-penalty",
            "Gulrajani et al. 2017, Fig. 3",
            "WGAN's critic trains better with a gradient penalty than with clipped weights: a lower Fréchet distance",
            "CIFAR-10, DCGAN-like nets, 5 critic steps; WGAN-GP with Adam 1e-4 (0, 0.9) against weight clipping with "
            "RMSProp 5e-5, compared by Inception score over 200k generator steps",
            task,
            "fd",
            ("wgan-gp", "wgan"),
            "lower",
        ),
        Finding(
            "ddim-10-steps",
            "Song et al. 2021, Table 1",
            "with 10 sampling steps, DDIM (η = 0) gives a lower Fréchet distance than ancestral sampling from the same "
            "weights",
            "CIFAR-10, Ho et al.'s trained DDPM; S = 10 steps: FID 13.36 (η = 0) against 41.07 (η = 1) and 367.43 "
            "(σ̂, the ancestral sampler with σ² = β that our ddpm-anc10 row uses)",
            task,
            "fd",
            ("ddpm-ddim10", "ddpm-anc10"),
            "lower",
        ),
        Finding(
            "guidance-precision",
            "Ho & Salimans 2021",
            "raising the guidance scale w raises precision (samples nearer the data)",
            guidance_conditions,
            task,
            "precision",
            cfg_rows,
            "rises",
            x=cfg_x,
        ),
        Finding(
            "guidance-recall",
            "Ho & Salimans 2021",
            "raising the guidance scale w lowers recall (less of the data covered)",
            guidance_conditions,
            task,
            "recall",
            cfg_rows,
            "falls",
            x=cfg_x,
        ),
        Finding(
            "improved-ddpm-likelihood",
            "Nichol & Dhariwal 2021, Tables 1–2",
            "learned variances, L_hybrid and the cosine schedule give a lower NLL bound (bits/dim) than DDPM's L_simple",
            "ImageNet 64×64 and CIFAR-10, their U-Net, T = 4,000, 500k–1.5M steps; the NLL is the full variational "
            "bound",
            task,
            "nll_bits_per_dim",
            ("iddpm", "ddpm"),
            "lower",
        ),
        Finding(
            "iwae-bound",
            "Burda et al. 2016, Theorem 1 and Table 1",
            "the importance-weighted bound (K samples) on the NLL is tighter than the ELBO of the same VAE",
            "a theorem (log p(x) ≥ L_K ≥ L_1 in expectation); Table 1: MNIST, K = 5,000 for the NLL estimate",
            task,
            "nll_bits_per_dim",
            ("vae", "vae"),
            "lower",
            versus_value="elbo_bits_per_dim",
        ),
    )
