"""`benchbox score REAL FAKE`: the metric engine on the user's own images."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import benchbox.builtins  # noqa: F401  (the metric families --metrics chooses among)
from benchbox.data import set_data_dir
from benchbox.device import resolve_device
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.registry import SCORES
from benchbox.scoring import DEFAULT_METRICS, KID_SUBSET_SIZE, ScoreSettings, score


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


positive.__name__ = "positive integer"


def add_engine_options(parser: argparse.ArgumentParser, batch: str, cache: str) -> None:
    """The options every scoring command shares: weights' provenance, batch, device, output, cache."""
    parser.add_argument(
        "--custom-weights",
        action="store_true",
        help="accept weights whose SHA-256 is not the published one (metrics are renamed, e.g. fd_inception_custom)",
    )
    parser.add_argument("--batch-size", type=positive, help=f"{batch} (default: 16 on a CPU, 64 on a GPU)")
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: cuda when available"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object: the values and their provenance")
    parser.add_argument("--no-cache", action="store_true", help=f"neither read nor write {cache}")


def add_score_parser(sub: argparse._SubParsersAction) -> None:
    score = sub.add_parser(
        "score",
        help="score generated images against real ones (FID, KID, IS, ...)",
        description="Score FAKE images against REAL ones. Each is a folder of PNG/JPEG images, a .npy/.npz file "
        "holding a uint8 N×H×W×C array, or a dataset name (DATASET[:SPLIT], e.g. digits:test). "
        "Features are cached on disk by content, so re-scoring against the same real set is fast.",
    )
    score.add_argument("real", help="real images (folder, .npy/.npz, or dataset name); '-' for none (IS only)")
    score.add_argument("fake", help="generated images (folder, .npy/.npz)")
    score.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder holding a named dataset's files (looked in before $BENCHBOX_DATA and the default places)",
    )
    score.add_argument(
        "--metrics",
        help=f"comma-separated metric families among {', '.join(SCORES)} (default fid,kid,is; none with --captions)",
    )
    score.add_argument(
        "--captions",
        type=Path,
        metavar="FILE",
        help="a UTF-8 text file with one caption per generated image (in file order): adds the CLIP score "
        "(100·max(cos, 0), torchmetrics' convention) in the --feature clip space",
    )
    score.add_argument(
        "--feature",
        default="inception",
        help="feature space: inception[:64|192|768|2048], clip[:MODEL:TAG], dinov2[:vits14|vitb14|vitl14|vitg14], "
        "or a labelled dataset's own classifier (e.g. digits); only canonical Inception pool3 gives FID",
    )
    score.add_argument(
        "--inception-weights",
        "--clip-weights",
        "--dinov2-weights",
        "--weights",
        dest="weights",
        type=Path,
        metavar="PATH",
        help="a local weights file for the feature space (otherwise: its environment variable, the cache, a download)",
    )
    add_engine_options(score, "images per extractor batch", "the feature cache")
    score.add_argument("--kid-subsets", type=positive, default=100, help="KID subsets (default 100)")
    score.add_argument(
        "--kid-subset-size",
        type=positive,
        help="KID subset size (default min(1000, n_real, n_fake)); a size larger than a set is refused",
    )
    score.add_argument("--is-splits", type=positive, default=10, help="IS splits (default 10)")
    score.add_argument("--pr-k", type=positive, default=3, help="precision/recall neighbourhood (default 3)")
    score.add_argument("--dc-k", type=positive, default=5, help="density/coverage neighbourhood (default 5)")
    score.add_argument("--ndb-bins", type=positive, default=50, help="NDB k-means bins (default 50)")
    score.add_argument(
        "--bootstrap",
        type=positive,
        metavar="N",
        help="95%% intervals of FD and KID for their expected value at this n, against the same real set: "
        "a jackknife over min(N, n) groups of the generated samples (N >= 20 steadies it)",
    )
    score.add_argument("--infinite", action="store_true", help="add FID∞ / IS∞ (Chong & Forsyth 2020)")


def parse_metrics(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise BenchboxError("--metrics is empty", f"choose among {', '.join(SCORES)}")
    unknown = [m for m in names if m not in SCORES]
    if unknown:
        raise BenchboxError(f"unknown metric '{unknown[0]}'", f"choose among {', '.join(sorted(SCORES))}")
    return names


def read_captions(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchboxError(
            f"cannot read captions '{path}' ({exc})", "pass a UTF-8 text file, one caption per line"
        ) from exc
    return lines


def json_safe(value):
    """Strict JSON: ±inf and NaN (e.g. class_kl when a class is missing) become the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def cmd_score(args: argparse.Namespace) -> int:
    set_data_dir(args.data_dir)
    captions = read_captions(args.captions) if args.captions else None
    if args.metrics is not None:
        metrics = parse_metrics(args.metrics)
    else:
        metrics = [] if captions is not None else list(DEFAULT_METRICS)
    settings = ScoreSettings(
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size or KID_SUBSET_SIZE,
        is_splits=args.is_splits,
        pr_k=args.pr_k,
        dc_k=args.dc_k,
        ndb_bins=args.ndb_bins,
    )
    options = ExtractorOptions(
        device=resolve_device(args.device), weights=args.weights, allow_custom_weights=args.custom_weights
    )
    result = score(
        None if args.real == "-" else args.real,
        args.fake,
        metrics,
        args.feature,
        options,
        settings,
        batch_size=args.batch_size,
        cache=None if args.no_cache else FeatureCache(),
        progress=not args.json and sys.stderr.isatty(),
        bootstrap=args.bootstrap or 0,
        infinite=args.infinite,
        captions=captions,
        auto_kid_subset_size=args.kid_subset_size is None,
    )
    if args.json:
        print(json.dumps(json_safe(result.as_json()), indent=2, allow_nan=False))
        return 0
    width = max(len(k) for k in result.values)
    for name, value in result.values.items():
        ci = result.intervals.get(name)
        interval = f"  ({100 * result.provenance['bootstrap']['level']:g}% CI {ci[0]:.6g} .. {ci[1]:.6g})" if ci else ""
        shown = "inf" if math.isinf(value) else f"{value:.6g}"
        print(f"{name:<{width}}  {shown}{interval}")
    p = result.provenance
    canonical = "canonical" if p["weights_canonical"] else "NOT the canonical weights: not comparable to papers"
    print(
        f"# feature space {p['feature_space']} v{p['extractor_version']}, weights {p['weights_sha256'][:12]} ({canonical})"
    )
    print(f"# {p['fake']['n']} generated vs {p['real']['n'] if 'real' in p else 0} real; {p['wall_time_s']:.1f} s")
    for line in notes(p):
        print(f"# {line}")
    return 0


def notes(provenance: dict) -> list[str]:
    """The text output's lines on KID's subset size and on what the intervals are (and which values have none)."""
    lines = []
    kid = provenance.get("kid_subset_size")
    if kid and kid["used"] < KID_SUBSET_SIZE:
        lines.append(f"KID subsets of {kid['used']} (the smaller set; {kid['rule']})")
    interval = provenance.get("bootstrap")
    if interval:
        level = f"{100 * interval['level']:g}%"
        lines.append(f"{level} CI: {interval['method']}")
        lines.append(f"{level} CI target: {interval['target']}")
        if interval["no_interval"]:
            lines.append(f"no CI for {', '.join(interval['no_interval'])}: {interval['no_interval_why']}")
    return lines
