"""CLIP extractor: weights found by the documented rule, and features equal to open_clip's own PIL pipeline.

No weights can be downloaded here, so a tiny open_clip architecture (registered from a JSON config) gets random
weights saved to temporary files, in open_clip's state-dict layout and in OpenAI's TorchScript layout.
"""

import hashlib
import json
import shutil

import numpy as np
import open_clip
import pytest
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image

from benchbox.errors import BenchboxError
from benchbox.features import Extractor, ExtractorOptions
from benchbox.features.clip import build, parse_variant, published_sha256, weights_spec
from benchbox.registry import EXTRACTORS

TINY = "bbx-tiny-clip"  # 64-px ViT with a 32-d embedding: about 1.7 M parameters, most of them the token table
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    """The tiny config registered with open_clip, a random-init state dict, and the same net as TorchScript."""
    folder = tmp_path_factory.mktemp("clip")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    torch.manual_seed(0)
    net = open_clip.create_model(TINY, force_quick_gelu=True).eval()
    torch.save(net.state_dict(), folder / "tiny.pt")
    with pytest.warns(FutureWarning):  # torch.jit.script is deprecated; OpenAI's files were made with it
        torch.jit.script(net).save(str(folder / "tiny_jit.pt"))
    return {"net": net, "state": folder / "tiny.pt", "jit": folder / "tiny_jit.pt"}


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHBOX_OFFLINE", "1")
    monkeypatch.setenv("BENCHBOX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCHBOX_CLIP_WEIGHTS", raising=False)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _images(n, h, w, seed=0, channels=3):
    """Smooth random images (low-frequency content, like real pictures) as uint8 N×C×H×W."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, 6, 6, generator=g) * 255
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)
    return (smooth + torch.rand(n, channels, h, w, generator=g) * 20).clamp(0, 255).round().to(torch.uint8)


@pytest.fixture()
def published_tiny(tiny_files, monkeypatch):
    """An OpenAI-style release of the tiny net: its TorchScript file's digest in the URL, QuickGELU in the tag."""
    sha = _sha256(tiny_files["jit"])
    url = f"https://openaipublic.azureedge.net/clip/models/{sha}/{TINY}.pt"
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY, {"release": {"url": url, "quick_gelu": True}})
    return sha


@pytest.fixture()
def extractor(tiny_files):
    return build(f"{TINY}:custom", ExtractorOptions(weights=tiny_files["state"], allow_custom_weights=True))


def test_registered_under_clip():
    assert EXTRACTORS["clip"] is build


def test_published_digests_are_read_from_open_clip_release_urls():
    assert (
        weights_spec("ViT-B-32", "openai").sha256 == "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    )
    assert weights_spec("ViT-B-32", "openai").url.endswith("/ViT-B-32.pt")
    assert weights_spec("ViT-B-32", "laion400m_e31").sha256 == "d867053b"  # mlfoundations: digest prefix in the name
    assert published_sha256("https://dl.fbaipublicfiles.com/MMPT/metaclip/b32_400m.pt") is None
    hf_only = weights_spec("ViT-B-32", "laion2b_s34b_b79k")
    assert hf_only.url is None and hf_only.sha256 is None and "huggingface.co/laion" in hf_only.name


def test_variant_is_model_colon_tag():
    assert parse_variant(None) == ("ViT-B-32", "openai")
    assert parse_variant("ViT-B-32:LAION400M-E31") == ("ViT-B-32", "laion400m_e31")
    for bad, message in [("ViT-B-32", "MODEL:PRETRAINED"), ("ViT-Q-9:openai", "no model"), ("ViT-B-32:x", "openai")]:
        with pytest.raises(BenchboxError, match=message):
            parse_variant(bad)


def test_canonical_torchscript_release_from_the_cache_folder(tiny_files, published_tiny, tmp_path):
    cached = tmp_path / "cache" / "weights" / f"{TINY}.pt"
    cached.parent.mkdir(parents=True)
    shutil.copy(tiny_files["jit"], cached)
    ext = build(f"{TINY}:release", ExtractorOptions())
    assert ext.canonical and ext.weights_sha256 == published_tiny
    assert ext.metric_tag == "clip_bbx_tiny_clip_release" and ext.name == f"clip:{TINY}:release"
    assert isinstance(ext.net.visual.transformer.resblocks[0].mlp.gelu, open_clip.transformer.QuickGELU)
    for a, b in zip(ext.net.state_dict().values(), tiny_files["net"].state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_env_var_and_option_path(tiny_files, published_tiny, monkeypatch):
    monkeypatch.setenv("BENCHBOX_CLIP_WEIGHTS", str(tiny_files["jit"]))
    assert build(f"{TINY}:release", ExtractorOptions()).canonical
    monkeypatch.setenv("BENCHBOX_CLIP_WEIGHTS", "/nonexistent/clip.pt")  # the option wins over the variable
    assert build(f"{TINY}:release", ExtractorOptions(weights=tiny_files["jit"])).canonical
    with pytest.raises(BenchboxError, match=r"does not exist; fix the path in \$BENCHBOX_CLIP_WEIGHTS"):
        build(f"{TINY}:release", ExtractorOptions())


def test_other_file_needs_custom_weights_and_renames_the_metric(tiny_files, published_tiny):
    with pytest.raises(BenchboxError, match="not the published") as info:
        build(f"{TINY}:release", ExtractorOptions(weights=tiny_files["state"]))
    assert "--custom-weights" in info.value.hint
    ext = build(f"{TINY}:release", ExtractorOptions(weights=tiny_files["state"], allow_custom_weights=True))
    assert not ext.canonical and ext.metric_tag == "clip_bbx_tiny_clip_release_custom"
    assert ext.weights_sha256 == _sha256(tiny_files["state"])


def test_weights_without_published_digest_need_custom_weights(tiny_files):
    with pytest.raises(BenchboxError, match="no published SHA-256") as info:
        build(f"{TINY}:custom", ExtractorOptions(weights=tiny_files["state"]))
    assert "--custom-weights" in info.value.hint


def test_missing_weights_offline_say_where_to_put_them():
    with pytest.raises(BenchboxError, match="BENCHBOX_OFFLINE") as info:
        build(None, ExtractorOptions())
    assert "BENCHBOX_CLIP_WEIGHTS" in info.value.hint and "ViT-B-32.pt" in info.value.hint
    assert "openaipublic.azureedge.net" in info.value.hint


def test_a_file_of_another_network_is_refused(tiny_files, tmp_path):
    with pytest.raises(BenchboxError, match="not a CLIP ViT-S-32 weights file"):
        build("ViT-S-32:custom", ExtractorOptions(weights=tiny_files["state"], allow_custom_weights=True))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(BenchboxError, match=f"not a CLIP {TINY} weights file"):
        build(f"{TINY}:custom", ExtractorOptions(weights=garbage, allow_custom_weights=True))


def test_features_shape_dtype_and_protocol(extractor):
    assert isinstance(extractor, Extractor)
    assert extractor.outputs == {"pool": 32} and extractor.metric_tag == "clip_bbx_tiny_clip_custom"
    assert "bicubic" in extractor.preprocessing and "0.48145466" in extractor.preprocessing
    out = extractor.features(_images(3, 40, 56))
    assert set(out) == {"pool"} and out["pool"].shape == (3, 32) and out["pool"].dtype == torch.float32


def test_batch_size_does_not_change_features(extractor):
    images = _images(6, 48, 72, seed=1)
    whole = extractor.features(images)["pool"]
    parts = torch.cat([extractor.features(images[i : i + 2])["pool"] for i in range(0, 6, 2)])
    assert torch.allclose(parts, whole, rtol=1e-5, atol=1e-5 * float(whole.abs().max()))


def _open_clip_reference(net, images):
    """open_clip's own evaluation path: PIL images through its transform, then encode_image."""
    transform = image_transform_v2(PreprocessCfg(**open_clip.get_model_preprocess_cfg(net)), is_train=False)
    pils = [Image.fromarray(im.permute(1, 2, 0).squeeze(-1).numpy()).convert("RGB") for im in images]
    pixels = torch.stack([transform(im) for im in pils])
    with torch.no_grad():
        return pixels, net.encode_image(pixels)


def test_native_size_matches_open_clip_exactly(extractor, tiny_files):
    images = _images(4, 64, 64, seed=2)
    pixels, reference = _open_clip_reference(extractor.net, images)
    assert torch.allclose(extractor.pixels(images), pixels, atol=1e-6)
    assert torch.allclose(extractor.features(images)["pool"], reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(32, 32), (50, 90), (130, 100)])  # upsampling, wide crop, downsampling
def test_resized_inputs_match_open_clip_to_a_grey_level(extractor, size):
    """PIL resamples with fixed-point weights; the tensor path in float: rarely, and at most, one grey level off."""
    images = _images(4, *size, seed=3)
    pixels, reference = _open_clip_reference(extractor.net, images)
    std = torch.tensor(extractor.preprocess["std"]).view(1, 3, 1, 1)
    levels = ((extractor.pixels(images) - pixels) * std * 255).abs()
    assert float(levels.max()) <= 1.0 + 1e-3 and float((levels > 0.5).float().mean()) < 0.005
    features = extractor.features(images)["pool"]
    assert float((features - reference).norm() / reference.norm()) < 1e-3


def test_grayscale_is_repeated_to_rgb(extractor):
    gray = _images(2, 64, 64, seed=4, channels=1)
    assert torch.equal(extractor.features(gray)["pool"], extractor.features(gray.repeat(1, 3, 1, 1))["pool"])


def test_text_features_are_open_clip_encode_text(extractor):
    captions = ["a photo of a cat", "a drawing of a dog"]
    got = extractor.text_features(captions)
    with torch.no_grad():
        want = extractor.net.encode_text(open_clip.tokenize(captions))
    assert got.shape == (2, 32) and torch.allclose(got, want, atol=1e-6)
    for bad in ("one string", [], ["ok", 3]):
        with pytest.raises(BenchboxError, match="captions"):
            extractor.text_features(bad)


def test_invalid_images_are_refused(extractor):
    with pytest.raises(BenchboxError, match="float32"):
        extractor.features(torch.rand(2, 3, 64, 64))
    assert np.isfinite(extractor.features(_images(1, 64, 64))["pool"].numpy()).all()


def test_score_cli_captions_give_the_clip_score_of_open_clip_embeddings(tiny_files, tmp_path, capsys):
    """`benchbox score - FAKE --feature clip:... --captions F` against 100·max(cos, 0) of open_clip's own encoders."""
    import numpy as np

    from benchbox.cli import main

    images = _images(3, 64, 64, seed=5)  # the model's native size: preprocessing is only /255 and normalisation
    np.save(tmp_path / "fake.npy", images.permute(0, 2, 3, 1).numpy())
    captions = ["a red square", "a photo of a cat", "noise"]
    (tmp_path / "captions.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
    argv = ["score", "-", str(tmp_path / "fake.npy"), "--feature", f"clip:{TINY}:custom"]
    argv += ["--weights", str(tiny_files["state"]), "--custom-weights", "--captions", str(tmp_path / "captions.txt")]
    assert main([*argv, "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    net = open_clip.create_model(TINY).eval()  # "custom" builds the registered architecture: plain GELU
    net.load_state_dict(torch.load(tiny_files["state"]))
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (net.visual.image_mean, net.visual.image_std))
    with torch.no_grad():
        image = net.encode_image((images.float() / 255 - mean) / std).double()
        text = net.encode_text(open_clip.tokenize(captions)).double()
    cos = torch.nn.functional.cosine_similarity(image, text).clamp(min=0)
    assert values["clip_score_bbx_tiny_clip_custom"] == pytest.approx(100 * cos.mean().item(), rel=1e-5)

    (tmp_path / "captions.txt").write_text("only one caption\n", encoding="utf-8")
    assert main(argv) == 2
    assert "3 generated images but 1 captions" in capsys.readouterr().err
    assert main(["score", "-", str(tmp_path / "fake.npy"), "--feature", "pixels", "--captions", "x.txt"]) == 2
