"""`benchbox t2i-captions` and `benchbox score-t2i`: the coco-t2i protocol for text-to-image models benchbox does not
train (docs/t2i.md). The first writes the caption list a model must draw; the second scores the images drawn for it
and records them in the store, where `benchbox report --suite coco-t2i` shows them beside the papers' rows."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import benchbox.builtins  # noqa: F401  (the coco-t2i suite and the extractors)
from benchbox.cli_score import add_engine_options, json_safe, positive
from benchbox.device import resolve_device
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.features.extract import default_batch_size
from benchbox.registry import SUITES
from benchbox.store import DEFAULT_STORE, ResultStore
from benchbox.t2i.captions import make_caption_list, read_caption_file, write_caption_file
from benchbox.t2i.coco import ENV_VAR, find_images, read_annotations, sha256_bytes
from benchbox.t2i.protocol import CLIP_VARIANT, N_CAPTIONS, SEED, SUITE_NAME
from benchbox.t2i.samples import from_hook, from_samples, load_hook
from benchbox.t2i.score import T2ISettings, build_extractors, score_t2i, store_t2i

COCO_DIR_HELP = (
    f"folder holding COCO 2014's annotations (annotations/captions_val2014.json or annotations_trainval2014.zip) and "
    f"val2014 images (val2014/ or val2014.zip); default ${ENV_VAR}, then benchbox's cache folder, then a download"
)


def add_t2i_parsers(sub: argparse._SubParsersAction) -> None:
    captions = sub.add_parser(
        "t2i-captions",
        help="write the coco-t2i caption list your model must draw (one caption per line of JSON, with its hash)",
        description=f"Draw {N_CAPTIONS:,} captions of COCO 2014 val, one per image, with seed {SEED}, and write them "
        "with the list's SHA-256: numbers are comparable only on caption files of the same hash.",
    )
    captions.add_argument("--out", type=Path, required=True, help="the caption file to write (JSON lines)")
    captions.add_argument(
        "--annotations", type=Path, metavar="FILE", help="captions_val2014.json or annotations_trainval2014.zip"
    )
    captions.add_argument("--coco-dir", type=Path, metavar="DIR", help=COCO_DIR_HELP)
    captions.add_argument(
        "--n", type=positive, default=N_CAPTIONS, help=f"captions to draw (default {N_CAPTIONS:,}: FID-30K)"
    )
    captions.add_argument("--seed", type=int, default=SEED, help=f"the draw's seed (default {SEED}, the protocol's)")

    score = sub.add_parser(
        "score-t2i",
        help="score a text-to-image model's samples on coco-t2i (FID-30K, CLIP score) and record them",
        description="Score images generated for a caption file of `benchbox t2i-captions`: FID against the same "
        "COCO images (or the zero-shot FID with --zero-shot) and the CLIP score of each image against its caption. "
        "The values go to the store under suite coco-t2i: `benchbox report --suite coco-t2i`.",
    )
    score.add_argument("--captions", type=Path, required=True, metavar="FILE", help="the caption file")
    source = score.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--samples",
        type=Path,
        metavar="DIR|NPZ",
        help="a folder of images named by caption index (0.png or 00000.png, ...) or a .npy/.npz file holding a "
        "uint8 N×H×W×3 array, row i for caption i",
    )
    source.add_argument(
        "--hook",
        metavar="MODULE:FUNCTION",
        help="a function mapping a list of captions to their images: uint8 N×H×W×3, or floats in [-1, 1]",
    )
    score.add_argument("--model", required=True, help="the row's name in the store and the report")
    score.add_argument(
        "--zero-shot", action="store_true", help="the model never trained on COCO: record its FID as fid_zero_shot"
    )
    score.add_argument("--coco-dir", type=Path, metavar="DIR", help=COCO_DIR_HELP)
    score.add_argument(
        "--expect-hash", default="", metavar="HEX", help="refuse a caption file whose list SHA-256 does not start so"
    )
    score.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help=f"SQLite result store (default: {DEFAULT_STORE})"
    )
    score.add_argument("--inception-weights", type=Path, metavar="PATH", help="a local Inception-v3 weights file")
    score.add_argument(
        "--inception-layer",
        default="2048",
        choices=["64", "192", "768", "2048"],
        help="Inception pool layer (default 2048, the only one that gives FID; the others, for trials on fewer than "
        "2,049 images, are named fd_inception64 etc.)",
    )
    score.add_argument(
        "--clip", default=CLIP_VARIANT, metavar="MODEL:TAG", help=f"open_clip network (default {CLIP_VARIANT})"
    )
    score.add_argument("--clip-weights", type=Path, metavar="PATH", help="a local weights file for --clip")
    add_engine_options(score, "images per batch, and captions per hook call", "the real images' features")


def cmd_t2i_captions(args: argparse.Namespace) -> int:
    data, source = read_annotations(args.annotations, args.coco_dir)
    try:
        annotations = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchboxError(f"'{source}' is not JSON ({exc})", "pass COCO's captions_val2014.json") from exc
    captions = make_caption_list(annotations, Path(source).name, sha256_bytes(data), args.n, args.seed)
    write_caption_file(args.out, captions)
    print(f"wrote {captions.n:,} captions of {captions.n:,} distinct images to {args.out}")
    print(f"# caption list SHA-256 {captions.list_sha256} (seed {captions.seed}, annotations {source})")
    return 0


def cmd_score_t2i(args: argparse.Namespace) -> int:
    captions = read_caption_file(args.captions, args.expect_hash)
    device = resolve_device(args.device)
    batch = args.batch_size or default_batch_size(device)
    if args.hook:
        samples = from_hook(load_hook(args.hook), captions.captions, batch)
    else:
        samples = from_samples(args.samples, captions.n, batch)
    images = find_images(args.coco_dir)
    inception, clip = build_extractors(
        ExtractorOptions(device, args.inception_weights, args.custom_weights),
        ExtractorOptions(device, args.clip_weights, args.custom_weights),
        T2ISettings(clip=args.clip, inception_layer=args.inception_layer),
    )
    settings = T2ISettings(args.clip, args.inception_layer, args.zero_shot, batch)
    cache = None if args.no_cache else FeatureCache()
    scored = score_t2i(captions, samples, images, inception, clip, settings, cache)
    store = ResultStore(args.store)
    store_t2i(store, scored, args.model, SUITES[SUITE_NAME].version)
    if args.json:
        print(json.dumps(json_safe({**scored.values, "provenance": scored.provenance}), indent=2, allow_nan=False))
        return 0
    width = max(len(k) for k in scored.values)
    for name, value in scored.values.items():
        print(f"{name:<{width}}  {value:.6g}")
    p = scored.provenance
    if not p["inception"]["weights_canonical"]:
        print("# Inception weights are NOT the published ones: the Fréchet distance is not FID")
    print(f"# caption list {p['caption_list']['sha256'][:16]}… ({captions.n:,} captions); CLIP {args.clip}")
    print(f"# recorded as row '{args.model}' of {SUITE_NAME} in {args.store}: benchbox report --suite {SUITE_NAME}")
    print(f"# {p['wall_time_s']:.1f} s", file=sys.stderr)
    return 0
