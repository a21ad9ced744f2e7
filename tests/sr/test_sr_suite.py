"""A super-resolution suite end to end through the runner, on a small structured dataset registered here (so its
classifier trains in seconds): every value recorded, the bicubic row's PSNR equal to one computed with PIL alone,
the preview's four rows, the report's scoring line and findings, and users' SR models through module:factory."""

import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from benchbox.data import LabeledImages
from benchbox.data.image_task import ImageTask
from benchbox.errors import BenchboxError
from benchbox.preview import PREVIEW
from benchbox.registry import DATASETS
from benchbox.report.render import render_report
from benchbox.report.sections import sections
from benchbox.report.tables import markdown_report
from benchbox.runner import Runner, make_cells, resolve_models
from benchbox.sr.task import SRTask
from benchbox.store import ResultStore
from benchmarks.sr import SUITE as SR
from benchmarks.sr_models import sr_findings

CPU = torch.device("cpu")
DATASET = "sr-test-shapes"
SIDE = 28


def shapes(n: int, seed: int) -> LabeledImages:
    """Grey 28×28 images of bright rectangles on a dark ground, with a little noise: edges for SR to restore."""
    g = torch.Generator().manual_seed(seed)
    images = torch.full((n, 1, SIDE, SIDE), 20.0)
    for i in range(n):
        top, left = torch.randint(0, 16, (2,), generator=g).tolist()
        h, w = torch.randint(5, 12, (2,), generator=g).tolist()
        images[i, 0, top : top + h, left : left + w] = float(torch.randint(120, 250, (1,), generator=g))
    images += torch.randn(images.shape, generator=g) * 6
    labels = torch.randint(0, 4, (n,), generator=g)
    return LabeledImages(DATASET, "", images.round().clamp(0, 255).to(torch.uint8), labels, 4, f"shapes-{seed}-{n}")


def load(split: str, data_dir=None) -> LabeledImages:
    return replace(shapes(600, 0) if split == "train" else shapes(400, 1), split=split)


TASK = SRTask("shapes-x2", ImageTask("shapes", DATASET, (1, SIDE, SIDE), 4), 2, "shapes, 14×14 → 28×28")
SUITE = replace(
    SR,
    name="sr-test",
    tasks=(TASK,),
    budgets=(replace(SR.budget("smoke"), steps=4, checkpoint_every=2),),
    reported=(),
    findings=sr_findings(TASK.name),
)


@pytest.fixture(autouse=True, scope="module")
def _dataset_and_cache(tmp_path_factory):
    DATASETS.add(DATASET, load)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHBOX_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("BENCHBOX_OFFLINE", "1")
        yield
    del DATASETS[DATASET]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = ResultStore(tmp_path_factory.mktemp("sr") / "r.db")
    runner = Runner(SUITE, store, CPU, progress=False)
    outcomes = runner.run(make_cells(SUITE, list(SUITE.models), SUITE.budget("smoke"), (0,)))
    assert [o.status for o in outcomes] == ["done"] * 4
    return store


def test_every_model_records_every_value(store):
    by_model = {}
    for r in store.records():
        by_model.setdefault(r.model, set()).add(r.metric)
    expected = {"sr_psnr", "sr_ssim", "fd_sr_test_shapes", "kid_sr_test_shapes", "kid_std_sr_test_shapes"}
    assert by_model == {m: expected | {"seconds_per_sample"} for m in ("bicubic", "srresnet", "srgan", "sr3")}
    assert {r.n_samples for r in store.records()} == {300}


def pil_bicubic_psnr(n: int, factor: int, shave: int) -> float:
    """PSNR of bicubic upscaling computed with PIL and numpy alone: PIL's BICUBIC down (8-bit), PIL's BICUBIC up on
    [−1, 1] floats, clamped and rounded to 8 bits, the border shaved, 10 log10(255² / MSE) averaged over images."""
    values = []
    for image in load("test").images[:n, 0].numpy().astype(np.float32):
        small = SIDE // factor
        low = np.asarray(Image.fromarray(image, mode="F").resize((small, small), Image.BICUBIC))
        low = np.clip(np.round(low), 0, 255) / 127.5 - 1
        up = np.asarray(Image.fromarray(low.astype(np.float32), mode="F").resize((SIDE, SIDE), Image.BICUBIC))
        up = np.round((np.clip(up, -1, 1) + 1) * 127.5)
        err = (up - image)[shave:-shave, shave:-shave].astype(np.float64)
        values.append(10 * math.log10(255**2 / np.mean(err**2)))
    return float(np.mean(values))


def test_the_bicubic_rows_psnr_is_pils(store):
    (record,) = [r for r in store.records() if r.model == "bicubic" and r.metric == "sr_psnr"]
    assert record.value == pytest.approx(pil_bicubic_psnr(300, 2, 2), abs=0.01)  # PIL sums in float32


def test_the_preview_shows_input_bicubic_model_and_original(store):
    (artifact,) = [a for a in store.artifacts() if a.model == "srresnet" and a.name == PREVIEW]
    grid = np.asarray(Image.open(io.BytesIO(artifact.data)))
    assert grid.shape == (4 * (SIDE + 1) + 1, 8 * (SIDE + 1) + 1)

    def tile(row, col):
        top, left = 1 + row * (SIDE + 1), 1 + col * (SIDE + 1)
        return grid[top : top + SIDE, left : left + SIDE]

    lr, hr = TASK.test_pairs(8)
    for col in range(8):
        assert np.array_equal(tile(3, col), hr[col, 0].numpy())  # the original
        assert np.array_equal(tile(0, col), np.kron(lr[col, 0].numpy(), np.ones((2, 2), dtype=np.uint8)))


def test_the_report_states_the_scoring_and_decides_the_findings(store):
    text = markdown_report(store, "sr-test", 1, "smoke")
    assert "- scoring: PSNR/SSIM on Y of ITU-R BT.601 (grey images as they are), 2-pixel border shaved" in text
    assert "antialiased" in text  # the degradation's kernel
    for key in ("srresnet-psnr", "srgan-distortion", "srgan-below-bicubic", "srgan-perception", "sr3-perception"):
        assert f"`{key}`" in text


def test_the_html_report_plots_perception_against_distortion(store):
    (section,) = sections(store, "sr-test", 1, "smoke")
    x, points = section.tasks[0].distortion
    assert x == "fd_sr_test_shapes" and sorted(p.label for p in points) == ["bicubic", "sr3", "srgan", "srresnet"]
    fd = {r.model: r.value for r in store.records() if r.metric == x}
    psnr = {r.model: r.value for r in store.records() if r.metric == "sr_psnr"}
    assert all(p.x == fd[p.label] and p.values["sr_psnr"][0] == psnr[p.label] for p in points)  # one seed: itself
    assert 'alt="Perception–distortion: PSNR and SSIM against fd_sr_test_shapes' in render_report(
        store, "sr-test", "html"
    )


# -- users' super-resolution models ---------------------------------------------------------------------------------


class NearestUpscaler:
    """Pixel repetition: no sample(), only upscale()."""

    examples_per_step = 4

    def __init__(self, factor: int, shape_bug: bool = False) -> None:
        self.factor = factor
        self.shape_bug = shape_bug

    def train_step(self, batch):
        lr, hr = batch
        assert lr.shape[-1] * self.factor == hr.shape[-1]
        return {"loss": 0.0}

    def upscale(self, lr, generator):
        out = lr.repeat_interleave(self.factor, 2).repeat_interleave(self.factor, 3)
        return out[..., :-1] if self.shape_bug else out

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def nearest_factory(ctx):
    return NearestUpscaler(ctx.upscale_factor)


def buggy_factory(ctx):
    return NearestUpscaler(ctx.upscale_factor, shape_bug=True)


class SamplerOnly:
    examples_per_step = 4

    def train_step(self, batch):
        return {}

    def sample(self, n, generator):
        return torch.zeros(n, 1, SIDE, SIDE)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def sampler_factory(ctx):
    return SamplerOnly()


def run_user(tmp_path, factory):
    runner = Runner(SUITE, ResultStore(tmp_path / "u.db"), CPU, progress=False)
    cells = make_cells(SUITE, resolve_models(SUITE, [f"{__name__}:{factory}"]), SUITE.budget("smoke"), (0,))
    return runner.run(cells)


def test_a_users_upscaler_is_scored_like_the_reference_models(tmp_path):
    (outcome,) = run_user(tmp_path, "nearest_factory")
    assert outcome.status == "done"
    values = {r.metric: r.value for r in outcome.records if r.model.startswith(f"{__name__}:nearest_factory")}
    lr, hr = TASK.test_pairs(300)
    nearest = lr.repeat_interleave(2, 2).repeat_interleave(2, 3).double()[..., 2:-2, 2:-2]
    mse = ((nearest - hr.double()[..., 2:-2, 2:-2]) ** 2).mean(dim=(1, 2, 3))
    assert values["sr_psnr"] == pytest.approx(float((10 * torch.log10(255**2 / mse)).mean()), rel=1e-6)


@pytest.mark.parametrize(
    "factory, fragment",
    [("buggy_factory", "upscale(lr, generator) returned shape (2, 1, 28, 27), not"), ("sampler_factory", "no upscale")],
)
def test_a_users_model_that_cannot_upscale_is_refused_before_training(tmp_path, factory, fragment):
    with pytest.raises(BenchboxError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        run_user(tmp_path, factory)
