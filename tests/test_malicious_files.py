"""Files that would run code when deserialized, and archives that would write outside a folder, are refused in one
line naming the file, and the code never runs.

Each case builds a file whose loading calls a payload (a pickle's `__reduce__`: `Path.touch(marker)`, or
`os.system("touch marker")`) in the container format its loader expects, puts it where benchbox looks for it (the
option, the environment variable, the cache folder) and loads it through the public path: the CLI in-process, or the
builder function where there is no command. The payloads are shown to run under a plain unpickler first, so a
marker that stays absent means the loader refused them.
"""

import io
import logging
import os
import pickle
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch

from benchbox.cli import main
from benchbox.data import cifar10
from benchbox.errors import BenchboxError
from benchbox.features import domain_classifier as dc
from benchbox.features.vgg import vgg54
from benchbox.features.weights import why_unreadable
from benchbox.io import file_digest
from benchbox.metrics.ppl import perceptual_path_length
from benchbox.registry import DATASETS
from benchbox.t2i.coco import ImageSource
from benchbox.testing import fails_with, tiny_clip_extractor

TINY = "bbx-malicious-tiny-clip"


class Touch:
    """Unpickling it calls Path.touch(marker)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Shell:
    """Unpickling it runs a shell command that creates the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


PAYLOADS = [Touch, Shell]


# containers: each writes `payload` inside the format a loader expects and returns the path


def torch_file(path: Path, payload) -> Path:
    """torch.save's zip format: a state dict with one real tensor and the payload beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weight": torch.zeros(2, 2), "payload": payload}, path)
    return path


def npy_file(path: Path, payload) -> Path:
    np.save(path, np.array([payload, 1], dtype=object), allow_pickle=True)
    return path


def npz_file(path: Path, payload) -> Path:
    np.savez(path, images=np.array([payload, 1], dtype=object))
    return path


def torchscript_file(path: Path, payload) -> Path:
    """A TorchScript archive (what OpenAI's CLIP releases are) whose data.pkl is the payload's pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, pickle.dumps(payload, protocol=2) if name.endswith("/data.pkl") else src.read(name))
    return path


def cifar_archive(path: Path, payload) -> Path:
    """CIFAR-10's python archive whose test_batch is the payload's pickle (protocol 2, as the real batches)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        data = pickle.dumps({b"data": payload, b"labels": [0]}, protocol=2)
        info = tarfile.TarInfo(f"{cifar10.FOLDER}/test_batch")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_the_payloads_run_under_a_plain_unpickler(tmp_path):
    """What makes `not marker.exists()` below mean "refused": each payload in each container runs when it is loaded
    the unsafe way."""
    unsafe = {
        (torch_file, ".pt"): lambda p: torch.load(p, weights_only=False),
        (npy_file, ".npy"): lambda p: np.load(p, allow_pickle=True),
        (npz_file, ".npz"): lambda p: np.load(p, allow_pickle=True)["images"],
        (cifar_archive, ".tar.gz"): lambda p: pickle.loads(
            tarfile.open(p).extractfile(f"{cifar10.FOLDER}/test_batch").read()
        ),
    }
    for (write, suffix), load in unsafe.items():
        for payload in PAYLOADS:
            marker = tmp_path / f"ran-{write.__name__}-{payload.__name__}"
            load(write(tmp_path / f"evil-{write.__name__}-{payload.__name__}{suffix}", payload(marker)))
            assert marker.exists(), (write.__name__, payload.__name__)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A tiny open_clip architecture registered under TINY (random weights; the files here hold only payloads)."""
    tiny_clip_extractor(tmp_path_factory.mktemp("clip"), TINY)


@pytest.fixture()
def images(tmp_path, offline_cache, monkeypatch):
    """Two small image sets as .npy files, a fresh cache folder, no downloads, and the test's folder as cwd."""
    monkeypatch.chdir(tmp_path)
    g = np.random.default_rng(0)
    for name in ("real", "fake"):
        np.save(tmp_path / f"{name}.npy", g.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8))
    for name in ("digits-real", "digits-fake"):
        np.save(tmp_path / f"{name}.npy", g.integers(0, 17, (12, 8, 8, 1), dtype=np.uint8))
    return tmp_path


def score(*args: str) -> list[str]:
    return ["score", "real.npy", "fake.npy", "--metrics", "kid", "--no-cache", *args]


# cases: (tmp_path, payload, monkeypatch) -> (CLI arguments or a function to call, what the error line must name)


def images_npy(tmp, payload, mp):
    npy_file(tmp / "evil.npy", payload)
    return ["score", "real.npy", "evil.npy", "--feature", "pixels"], "evil.npy"


def images_npz(tmp, payload, mp):
    npz_file(tmp / "evil.npz", payload)
    return ["score", "evil.npz", "fake.npy", "--feature", "pixels"], "evil.npz"


def inception_option(tmp, payload, mp):
    evil = torch_file(tmp / "inception.pth", payload)
    return score("--feature", "inception", "--inception-weights", str(evil), "--custom-weights"), str(evil)


def inception_env_var(tmp, payload, mp):
    evil = torch_file(tmp / "inception.pth", payload)
    mp.setenv("BENCHBOX_INCEPTION_WEIGHTS", str(evil))
    return score("--feature", "inception", "--custom-weights"), str(evil)


def inception_cache_folder(tmp, payload, mp):
    """Refused by its SHA-256 before it is read: the cache folder holds only the published file."""
    evil = torch_file(tmp / "cache" / "weights" / "weights-inception-2015-12-05-6726825d.pth", payload)
    return score("--feature", "inception", "--custom-weights"), str(evil)


def clip_state_dict(tmp, payload, mp):
    evil = torch_file(tmp / "clip.pt", payload)
    return score("--feature", f"clip:{TINY}:custom", "--clip-weights", str(evil), "--custom-weights"), str(evil)


def clip_numpy_weights(tmp, payload, mp):
    """open_clip reads .npz files as big_vision (SigLIP) weights."""
    evil = npz_file(tmp / "clip.npz", payload)
    return score("--feature", f"clip:{TINY}:custom", "--clip-weights", str(evil), "--custom-weights"), str(evil)


def clip_torchscript_custom(tmp, payload, mp):
    evil = torchscript_file(tmp / "clip-jit.pt", payload)
    mp.setenv("BENCHBOX_CLIP_WEIGHTS", str(evil))
    return score("--feature", f"clip:{TINY}:custom", "--custom-weights"), str(evil)


def clip_torchscript_published(tmp, payload, mp):
    """A TorchScript archive whose digest is the release's (as if the release itself were malicious), in the cache."""
    evil = torchscript_file(tmp / "cache" / "weights" / f"{TINY}.pt", payload)
    url = f"https://openaipublic.azureedge.net/clip/models/{file_digest(evil)}/{TINY}.pt"
    mp.setitem(open_clip.pretrained._PRETRAINED, TINY, {"release": {"url": url, "quick_gelu": True}})
    return score("--feature", f"clip:{TINY}:release"), str(evil)


def dinov2_option(tmp, payload, mp):
    evil = torch_file(tmp / "dinov2.pth", payload)
    return score("--feature", "dinov2:vits14", "--dinov2-weights", str(evil), "--custom-weights"), str(evil)


def dinov2_env_var(tmp, payload, mp):
    evil = torch_file(tmp / "dinov2.pth", payload)
    mp.setenv("BENCHBOX_DINOV2_WEIGHTS", str(evil))
    return score("--feature", "dinov2:vits14", "--custom-weights"), str(evil)


def domain_classifier_option(tmp, payload, mp):
    evil = torch_file(tmp / "digits-classifier.pt", payload)
    args = ["score", "digits-real.npy", "digits-fake.npy", "--feature", "digits", "--metrics", "kid"]
    return [*args, "--weights", str(evil), "--custom-weights"], str(evil)


def domain_classifier_cache(tmp, payload, mp):
    """The cached classifier is refused (a warning names it) and benchbox trains a new one: stopped here, since
    reaching the training means the file was not used."""
    config = dc.default_config("digits")
    torch_file(dc.cache_path("digits", dc.cache_key(DATASETS["digits"]("train"), config)), payload)

    def no_training(*args):
        raise BenchboxError("the test stops the retraining")

    mp.setattr(dc, "train_network", no_training)
    args = ["score", "digits-real.npy", "digits-fake.npy", "--feature", "digits", "--metrics", "kid"]
    return args, "the test stops the retraining"


def vgg19_env_var(tmp, payload, mp):
    evil = torch_file(tmp / "vgg19.pth", payload)
    mp.setenv("BENCHBOX_VGG_WEIGHTS", str(evil))  # what `benchbox run --vgg-weights` sets
    return lambda: vgg54(torch.device("cpu"), allow_custom=True), str(evil)


def _ppl(heads: Path, vgg16: Path):
    return lambda: perceptual_path_length(
        torch.nn.Identity(), 3, num_samples=2, lpips_weights=heads, vgg16_weights=vgg16, allow_custom_weights=True
    )


def ppl_lpips_heads(tmp, payload, mp):
    evil = torch_file(tmp / "heads.pth", payload)
    torch.save({"weight": torch.zeros(2)}, tmp / "vgg16.pth")
    return _ppl(evil, tmp / "vgg16.pth"), str(evil)


def ppl_vgg16(tmp, payload, mp):
    evil = torch_file(tmp / "vgg16.pth", payload)
    torch.save({"weight": torch.zeros(2)}, tmp / "heads.pth")
    return _ppl(tmp / "heads.pth", evil), str(evil)


def cifar10_batch(tmp, payload, mp):
    """The archive's MD5 is made the published one, as for a release that were itself malicious."""
    evil = cifar_archive(tmp / "data" / cifar10.ARCHIVE, payload)
    mp.setattr(cifar10, "ARCHIVE_MD5", file_digest(evil, "md5"))
    return ["score", "cifar10:test", "fake.npy", "--feature", "pixels", "--data-dir", str(tmp / "data")], str(evil)


CASES = [
    images_npy,
    images_npz,
    inception_option,
    inception_env_var,
    inception_cache_folder,
    clip_state_dict,
    clip_numpy_weights,
    clip_torchscript_custom,
    clip_torchscript_published,
    dinov2_option,
    dinov2_env_var,
    domain_classifier_option,
    domain_classifier_cache,
    vgg19_env_var,
    ppl_lpips_heads,
    ppl_vgg16,
    cifar10_batch,
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_a_file_that_would_run_code_is_refused_in_one_line_and_never_runs(
    case, payload, images, tiny_clip, monkeypatch, capsys
):
    marker = images / "pwned"
    attempt, named = case(images, payload(marker), monkeypatch)
    if isinstance(attempt, list):
        fails_with(capsys, attempt, named)
    else:
        with pytest.raises(BenchboxError) as info:
            attempt()
        assert named in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert not marker.exists()


def test_a_cached_feature_file_with_an_object_array_is_recomputed_not_unpickled(images, monkeypatch, capsys, caplog):
    args = ["score", "real.npy", "fake.npy", "--feature", "pixels", "--metrics", "kid", "--json"]
    assert main(args) == 0
    first = capsys.readouterr().out
    entries = sorted((images / "cache" / "features").rglob("*.npz"))
    assert len(entries) == 2
    marker = images / "pwned"
    for entry in entries:
        npz_file(entry, Touch(marker))
    with caplog.at_level(logging.WARNING):
        assert main(args) == 0
    assert not marker.exists()
    assert sum("unreadable; recomputing" in r.getMessage() for r in caplog.records) == 2
    second = capsys.readouterr().out
    assert first.split('"provenance"')[0] == second.split('"provenance"')[0]  # the same values, recomputed
    for entry in entries:  # and the entries written again, readable without pickles
        with np.load(entry, allow_pickle=False) as archive:
            assert archive.files


def test_torch_refusals_are_reduced_to_the_global_they_name(tmp_path):
    with pytest.raises(pickle.UnpicklingError) as info:
        torch.load(torch_file(tmp_path / "evil.pt", Shell(tmp_path / "x")), weights_only=True)
    assert "\n" in str(info.value)  # torch's message: many lines of advice
    reason = why_unreadable(info.value)
    assert "system" in reason and "\n" not in reason and "\x1b" not in reason and len(reason) <= 160


# archives: members that would land outside a folder if extracted


def _tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=2)
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"{cifar10.FOLDER}/test_batch")
        info.size = len(batch)
        tar.addfile(info, io.BytesIO(batch))  # a readable batch first: the refusal does not wait for a bad one
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


ARCHIVE_MEMBERS = {
    "dot-dot": (_member("../evil"), "'..'"),
    "dot-dot-inside": (_member(f"{cifar10.FOLDER}/../../evil"), "'..'"),
    "absolute": (_member("/tmp/benchbox-evil-absolute"), "absolute"),
    "symlink": (_member(f"{cifar10.FOLDER}/data_batch_1", tarfile.SYMTYPE, "/etc/passwd"), "link"),
    "hardlink": (_member(f"{cifar10.FOLDER}/data_batch_2", tarfile.LNKTYPE, "../../evil"), "link"),
    "device": (_member(f"{cifar10.FOLDER}/tty", tarfile.CHRTYPE), "special file"),
}


@pytest.mark.parametrize("kind", ARCHIVE_MEMBERS)
def test_a_cifar_archive_with_a_member_outside_its_folder_is_refused_and_nothing_is_written(
    kind, tmp_path, offline_cache, monkeypatch
):
    member, why = ARCHIVE_MEMBERS[kind]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    archive = _tar_with(tmp_path / "data" / cifar10.ARCHIVE, member, b"evil" if member.isfile() else b"")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(BenchboxError) as info:
        cifar10.read_split(archive, "test")
    message = str(info.value)
    assert repr(member.name) in message and why in message and str(archive) in message and "\n" not in message
    assert "fetch" in info.value.hint
    assert sorted(tmp_path.rglob("*")) == before  # nothing extracted, here or beside the archive
    assert not Path("/tmp/benchbox-evil-absolute").exists()


def test_the_published_layout_still_reads(tmp_path):
    """The check refuses only what a real CIFAR-10 archive never has: a folder member and its files pass."""
    archive = tmp_path / cifar10.ARCHIVE
    batch = pickle.dumps({b"data": np.full((2, 3072), 7, np.uint8), b"labels": [3, 4]}, protocol=2)
    with tarfile.open(archive, "w:gz") as tar:
        folder = tarfile.TarInfo(cifar10.FOLDER)
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name in ("test_batch", "readme.html"):
            info = tarfile.TarInfo(f"{cifar10.FOLDER}/{name}")
            info.size = len(batch)
            tar.addfile(info, io.BytesIO(batch))
    split = cifar10.read_split(archive, "test")
    assert split.labels.tolist() == [3, 4] and int(split.images.float().mean()) == 7


@pytest.mark.parametrize("name", ["../secret.jpg", "/etc/passwd", "sub/../../x.jpg", "..", ""])
def test_coco_image_names_cannot_leave_the_images_folder(name, tmp_path):
    (tmp_path / "val2014").mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"outside the images folder")
    source = ImageSource(tmp_path / "val2014")
    for attempt in (lambda: source.fingerprint([name]), lambda: list(source.batches([name], 1))):
        with pytest.raises(BenchboxError, match="is not a file name") as info:
            attempt()
        assert repr(name) in str(info.value) and "\n" not in str(info.value)
