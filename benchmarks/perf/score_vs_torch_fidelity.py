"""`benchbox score` against torch-fidelity's `calculate_metrics` (FID+KID+IS), side by side in one run.

    python benchmarks/perf/score_vs_torch_fidelity.py [--n 256] [--device cpu|cuda] [--weights PATH]

Times, on the same images, weights file and device:
  1. cold: both libraries extract features of a real and a generated set and compute FD, KID and IS, each at its
     default batch size (torch-fidelity 64; benchbox 16 on a CPU, 64 on a GPU), then torch-fidelity at 16 too;
  2. warm: a *new* generated set against the same real set. benchbox reuses its cached real features; torch-fidelity
     is timed both as users usually call it (two folders, nothing cached) and with its own cache for the real set;
  3. Inception forward alone, channels_last against NCHW, with the largest feature difference between them;
  4. the FD step at 2048-d, benchbox's eigenvalues against scipy's sqrtm formula.
Targets: cold ≥ 1.5×, warm ≥ 2×, FD step ≥ 4×. Without --weights a random-init stand-in for the Inception weights
is used (the published file cannot be fetched offline); speed does not depend on the weights' values. FD and KID
use pool layer 64 here so that a few hundred images give a non-singular covariance; the network runs in full for
the IS logits either way, so the timing is that of the 2048-d protocol.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch_fidelity
from scipy import linalg

from benchbox.features import ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.features.extract import extract
from benchbox.metrics.frechet import frechet_distance
from benchbox.scoring import ScoreSettings, build_extractor, score
from benchbox.testing import TensorImages, blocky_images, make_inception_weights


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def torch_fidelity_scores(fake, real, weights, device, subset, cache_root=None, batch_size=64):
    return torch_fidelity.calculate_metrics(
        batch_size=batch_size,
        input1=TensorImages(fake),
        input2=TensorImages(real),
        fid=True,
        kid=True,
        isc=True,
        feature_layer_fid="64",
        feature_layer_kid="64",
        kid_subset_size=subset,
        feature_extractor_weights_path=str(weights),
        cuda=device.type == "cuda",
        cache=cache_root is not None,
        cache_root=cache_root,
        input2_cache_name="perf-real" if cache_root else None,
        verbose=False,
    )


def sqrtm_formula(mu1, s1, mu2, s2):
    covmean = linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="images per set (default 256)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--weights", type=Path, help="Inception weights (default: a random-init stand-in)")
    args = parser.parse_args()
    device = torch.device(args.device)
    work = Path(tempfile.mkdtemp(prefix="benchbox-perf-"))
    os.environ["BENCHBOX_CACHE"] = str(work / "benchbox-cache")
    weights = args.weights or work / "inception-standin.pth"
    if args.weights is None:
        make_inception_weights(weights)
    real, fake, fake2 = (blocky_images(args.n, seed, tint) for seed, tint in ((0, 0), (1, 40), (2, 30)))
    subset = min(1000, args.n)
    options = ExtractorOptions(device=device, weights=weights, allow_custom_weights=True)
    settings = ScoreSettings(kid_subset_size=subset)
    cache = FeatureCache()

    def ours(f):
        return score(real, f, ("fid", "kid", "is"), "inception:64", options, settings, cache=cache).values

    print(f"{args.n} real + {args.n} generated 32×32 images, device {device}, {torch.get_num_threads()} threads")
    t_tf, tf = timed(lambda: torch_fidelity_scores(fake, real, weights, device, subset))
    t_bb, bb = timed(lambda: ours(fake))
    print(
        f"cold   torch-fidelity {t_tf:7.1f} s ({2 * args.n / t_tf:5.1f} img/s)   benchbox {t_bb:7.1f} s "
        f"({2 * args.n / t_bb:5.1f} img/s)   speed-up {t_tf / t_bb:.2f}× (target ≥ 1.5×)"
    )
    print(
        f"       FD {bb['fd_inception64_custom']:.6f} vs {tf['frechet_inception_distance']:.6f}, "
        f"IS {bb['is_inception64_custom']:.6f} vs {tf['inception_score_mean']:.6f}"
    )

    t_tf16, _ = timed(lambda: torch_fidelity_scores(fake, real, weights, device, subset, batch_size=16))
    print(f"       torch-fidelity at benchbox's CPU batch size 16: {t_tf16:.1f} s, speed-up {t_tf16 / t_bb:.2f}×")

    tf_cache = str(work / "tf-cache")
    torch_fidelity_scores(fake, real, weights, device, subset, tf_cache)  # fills torch-fidelity's real-set cache
    t_tf2, _ = timed(lambda: torch_fidelity_scores(fake2, real, weights, device, subset))
    t_tf2c, _ = timed(lambda: torch_fidelity_scores(fake2, real, weights, device, subset, tf_cache))
    t_bb2, _ = timed(lambda: ours(fake2))
    print(
        f"warm   torch-fidelity {t_tf2:7.1f} s (no cache), {t_tf2c:.1f} s (its real-set cache)   benchbox {t_bb2:7.1f} s"
        f"   speed-up {t_tf2 / t_bb2:.2f}× (target ≥ 2×), {t_tf2c / t_bb2:.2f}× against its cache"
    )

    extractor = build_extractor("inception", options)
    sample = real[: min(64, args.n)]
    t_cl, f_cl = timed(lambda: extract(extractor, sample))
    extractor.channels_last = False
    extractor.net.to(memory_format=torch.contiguous_format)
    t_nchw, f_nchw = timed(lambda: extract(extractor, sample))
    diff = max(abs(f_cl[k] - f_nchw[k]).max() / abs(f_nchw[k]).max() for k in f_cl)
    print(
        f"Inception forward: channels_last {len(sample) / t_cl:.1f} img/s, NCHW {len(sample) / t_nchw:.1f} img/s, "
        f"speed-up {t_nchw / t_cl:.2f}×, largest feature difference {diff:.1e} of the largest feature"
    )

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2548, 2048)), rng.normal(size=(2548, 2048)) * 1.1
    stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    t_eig, fd_eig = timed(lambda: frechet_distance(*stats))
    t_sqrtm, fd_sqrtm = timed(lambda: sqrtm_formula(*stats))
    print(
        f"FD step at 2048-d: eigenvalues {t_eig:.2f} s, scipy sqrtm {t_sqrtm:.2f} s, speed-up {t_sqrtm / t_eig:.1f}×"
        f" (target ≥ 4×), relative difference {abs(fd_eig - fd_sqrtm) / fd_sqrtm:.1e}"
    )


if __name__ == "__main__":
    main()
