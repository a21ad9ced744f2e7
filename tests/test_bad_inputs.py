"""The bad-input gallery: every bad input a user can give, through the command line. Each case must exit with code 2,
print exactly one non-empty line on stderr (`benchbox: error: <problem>; <fix>`) that names the problem, print no
traceback, and write no file: the whole temporary tree the command runs in (its working folder, HOME, XDG_CACHE_HOME
and so benchbox's default cache folder, every input) is the same before and after, so a refused `benchbox run` leaves
no `benchbox-results/` folder or empty store behind, and a refused `score` no cache entry.

Most cases call `benchbox.cli.main` in this process (the CLI's INFO logging is routed to stderr as the real entry point
routes it, so a log line counts as a second line); a few go through `python -m benchbox` to show that the real entry
point prints the same one line. Inputs are tiny and nothing trains: the score cases use the test suite's "pixels"
feature space (tests/conftest.py), and the toy2d baselines of `check` are written here, not measured.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import benchbox.data
from benchbox.check.baseline import Baseline, BaselineCell, BaselineValue, RecordedEnvironment, write_baseline
from benchbox.check.collect import table_rows
from benchbox.check.tolerance import Tolerance
from benchbox.cli import main
from benchbox.registry import SUITES
from benchbox.runner import resolve_models
from benchbox.store import ResultStore
from benchbox.t2i.captions import make_caption_list, write_caption_file
from benchbox.testing import blocky_images, result_record, run_record

ENV_VARS = (  # every environment variable benchbox reads (grep BENCHBOX_ benchbox/): unset, or pointed inside the tree
    "BENCHBOX_CACHE",
    "BENCHBOX_DATA",
    "BENCHBOX_COCO",
    "BENCHBOX_INCEPTION_WEIGHTS",
    "BENCHBOX_CLIP_WEIGHTS",
    "BENCHBOX_DINOV2_WEIGHTS",
    "BENCHBOX_VGG_WEIGHTS",
    "BENCHBOX_VGG16_WEIGHTS",
    "BENCHBOX_LPIPS_WEIGHTS",
)


# ---------------------------------------------------------------------------------------------------------------------
# Inputs: each maker writes what its case needs into the working folder `w` and returns the arguments and the
# fragments the error line must contain.


def npy(w: Path, name: str, array: np.ndarray) -> str:
    np.save(w / name, array)
    return str(w / name)


def nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).numpy()


def real(w: Path) -> str:
    return npy(w, "real.npy", nhwc(blocky_images(60, seed=1)))


def fake(w: Path) -> str:
    return npy(w, "fake.npy", nhwc(blocky_images(50, seed=2, tint=30)))


def pngs(w: Path, name: str, arrays: list[np.ndarray]) -> str:
    folder = w / name
    folder.mkdir()
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(folder / f"{i:04d}.png")
    return str(folder)


SCORE = ["--feature", "pixels", "--metrics", "fid"]


def score_fake(make_fake: Callable[[Path], str], *fragments: str) -> Callable:
    """`benchbox score REAL BAD --feature pixels --metrics fid`."""
    return lambda w: (["score", real(w), make_fake(w), *SCORE], fragments)


def score_options(*options: str, fragments: tuple[str, ...]) -> Callable:
    """`benchbox score REAL FAKE` (both good) with other options."""
    return lambda w: (["score", real(w), fake(w), "--feature", "pixels", *options], fragments)


def floats(low: float, high: float, poison: float | None = None) -> Callable[[Path], str]:
    def make(w: Path) -> str:
        a = np.random.default_rng(0).uniform(low, high, (20, 8, 8, 3)).astype(np.float32)
        if poison is not None:
            a[3, 2, 1, 0] = poison
        return npy(w, "floats.npy", a)

    return make


def uint8_shape(*shape: int) -> Callable[[Path], str]:
    return lambda w: npy(w, "shaped.npy", np.full(shape, 100, np.uint8))


def npz_two_arrays(w: Path) -> str:
    np.savez(w / "two.npz", a=np.zeros((4, 8, 8, 3), np.uint8), b=np.zeros((4, 8, 8, 3), np.uint8))
    return str(w / "two.npz")


def npy_of_objects(w: Path) -> str:
    np.save(w / "objects.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    return str(w / "objects.npy")


def npy_truncated(w: Path) -> str:
    buffer = io.BytesIO()
    np.save(buffer, nhwc(blocky_images(20, seed=0)))
    (w / "cut.npy").write_bytes(buffer.getvalue()[:1000])
    return str(w / "cut.npy")


def empty_folder(w: Path) -> str:
    (w / "empty").mkdir()
    (w / "empty" / "notes.txt").write_text("no images here\n")
    return str(w / "empty")


def corrupt_png(w: Path) -> str:
    folder = pngs(w, "corrupt", list(nhwc(blocky_images(3, seed=0))))
    (w / "corrupt" / "0001.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    return folder


def rgba_pngs(w: Path) -> str:
    return pngs(w, "rgba", [np.zeros((8, 8, 4), np.uint8)] * 3)


def sixteen_bit_pngs(w: Path) -> str:
    return pngs(w, "deep", [np.full((8, 8), 1000, np.uint16)] * 3)


def mixed_size_pngs(w: Path) -> str:
    return pngs(w, "mixed", [np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)])


def text_file(w: Path) -> str:
    (w / "samples.txt").write_text("1 2 3\n")
    return str(w / "samples.txt")


def few(w: Path) -> str:
    return npy(w, "few.npy", nhwc(blocky_images(16, seed=3)))


def junk(w: Path, name: str, size: int = 4096) -> str:
    (w / name).write_bytes(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())
    return str(w / name)


def file_of(w: Path, name: str, data: bytes | str) -> str:
    (w / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return str(w / name)


def captions_text(w: Path, data: bytes) -> str:
    return file_of(w, "captions.txt", data)


# Fashion-MNIST's IDX files and CIFAR-10's archive, given with --data-dir


def idx(dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + payload


def fashion_dir(w: Path, kind: str) -> str:
    folder = w / "fashion"
    folder.mkdir()
    for prefix, n in (("train", 60_000), ("t10k", 10_000)):
        images, labels = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
        if kind == "truncated":  # the header says n images, the file holds 100 bytes of them
            (folder / images).write_bytes(idx((n, 28, 28), bytes(100)))
            (folder / labels).write_bytes(idx((n,), bytes(n)))
        elif kind == "corrupt-gzip":
            data = gzip.compress(idx((3, 28, 28), bytes(3 * 784)))
            (folder / f"{images}.gz").write_bytes(data[:-12] + bytes(12))  # the CRC and length trailer zeroed
            (folder / f"{labels}.gz").write_bytes(gzip.compress(idx((3,), bytes(3))))
        elif kind == "checksum" and prefix == "t10k":  # well-formed, the published size, other pixels
            (folder / images).write_bytes(idx((n, 28, 28), bytes(n * 784)))
            (folder / labels).write_bytes(idx((n,), bytes(n)))
    return str(folder)


def cifar_dir(w: Path, kind: str) -> str:
    folder = w / "cifar"
    folder.mkdir()
    if kind == "truncated-archive":
        junk(folder, "cifar-10-python.tar.gz", 10_000)
    else:
        (folder / "cifar-10-batches-py").mkdir()
        if kind == "corrupt-batch":
            junk(folder / "cifar-10-batches-py", "test_batch", 10_000)
    return str(folder)


# suite files given by path


def suite_file(w: Path, body: str, name: str = "my_suite.py") -> str:
    (w / name).write_text(body)
    return str(w / name)


TOY_SUITE = """
from dataclasses import replace
from benchmarks.toy2d import SUITE as TOY2D
"""
DDPM_SUITE = """
import math
from benchbox.data.toy2d import ring
from benchbox.suite import Budget, ModelEntry, Suite, Variant
from reference_models.diffusion.model import DDPMConfig

CONFIG = DDPMConfig(net="mlp", steps=10, conditional=True{config})
SUITE = Suite(
    name="guided", version=1, description="", tasks=(ring(),),
    models=(ModelEntry("cfg", "ddpm", CONFIG, variants=({variants})),),
    budgets=(Budget("smoke", steps=4, checkpoint_every=2, seeds=(0,)),),
    metrics=("modes_covered",), n_eval=100,
)
"""


def run_suite(body: str, *fragments: str) -> Callable:
    return lambda w: (["run", "--suite", suite_file(w, body), "--budget", "smoke", "--jobs", "1"], fragments)


def run_with(*options: str, fragments: tuple[str, ...], suite: str = "toy2d") -> Callable:
    return lambda w: (["run", "--suite", suite, "--budget", "smoke", *options], fragments)


def run_data(suite: str, data_dir: Callable[[Path], str], *fragments: str) -> Callable:
    """`benchbox run --suite SUITE --data-dir DIR`, DIR made by `data_dir`."""
    return lambda w: (
        ["run", "--suite", suite, "--budget", "smoke", "--jobs", "1", "--data-dir", data_dir(w)],
        fragments,
    )


def with_module(name: str, body: str, case: Callable) -> Callable:
    """`case` with the user's module `name`.py (e.g. a model factory) in the working folder."""

    def make(w: Path) -> tuple[list[str], tuple[str, ...]]:
        file_of(w, f"{name}.py", body)
        return case(w)

    return make


WRONG_SHAPE_MODEL = """
import torch

class Model:
    examples_per_step = 8

    def train_step(self, batch):
        return {"loss": 0.0}

    def sample(self, n, generator):
        return torch.zeros(n, 3)  # toy2d samples are 2-D points

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

def factory(ctx):
    return Model()
"""


# stores


def store_of(w: Path, kind: str) -> str:
    path = w / "store.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "garbage":
        path.write_bytes(b"garbage" * 1000)
    elif kind == "foreign":  # a SQLite file of some other program
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE things (x INTEGER)")
            conn.execute("INSERT INTO things VALUES (1)")
        conn.close()
    elif kind == "newer":
        ResultStore(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
        conn.close()
    elif kind == "empty":
        ResultStore(path).close()
    elif kind == "toy2d":
        store = ResultStore(path)
        store.put([result_record(seed=s, value=3.0 + s) for s in (0, 1)], runs=[run_record(seed=s) for s in (0, 1)])
        store.close()
    elif kind == "under-a-file":
        (w / "afile").write_text("x")
        return str(w / "afile" / "store.db")
    return str(path)


def with_store(kind: str, command: Callable[[str], list[str]], *fragments: str) -> Callable:
    return lambda w: (command(store_of(w, kind)), fragments)


def run_store(store: str) -> list[str]:
    return ["run", "--suite", "toy2d", "--budget", "smoke", "--jobs", "1", "--store", store]


def report_store(*options: str) -> Callable[[str], list[str]]:
    return lambda store: ["report", "--suite", "toy2d", "--store", store, *options]


# check baselines


def toy2d_baseline(
    w: Path,
    suite_version: int = 1,
    protocol: str | None = None,
    data: str | None = None,
    model: str = "gan-ns",
    edit: Callable[[dict], None] | None = None,
) -> str:
    """A toy2d smoke baseline of `model` over seeds 0, 1, 2, written here (not measured): the protocol and data
    hashes are the suite's own unless given."""
    suite = SUITES["toy2d"]
    budget = suite.budget("smoke")
    rows = table_rows(suite, resolve_models(suite, ["gan-ns"]), budget)
    value = (BaselineValue("energy_distance", False, (0.1, 0.2, 0.3)),)
    cells = tuple(
        BaselineCell(r.task, model, protocol or r.protocol_hash, data or suite.task(r.task).data_hash(), (), (), value)
        for r in rows
    )
    env = RecordedEnvironment(torch.__version__, "", "cpu", "0.1.0", "abc", "2026-01-01T00:00:00+00:00")
    path = w / "baseline.json"
    write_baseline(path, Baseline("toy2d", suite_version, "smoke", (0, 1, 2), Tolerance(), env, {}, cells))
    if edit is not None:
        content = json.loads(path.read_text())
        edit(content)
        path.write_text(json.dumps(content))
    return str(path)


def check(*options: str, fragments: tuple[str, ...], suite: str = "toy2d", **baseline) -> Callable:
    return lambda w: (["check", "--suite", suite, "--baseline", toy2d_baseline(w, **baseline), *options], fragments)


def check_file(text: str, *fragments: str) -> Callable:
    return lambda w: (["check", "--suite", "toy2d", "--baseline", file_of(w, "baseline.json", text)], fragments)


# the coco-t2i caption file


def caption_file(w: Path, edit: Callable[[list[str]], list[str]] | None = None) -> str:
    annotations = {
        "images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(5)],
        "annotations": [{"id": 10 + i, "image_id": i, "caption": f"a photo of thing {i}"} for i in range(5)],
    }
    path = w / "captions.jsonl"
    write_caption_file(path, make_caption_list(annotations, "captions.json", "0" * 64, n=3, seed=0))
    if edit is not None:
        path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    return str(path)


def edit_header(**changes) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        return [json.dumps({**json.loads(lines[0]), **changes}), *lines[1:]]

    return edit


def score_t2i(*options: str, fragments: tuple[str, ...], captions=None) -> Callable:
    def make(w: Path) -> tuple[list[str], tuple[str, ...]]:
        path = captions(w) if captions else caption_file(w)
        samples = npy(w, "samples.npy", np.zeros((3, 8, 8, 3), np.uint8))
        return ["score-t2i", "--captions", path, "--samples", samples, "--model", "m", *options], fragments

    return make


def t2i_captions(annotations: str, *options: str, fragments: tuple[str, ...]) -> Callable:
    """`benchbox t2i-captions --annotations FILE` with `annotations` as the file's text."""
    return lambda w: (
        ["t2i-captions", "--out", str(w / "out.jsonl"), "--annotations", file_of(w, "captions.json", annotations)]
        + list(options),
        fragments,
    )


ANNOTATIONS = json.dumps(
    {
        "images": [{"id": 1, "file_name": "1.jpg"}],
        "annotations": [{"id": 2, "image_id": 1, "caption": "a cat"}],
    }
)

# ---------------------------------------------------------------------------------------------------------------------
# The gallery: case id -> maker(working folder) -> (arguments, fragments of the error line)

CASES: dict[str, Callable[[Path], tuple[list[str], tuple[str, ...]]]] = {
    # score: images
    "score-nan": score_fake(floats(0, 1, poison=float("nan")), "floats.npy' contain NaN or Inf"),
    "score-inf": score_fake(floats(0, 255, poison=float("inf")), "floats.npy' contain NaN or Inf"),
    "score-float-in-0-1": score_fake(floats(0, 1), "float32 in [0, 1]", "(x * 255).round()"),
    "score-float-in-minus1-1": score_fake(floats(-1, 1), "float32 in [-1, 1]", "to_uint8"),
    "score-float-in-0-255": score_fake(floats(0, 255), "float32 in [", "pass uint8 images in [0, 255]"),
    "score-int16": score_fake(
        lambda w: npy(w, "i16.npy", np.zeros((20, 8, 8, 3), np.int16)), "dtype torch.int16", "uint8"
    ),
    "score-complex": score_fake(
        lambda w: npy(w, "c.npy", np.zeros((20, 8, 8, 3), np.complex64)), "complex64", "uint8 array"
    ),
    "score-nchw-array": score_fake(uint8_shape(20, 3, 8, 8), "is not N×H×W×C", "transpose(0, 2, 3, 1)"),
    "score-nchw-gray-array": score_fake(uint8_shape(20, 1, 8, 8), "is not N×H×W×C", "transpose(0, 2, 3, 1)"),
    "score-2-channels": score_fake(uint8_shape(20, 8, 8, 2), "has 2 channels", "gray + alpha"),
    "score-4-channels": score_fake(uint8_shape(20, 8, 8, 4), "has 4 channels", "drop alpha"),
    "score-5d-array": score_fake(uint8_shape(2, 20, 8, 8, 3), "array of shape (2, 20, 8, 8, 3)"),
    "score-empty-array": score_fake(uint8_shape(0, 8, 8, 3), "are empty"),
    "score-npz-two-arrays": score_fake(npz_two_arrays, "holds 2 arrays (a, b)", "exactly one array"),
    "score-npy-of-objects": score_fake(npy_of_objects, "cannot read", "objects.npy"),
    "score-npy-truncated": score_fake(npy_truncated, "cannot read", "cut.npy"),
    "score-npz-corrupt": score_fake(lambda w: junk(w, "bad.npz"), "cannot read", "bad.npz"),
    "score-empty-folder": score_fake(empty_folder, "has no PNG or JPEG images"),
    "score-corrupt-image": score_fake(corrupt_png, "cannot decode image", "0001.png"),
    "score-rgba-pngs": score_fake(rgba_pngs, "has mode RGBA", "RGB"),
    "score-gray-alpha-pngs": score_fake(
        lambda w: pngs(w, "la", [np.zeros((8, 8, 2), np.uint8)] * 3), "has mode LA", "grayscale (L)"
    ),
    "score-16-bit-pngs": score_fake(sixteen_bit_pngs, "has mode I;16"),
    "score-mixed-sizes": score_fake(mixed_size_pngs, "different sizes"),
    "score-missing-fake": score_fake(lambda w: str(w / "absent.npy"), "absent.npy' does not exist"),
    "score-missing-real": lambda w: (["score", str(w / "absent"), fake(w), *SCORE], ("absent' does not exist",)),
    "score-not-an-image-file": score_fake(text_file, "is not a folder or a .npy/.npz file"),
    "score-unknown-dataset-split": lambda w: (
        ["score", "digits:validation", fake(w), *SCORE],
        ("digits has no split 'validation'",),
    ),
    "score-suite-without-images": lambda w: (["score", "toy2d", fake(w), *SCORE], ("has no image data",)),
    # score: sample counts and settings
    "score-too-few-for-fd": score_fake(few, "at least 17", "got 16"),
    "score-kid-subset-over-n": score_options(
        "--metrics", "kid", "--kid-subset-size", "51", fragments=("at least 51 generated", "--kid-subset-size")
    ),
    "score-pr-k-over-n": score_options(
        "--metrics", "pr", "--pr-k", "60", fragments=("metric 'pr' needs at least 61 generated samples", "got 50")
    ),
    "score-dc-k-over-n": score_options(
        "--metrics", "dc", "--dc-k", "60", fragments=("metric 'dc' needs at least 61 generated samples", "got 50")
    ),
    "score-ndb-bins-over-n": score_options(
        "--metrics", "ndb", "--ndb-bins", "500", fragments=("metric 'ndb' needs at least 500 generated samples",)
    ),
    "score-ndb-one-bin": score_options(
        "--metrics", "ndb", "--ndb-bins", "1", fragments=("NDB with 1 bins", "2 <= bins")
    ),
    "score-bootstrap-one-group": score_options(
        "--metrics", "fid", "--bootstrap", "1", fragments=("--bootstrap 1", "needs 2 groups or more")
    ),
    "score-is-splits-over-n": score_options(
        "--metrics", "is", "--is-splits", "500", fragments=("metric 'is' needs at least 500 generated samples",)
    ),
    "score-infinite-too-few": score_options(
        "--metrics", "fid", "--infinite", fragments=("FD∞ fits FD on subsets", "or drop --infinite")
    ),
    "score-fid-without-real": lambda w: (["score", "-", fake(w), *SCORE], ("compares with real data",)),
    "score-unknown-metric": score_options("--metrics", "fid,fidd", fragments=("unknown metric 'fidd'", "kid")),
    "score-empty-metrics": score_options("--metrics", ",", fragments=("--metrics is empty",)),
    "score-unknown-feature": score_options("--feature", "pixel", fragments=("unknown feature space 'pixel'", "pixels")),
    "score-unknown-inception-layer": lambda w: (
        ["score", real(w), fake(w), "--feature", "inception:999"],
        ("unknown Inception layer '999'", "2048"),
    ),
    "score-batch-size-0": score_options("--batch-size", "0", fragments=("--batch-size", "'0'")),
    "score-kid-subsets-text": score_options("--kid-subsets", "many", fragments=("--kid-subsets", "'many'")),
    # score: weights
    "score-weights-checksum": lambda w: (
        ["score", real(w), fake(w), "--inception-weights", junk(w, "inception.pth")],
        ("have SHA-256", "not the published", "--custom-weights"),
    ),
    "score-weights-corrupt": lambda w: (
        ["score", real(w), fake(w), "--inception-weights", junk(w, "inception.pth"), "--custom-weights"],
        ("is not a torch-fidelity Inception-v3 weights file",),
    ),
    "score-weights-missing": lambda w: (
        ["score", real(w), fake(w), "--inception-weights", str(w / "nowhere.pth")],
        ("nowhere.pth", "does not exist"),
    ),
    "score-weights-offline": lambda w: (
        ["score", real(w), fake(w)],
        ("BENCHBOX_OFFLINE is set", "--inception-weights"),
    ),
    # score: captions
    "score-captions-no-text-encoder": lambda w: (
        ["score", "-", fake(w), "--feature", "pixels", "--captions", captions_text(w, b"a cat\n" * 50)],
        ("needs a text encoder", "--feature clip"),
    ),
    "score-captions-not-utf8": lambda w: (
        ["score", "-", fake(w), "--feature", "pixels", "--captions", captions_text(w, b"\xff\xfe\x00bad\n")],
        ("cannot read captions", "UTF-8"),
    ),
    "score-captions-missing": lambda w: (
        ["score", "-", fake(w), "--feature", "pixels", "--captions", str(w / "none.txt")],
        ("cannot read captions", "none.txt"),
    ),
    # score: datasets given with --data-dir
    "fashion-truncated-idx": lambda w: (
        ["score", "fashion-mnist:test", fake(w), *SCORE, "--data-dir", fashion_dir(w, "truncated")],
        ("t10k-images-idx3-ubyte", "but its header (10000, 28, 28) says"),
    ),
    "fashion-corrupt-gzip": lambda w: (
        ["score", "fashion-mnist:test", fake(w), *SCORE, "--data-dir", fashion_dir(w, "corrupt-gzip")],
        ("cannot read", "t10k-images-idx3-ubyte.gz"),
    ),
    "fashion-checksum": lambda w: (
        ["score", "fashion-mnist:test", fake(w), *SCORE, "--data-dir", fashion_dir(w, "checksum")],
        ("decompresses to SHA-256", "not the published 5b4141f0"),
    ),
    "fashion-missing-files": lambda w: (
        ["score", "fashion-mnist:test", fake(w), *SCORE, "--data-dir", str(w)],
        ("Fashion-MNIST test is not in", "(--data-dir)"),
    ),
    "cifar-truncated-archive": lambda w: (
        ["score", "cifar10:test", fake(w), *SCORE, "--data-dir", cifar_dir(w, "truncated-archive")],
        ("has MD5", "not the published c58f30108f718f92721af3b95e74349a"),
    ),
    "cifar-corrupt-batch": lambda w: (
        ["score", "cifar10:test", fake(w), *SCORE, "--data-dir", cifar_dir(w, "corrupt-batch")],
        ("CIFAR-10 batch test_batch", "not the published 40351d58"),
    ),
    "cifar-missing-batch": lambda w: (
        ["score", "cifar10:test", fake(w), *SCORE, "--data-dir", cifar_dir(w, "missing-batch")],
        ("has no batch file test_batch",),
    ),
    "cifar-data-dir-missing": lambda w: (
        ["score", "cifar10:test", fake(w), *SCORE, "--data-dir", str(w / "nowhere")],
        ("CIFAR-10 is not in", "nowhere' (--data-dir)"),
    ),
    # run: names and options
    "run-unknown-suite": run_with(fragments=("unknown suite 'nope'", "toy2d"), suite="nope"),
    "run-suite-file-missing": run_with(fragments=("suite file", "does not exist"), suite="nowhere.py"),
    "run-scored-only-suite": run_with(fragments=("nothing to run", "score-t2i"), suite="coco-t2i"),
    "run-unknown-model": run_with("--models", "gan-ns,bogus", fragments=("unknown model in suite 'toy2d'", "bogus")),
    "run-factory-module-missing": run_with(
        "--models", "nosuch:factory", fragments=("cannot import model factory 'nosuch:factory'",)
    ),
    "run-factory-a-b-c": run_with("--models", "a:b:c", fragments=("model factory 'a:b:c'", "package.module:function")),
    "run-factory-no-module": run_with("--models", ":factory", fragments=("':factory' is not module:function",)),
    "run-factory-not-callable": with_module(
        "consts", "VALUE = 3\n", run_with("--models", "consts:VALUE", fragments=("'consts:VALUE' is not callable",))
    ),
    "run-factory-import-raises": with_module(
        "boomer",
        "raise RuntimeError('boom at import')\n",
        run_with("--models", "boomer:f", fragments=("cannot import model factory 'boomer:f'", "boom at import")),
    ),
    "run-seeds-not-numbers": run_with("--seeds", "a,b", fragments=("comma-separated list of non-negative integers",)),
    "run-seeds-negative": run_with("--seeds", "0,-1", fragments=("'0,-1' is not a comma-separated list",)),
    "run-seeds-empty": run_with("--seeds", ",", fragments=("--seeds", "the list is empty")),
    "run-jobs-0": run_with("--jobs", "0", fragments=("--jobs 0 is not a positive number",)),
    "run-jobs-negative": run_with("--jobs", "-2", fragments=("--jobs -2 is not a positive number",)),
    "run-jobs-not-a-number": run_with("--jobs", "two", fragments=("--jobs", "'two'")),
    "run-unknown-budget": lambda w: (["run", "--suite", "toy2d", "--budget", "huge"], ("invalid choice: 'huge'",)),
    "run-unknown-device": run_with("--device", "tpu", fragments=("invalid choice: 'tpu'", "cuda")),
    "run-user-model-wrong-shape": with_module(
        "mymodel",
        WRONG_SHAPE_MODEL,
        run_with(
            "--jobs",
            "1",
            "--models",
            "mymodel:factory",
            fragments=("returned shape (2, 3), not (2, 2)", "mymodel.py:10"),
        ),
    ),
    # run: suite files
    "suite-syntax-error": run_suite("SUITE = (\n", "failed to load (line 1): SyntaxError"),
    "suite-no-suite": run_suite("X = 1\n", "defines no SUITE"),
    "suite-wrong-type": run_suite("SUITE = {'name': 'toy2d'}\n", "defines no SUITE of type benchbox.suite.Suite"),
    "suite-raises": run_suite("raise ValueError('broken suite')\n", "failed to load", "broken suite"),
    "suite-unknown-kind": run_suite(
        TOY_SUITE + "SUITE = replace(TOY2D, models=(replace(TOY2D.models[0], kind='nokind'),))\n",
        "has unknown kind 'nokind'",
    ),
    "suite-unknown-metric": run_suite(TOY_SUITE + "SUITE = replace(TOY2D, metrics=('fid_50k',))\n", "'fid_50k'"),
    "suite-checkpoint-after-last-step": run_suite(
        TOY_SUITE + "SUITE = replace(TOY2D, budgets=(replace(TOY2D.budgets[0], checkpoint_every=10**6),))\n",
        "too small to produce one checkpoint",
    ),
    "suite-no-seeds": run_suite(
        TOY_SUITE + "SUITE = replace(TOY2D, budgets=(replace(TOY2D.budgets[0], seeds=()),))\n", "one seed or more"
    ),
    "suite-nan-guidance": run_suite(
        DDPM_SUITE.format(config=", guidance_scale=math.nan", variants=""), "guidance scale nan is not finite"
    ),
    "suite-inf-guidance-variant": run_suite(
        DDPM_SUITE.format(config="", variants="Variant('winf', (('guidance_scale', math.inf),)),"),
        "guidance scale inf is not finite",
    ),
    # run: stores
    "run-store-directory": with_store("directory", run_store, "is a directory", "--store"),
    "run-store-not-sqlite": with_store("garbage", run_store, "not a readable benchbox database"),
    "run-store-foreign-sqlite": with_store("foreign", run_store, "does not have a benchbox schema"),
    "run-store-newer-schema": with_store("newer", run_store, "schema version 99", "newer benchbox"),
    "run-store-under-a-file": with_store("under-a-file", run_store, "cannot open store"),
    # run: datasets given with --data-dir
    "run-fashion-truncated-idx": run_data("fashion-mnist", lambda w: fashion_dir(w, "truncated"), "but its header"),
    "run-cifar-truncated-archive": run_data(
        "cifar10", lambda w: cifar_dir(w, "truncated-archive"), "has MD5", "not the published c58f30108f"
    ),
    # report
    "report-store-missing": lambda w: (report_store()(str(w / "none.db")), ("does not exist", "benchbox run")),
    "report-store-empty": with_store("empty", report_store(), "holds no results for suite 'toy2d'"),
    "report-other-suite": with_store(
        "toy2d", lambda s: ["report", "--suite", "digits", "--store", s], "holds no results for suite 'digits'"
    ),
    "report-suite-version-absent": with_store(
        "toy2d", report_store("--suite-version", "9"), "no results for suite 'toy2d' v9;", "v1/smoke"
    ),
    "report-budget-absent": with_store("toy2d", report_store("--budget", "full"), "budget 'full'", "v1/smoke"),
    "report-unknown-metric-column": with_store("toy2d", report_store("--metrics", "fidd"), "no values of fidd"),
    "report-unknown-format": with_store("toy2d", report_store("--format", "pdf"), "invalid choice: 'pdf'"),
    "report-out-is-a-directory": lambda w: (
        report_store("--out", str(w))(store_of(w, "toy2d")),
        ("cannot write", "--out"),
    ),
    "report-store-directory": with_store("directory", report_store(), "is a directory"),
    "report-store-not-sqlite": with_store("garbage", report_store(), "not a readable benchbox database"),
    "report-store-foreign-sqlite": with_store("foreign", report_store(), "does not have a benchbox schema"),
    "report-store-newer-schema": with_store("newer", report_store(), "schema version 99"),
    "list-store-foreign-sqlite": with_store(
        "foreign", lambda s: ["list", "--suite", "toy2d", "--store", s], "does not have a benchbox schema"
    ),
    "list-unknown-suite": lambda w: (["list", "--suite", "nope"], ("unknown suite 'nope'",)),
    # check
    "check-baseline-missing": lambda w: (
        ["check", "--suite", "toy2d", "--baseline", str(w / "none.json")],
        ("none.json' does not exist", "--update-baseline"),
    ),
    "check-baseline-not-json": check_file("{", "not readable JSON"),
    "check-baseline-a-list": check_file("[1, 2]", "holds a JSON list, not an object"),
    "check-baseline-other-format": check_file('{"format": "other"}', "has format 'other'"),
    "check-baseline-hand-edited": check(
        fragments=("has mean 0.5", "--update-baseline"),
        edit=lambda d: d["cells"][0]["values"]["energy_distance"].update(mean=0.5),
    ),
    "check-baseline-not-a-number": check(
        fragments=("'x', not a number",),
        edit=lambda d: d["cells"][0]["values"]["energy_distance"].update(values=[0.1, "x", 0.3]),
    ),
    "check-baseline-other-suite": check(fragments=("of suite 'toy2d', not 'digits'",), suite="digits"),
    "check-baseline-other-version": check(fragments=("version 7", "now version 1"), suite_version=7),
    "check-baseline-other-budget": check("--budget", "short", fragments=("budget 'smoke', not 'short'",)),
    "check-baseline-other-data": check(fragments=("data differs", "000000000000"), data="0" * 64),
    "check-baseline-other-protocol": check(fragments=("protocol", "ring8/gan-ns"), protocol="f" * 16),
    "check-baseline-row-gone": check(fragments=("gan-old", "not models of suite 'toy2d'"), model="gan-old"),
    "check-models-not-in-baseline": check("--models", "lsgan", fragments=("no rows of lsgan",)),
    "check-seeds-without-update": check("--seeds", "0,1,2", fragments=("--seeds goes with --update-baseline",)),
    "check-jobs-0-with-store": lambda w: check("--jobs", "0", "--store", str(w / "check.db"), fragments=("--jobs",))(w),
    "check-store-foreign-sqlite": lambda w: check(
        "--store", store_of(w, "foreign"), fragments=("does not have a benchbox schema",)
    )(w),
    "check-update-store-directory": lambda w: (
        ["check", "--suite", "toy2d", "--baseline", str(w / "new.json"), "--update-baseline", "--seeds", "0,1,2"]
        + ["--models", "gan-ns", "--store", store_of(w, "directory")],
        ("is a directory",),
    ),
    "check-update-two-seeds": lambda w: (
        ["check", "--suite", "toy2d", "--baseline", str(w / "new.json"), "--update-baseline", "--seeds", "0,1"],
        ("3 seeds or more", "--seeds 0,1,2"),
    ),
    "check-needs-baseline": lambda w: (["check", "--suite", "toy2d"], ("needs --suite and --baseline",)),
    "check-engine-with-suite": lambda w: (
        ["check", "--engine", "--suite", "toy2d"],
        ("--engine checks the engine alone",),
    ),
    "check-golden-without-engine": lambda w: (["check", "--golden", "g.json"], ("go with --engine",)),
    "check-golden-malformed": lambda w: (
        ["check", "--engine", "--golden", file_of(w, "golden.json", '{"format": "x"}')],
        ("is not a benchbox-engine-golden/1 file",),
    ),
    # score-t2i and t2i-captions
    "t2i-captions-missing": lambda w: (
        ["score-t2i", "--captions", str(w / "none.jsonl"), "--hook", "x:y", "--model", "m"],
        ("none.jsonl' does not exist", "t2i-captions"),
    ),
    "t2i-captions-plain-text": score_t2i(
        fragments=("is not a benchbox caption file",), captions=lambda w: captions_text(w, b"a cat\na dog\n")
    ),
    "t2i-captions-bad-json-line": score_t2i(
        fragments=("is not a benchbox caption file",), captions=lambda w: caption_file(w, lambda lines: [*lines, "{"])
    ),
    "t2i-captions-row-fields": score_t2i(
        fragments=("is not a benchbox caption file",),
        captions=lambda w: caption_file(w, lambda lines: [*lines[:-1], '{"index": 2}']),
    ),
    "t2i-captions-count-not-a-number": score_t2i(
        fragments=("is not a benchbox caption file", "n is '3'"), captions=lambda w: caption_file(w, edit_header(n="3"))
    ),
    "t2i-captions-edited": score_t2i(
        fragments=("does not match its own header",),
        captions=lambda w: caption_file(w, lambda lines: [*lines[:-1], lines[-1].replace("a photo", "my photo")]),
    ),
    "t2i-captions-other-protocol": score_t2i(
        fragments=("written for protocol coco-t2i v99",), captions=lambda w: caption_file(w, edit_header(version=99))
    ),
    "t2i-captions-expected-hash": score_t2i("--expect-hash", "0000", fragments=("not the expected 0000",)),
    "t2i-samples-wrong-count": lambda w: (
        ["score-t2i", "--captions", caption_file(w), "--samples", npy(w, "s.npy", np.zeros((4, 8, 8, 3), np.uint8))]
        + ["--model", "m"],
        ("holds 4 images", "3 captions"),
    ),
    "t2i-hook-missing": lambda w: (
        ["score-t2i", "--captions", caption_file(w), "--hook", "nosuch:generate", "--model", "m"],
        ("nosuch:generate",),
    ),
    "t2i-annotations-not-json": t2i_captions("{", fragments=("is not JSON",)),
    "t2i-annotations-wrong-format": t2i_captions('{"images": 3}', fragments=("not in COCO's caption format",)),
    "t2i-too-many-captions": t2i_captions(ANNOTATIONS, "--n", "5", fragments=("cannot draw 5 captions",)),
    "t2i-coco-offline": lambda w: (
        ["t2i-captions", "--out", str(w / "c.jsonl")],
        ("BENCHBOX_OFFLINE is set", "--coco-dir"),
    ),
    # the command line itself
    "plugin-import-fails": lambda w: (["--plugins", "no_such_plugin", "list"], ("cannot import plugin",)),
    "no-command": lambda w: ([], ("required",)),
    "unknown-command": lambda w: (["train"], ("invalid choice: 'train'",)),
}

CASES["run-cuda-without-gpu"] = run_with("--device", "cuda", fragments=("no CUDA GPU", "--device cpu"))

MARKS = {
    "run-cuda-without-gpu": pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU's message"),
}

# the cases that also go through a real `python -m benchbox` process, one per command family
SUBPROCESS = [
    "score-nan",
    "suite-syntax-error",
    "run-store-foreign-sqlite",
    "check-baseline-not-json",
    "t2i-captions-plain-text",
]


# ---------------------------------------------------------------------------------------------------------------------
# The checks


def snapshot(root: Path) -> dict[str, tuple]:
    """Every folder and file under `root`: a file by its size, modification time and SHA-256."""
    found: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_dir():
            found[name] = ("folder",)
        else:
            stat = path.stat()
            found[name] = ("file", stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    return (
        [f"created {n}" for n in sorted(after.keys() - before.keys())]
        + [f"removed {n}" for n in sorted(before.keys() - after.keys())]
        + [f"modified {n}" for n in sorted(before.keys() & after.keys()) if before[n] != after[n]]
    )


def assert_refused(code: int | str | None, out: str, err: str, fragments: tuple[str, ...]) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit code {code}\nstderr: {err}"
    assert "Traceback" not in out + err, err
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{err}"
    assert lines[0].startswith("benchbox: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def make_tree(root: Path) -> dict[str, str]:
    """work/ (the working folder), home/ and xdg/ under `root`; the environment a command runs in there: HOME and
    XDG_CACHE_HOME (so benchbox's default cache folder) inside the tree, every other benchbox variable unset, no
    downloads, and no bytecode caches of the suite and model files a case imports."""
    for folder in ("work", "home", "xdg"):
        (root / folder).mkdir()
    return {
        "HOME": str(root / "home"),
        "XDG_CACHE_HOME": str(root / "xdg"),
        "BENCHBOX_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture()
def tree(tmp_path, monkeypatch):
    """The tree of one in-process case, with this process's environment set as `make_tree` says (and restored)."""
    for var, value in make_tree(tmp_path).items():
        monkeypatch.setenv(var, value)
    for var in ENV_VARS:  # set, then unset: what a command sets (run --vgg-weights) is undone after the test
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "path", list(sys.path))  # main() puts the working folder on it
    monkeypatch.setattr(benchbox.data, "_data_dir", None)  # --data-dir is process-wide
    yield tmp_path
    for name, module in list(sys.modules.items()):  # the user modules and suite files a case imported from the tree
        if getattr(module, "__file__", None) and Path(module.__file__).is_relative_to(tmp_path):
            del sys.modules[name]


@pytest.mark.parametrize("case", [pytest.param(c, marks=MARKS.get(c, ()), id=c) for c in CASES])
def test_bad_input_is_refused_in_one_line_writing_nothing(case, tree, capfd):
    args, fragments = CASES[case](tree / "work")
    before = snapshot(tree)
    handler = logging.StreamHandler(sys.stderr)  # as the CLI's logging.basicConfig, which pytest's handlers preempt
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    out, err = capfd.readouterr()
    assert_refused(code, out, err, fragments)
    assert changes(before, snapshot(tree)) == []


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """The SUBPROCESS cases' commands, all started at once (start-up, the torch import, is most of their time):
    case -> (process, tree, its snapshot before, fragments)."""
    started = {}
    for case in SUBPROCESS:
        root = tmp_path_factory.mktemp(case)
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARS} | make_tree(root)
        args, fragments = CASES[case](root / "work")
        before = snapshot(root)
        process = subprocess.Popen(
            [sys.executable, "-m", "benchbox", *args],
            cwd=root / "work",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[case] = (process, root, before, fragments)
    yield started
    for process, *_ in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("case", SUBPROCESS)
def test_the_real_entry_point_prints_one_line_and_no_traceback(case, launched):
    process, root, before, fragments = launched[case]
    out, err = process.communicate(timeout=120)
    assert_refused(process.returncode, out, err, fragments)
    assert changes(before, snapshot(root)) == []
