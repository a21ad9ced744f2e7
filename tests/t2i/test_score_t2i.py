"""The whole protocol on a tiny COCO that the test writes: caption file, samples (folder, array, hook), FID under the
engine's names, the CLIP score against open_clip computed here, the store and the lecture table."""

import io
import json
import subprocess
import sys
import urllib.request

import numpy as np
import open_clip
import pytest
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image

from benchbox.cli import main
from benchbox.errors import BenchboxError
from benchbox.report.render import render_report
from benchbox.store import ResultStore
from benchbox.t2i import coco
from benchbox.testing import blocky_images, fails_with, have_or_install, tiny_clip_extractor

TINY = "bbx-t2i-tiny-clip"
N = 65  # FD in Inception's 64-d pool layer needs 65 images: the 2048-d FID needs 2,049


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    extractor = tiny_clip_extractor(folder, TINY)
    torch.save(extractor.net.state_dict(), folder / "tiny.pt")
    return folder / "tiny.pt"


def _jpeg(array: np.ndarray, path) -> None:
    Image.fromarray(array).save(path, quality=95)


@pytest.fixture(scope="module")
def coco_dir(tmp_path_factory):
    """COCO's layout: annotations/captions_val2014.json (70 images × 2 captions), val2014/ with 64×96 JPEGs."""
    root = tmp_path_factory.mktemp("coco")
    (root / "annotations").mkdir(parents=True)
    (root / "val2014").mkdir()
    images = blocky_images(70, seed=3).permute(0, 2, 3, 1).numpy()
    ann = {"images": [], "annotations": []}
    for i in range(70):
        name = f"COCO_val2014_{i + 1:012d}.jpg"
        big = np.kron(images[i], np.ones((2, 3, 1), dtype=np.uint8))  # 64×96: the protocol's resize and crop
        _jpeg(big, root / "val2014" / name)
        ann["images"].append({"id": i + 1, "file_name": name})
        for k in range(2):
            ann["annotations"].append({"image_id": i + 1, "id": 10 * i + k, "caption": f"blocks number {i} take {k}"})
    (root / "annotations" / "captions_val2014.json").write_text(json.dumps(ann))
    return root


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture()
def setup(tmp_path, coco_dir, module_cache, offline_cache, monkeypatch, inception_weights, tiny_clip):
    monkeypatch.setenv("BENCHBOX_CACHE", str(module_cache))  # the real set's features are extracted once
    out = tmp_path / "captions.jsonl"
    assert main(["t2i-captions", "--coco-dir", str(coco_dir), "--out", str(out), "--n", str(N)]) == 0
    samples = tmp_path / "samples"
    samples.mkdir()
    fake = blocky_images(N, seed=11, tint=30).permute(0, 2, 3, 1).numpy()
    for i in range(N):
        Image.fromarray(fake[i]).save(samples / f"{i:05d}.png")
    common = ["--captions", str(out), "--coco-dir", str(coco_dir), "--store", str(tmp_path / "r.db")]
    common += ["--inception-weights", str(inception_weights), "--custom-weights", "--inception-layer", "64"]
    common += ["--clip", f"{TINY}:custom"]
    common += ["--clip-weights", str(tiny_clip)]
    return {"captions": out, "samples": samples, "fake": fake, "common": common, "store": tmp_path / "r.db"}


def _score(capsys, setup, *extra):
    capsys.readouterr()  # what came before (the caption file's lines)
    assert main(["score-t2i", *setup["common"], "--json", *extra]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _by_hand_clip_score(tiny_clip, images_256: np.ndarray, captions: list[str]) -> float:
    """100·mean max(cos, 0) with open_clip's own PIL preprocessing, encoders and tokenizer."""
    net = open_clip.create_model(TINY).eval()
    net.load_state_dict(torch.load(tiny_clip))
    preprocess = image_transform_v2(PreprocessCfg(**open_clip.get_model_preprocess_cfg(net)), is_train=False)
    with torch.no_grad():
        image = net.encode_image(torch.stack([preprocess(Image.fromarray(a)) for a in images_256])).double()
        text = net.encode_text(open_clip.tokenize(captions)).double()
    return 100 * torch.nn.functional.cosine_similarity(image, text).clamp(min=0).mean().item()


def test_folder_and_hook_samples_are_scored_stored_and_reported(capsys, setup, tiny_clip, monkeypatch):
    values = _score(capsys, setup, "--samples", str(setup["samples"]), "--model", "mine")
    # locally made Inception weights: never FID, through this path too
    assert not any(k.startswith("fid") for k in values) and values["fd_inception64_custom"] > 0
    assert values["captions_truncated"] == 0
    p = values["provenance"]
    assert p["caption_list"]["n"] == N and not p["inception"]["weights_canonical"] and not p["zero_shot"]

    captions = [json.loads(line)["caption"] for line in setup["captions"].read_text().splitlines()[1:]]
    crops = np.stack([np.asarray(Image.fromarray(a).resize((256, 256), Image.BICUBIC)) for a in setup["fake"]])
    expected = _by_hand_clip_score(tiny_clip, crops, captions)
    clip_name = f"clip_score_{TINY.replace('-', '_')}_custom"
    assert values[clip_name] == pytest.approx(expected, abs=0.5, rel=2e-2)

    records = ResultStore(setup["store"]).records(suite="coco-t2i", model="mine")
    assert {r.metric for r in records} == {"fd_inception64_custom", clip_name, "captions_truncated"}
    assert {r.data_hash for r in records} == {p["caption_list"]["sha256"]} and {r.n_samples for r in records} == {N}

    # the same images from a hook (floats in [-1, 1], 4 captions a call), as a zero-shot model
    np.save(setup["samples"].parent / "fake.npy", setup["fake"])
    (setup["samples"].parent / "hookmod.py").write_text(
        "import numpy as np\n"
        f"FAKE = np.load({str(setup['samples'].parent / 'fake.npy')!r})\n"
        "CALLS = []\n"
        "def generate(captions):\n"
        "    start = sum(CALLS)\n"
        "    CALLS.append(len(captions))\n"
        "    return FAKE[start:start + len(captions)].astype(np.float32) / 127.5 - 1\n"
    )
    monkeypatch.syspath_prepend(str(setup["samples"].parent))
    zero = _score(capsys, setup, "--hook", "hookmod:generate", "--model", "mine-zs", "--zero-shot", "--batch-size", "4")
    sys.modules.pop("hookmod", None)
    assert zero["provenance"]["generated_sha256"] == p["generated_sha256"]  # the same pixels as the folder's
    assert zero["fd_zero_shot_inception64_custom"] == pytest.approx(values["fd_inception64_custom"], rel=1e-6)
    assert zero[clip_name] == pytest.approx(values[clip_name], rel=1e-6)
    assert zero["provenance"]["real_images"]["features_cached"]  # the real set's features come from the cache

    assert main(["report", "--suite", "coco-t2i", "--store", str(setup["store"])]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| method"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[:3] == ["method", "fid ↓", "fid_zero_shot ↓"] and "fd_inception64_custom ↓" in columns
    row = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")] for line in lines if "|" in line}
    assert row["*Imagen*"][2] == "7.27" and row["*LAFITE*"][1:3] == ["8.12", "26.94"]
    mine = row["mine"]
    assert mine[1] == "" and mine[2] == ""  # no FID columns for non-canonical weights
    assert mine[columns.index("fd_inception64_custom ↓")] == f"{values['fd_inception64_custom']:.2f}"
    assert row["mine-zs"][columns.index("fd_zero_shot_inception64_custom ↓")] != ""
    assert p["caption_list"]["sha256"][:12] in mine[columns.index("data hash")]

    # the same table as LaTeX (compiling with pdflatex) and as one HTML page
    store = ResultStore(setup["store"])
    measured = f"{values['fd_inception64_custom']:.2f}"
    tex = render_report(store, "coco-t2i", "tex")
    assert r"\textit{Imagen}" in tex and r"\textit{7.27}" in tex and f"& {measured} &" in tex
    page = render_report(store, "coco-t2i", "html")
    assert "<em>Imagen</em>" in page and f"<td>{measured}</td>" in page and page.rstrip().endswith("</html>")
    if not have_or_install("pdflatex", packages=("texlive-latex-base", "texlive-latex-recommended")):
        (setup["store"].parent / "t2i.tex").write_text(tex)
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t2i.tex"],
            cwd=setup["store"].parent,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:]


def test_bad_inputs_are_one_line_each(capsys, setup, tmp_path, monkeypatch):
    common = ["score-t2i", *setup["common"], "--model", "x"]
    (setup["samples"] / f"{N - 1:05d}.png").unlink()
    fails_with(
        capsys, [*common, "--samples", str(setup["samples"])], f"has {N - 1} images but the caption file has {N}"
    )
    Image.fromarray(setup["fake"][0]).save(setup["samples"] / f"{N + 1:05d}.png")
    fails_with(capsys, [*common, "--samples", str(setup["samples"])], f"no image for caption {N - 1}")
    Image.fromarray(setup["fake"][0]).save(setup["samples"] / "cat.png")
    fails_with(capsys, [*common, "--samples", str(setup["samples"])], "not named by its caption index")
    np.save(tmp_path / "short.npy", setup["fake"][:4])
    fails_with(capsys, [*common, "--samples", str(tmp_path / "short.npy")], "holds 4 images", f"{N} captions")

    missing = [a if a != str(setup["captions"]) else str(tmp_path / "none.jsonl") for a in common]
    fails_with(capsys, [*missing, "--samples", str(tmp_path / "short.npy")], "does not exist", "t2i-captions")
    lines = setup["captions"].read_text().splitlines()
    header = json.loads(lines[0])
    header["protocol"] = "other-protocol"
    (tmp_path / "other.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    other = [a if a != str(setup["captions"]) else str(tmp_path / "other.jsonl") for a in common]
    fails_with(capsys, [*other, "--samples", str(tmp_path / "short.npy")], "written for protocol other-protocol")
    fails_with(capsys, [*common, "--hook", "x:y", "--expect-hash", "0000"], "not the expected 0000")

    (tmp_path / "badhook.py").write_text(
        "import numpy as np\ndef generate(captions):\n    return np.full((len(captions), 32, 32, 3), 200.0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    fails_with(capsys, [*common, "--hook", "badhook:generate"], "outside [-1, 1]", "captions 0..")
    assert not setup["store"].exists() or not ResultStore(setup["store"]).records(model="x")


def test_report_without_a_store_shows_the_papers_rows_and_run_is_refused(capsys, tmp_path):
    assert main(["report", "--suite", "coco-t2i", "--store", str(tmp_path / "none.db")]) == 0
    text = capsys.readouterr().out
    assert "| *DALL-E 2* |  | 10.39 |" in text and "No measured rows" in text
    assert not (tmp_path / "none.db").exists()
    fails_with(capsys, ["run", "--suite", "coco-t2i"], "nothing to run", "benchbox score-t2i")
    fails_with(capsys, ["report", "--suite", "toy2d", "--store", str(tmp_path / "none.db")], "does not exist")
    assert main(["list", "--suite", "coco-t2i"]) == 0 and "score-t2i" in capsys.readouterr().out


def test_coco_offline_and_a_bad_download_leave_nothing(offline_cache, monkeypatch, capsys, tmp_path):
    fails_with(capsys, ["t2i-captions", "--out", str(tmp_path / "c.jsonl")], "BENCHBOX_OFFLINE is set", "--coco-dir")
    monkeypatch.delenv("BENCHBOX_OFFLINE")

    class Response(io.BytesIO):
        headers = {"Content-Length": "12"}

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(b"not a zip..."))
    with pytest.raises(BenchboxError, match="not the published"):
        coco.find_images()
    assert not any((offline_cache / "coco").iterdir())  # the partial download is deleted
