"""DINOv2 extractor: weights found by the documented rule; features equal to a from-scratch forward written after
DINOv2's own code (position embeddings resampled on the fly), and to torch-fidelity's preprocessing.

No weights can be downloaded here: timm's ViT-S/14 shrunk to two blocks gets random weights (layer scales and all),
saved in Meta's release layout (518-px position embeddings, a mask token) to a temporary file.
"""

import hashlib
import math
import shutil

import pytest
import timm
import torch
import torch.nn.functional as F
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

from benchbox.errors import BenchboxError
from benchbox.features import Extractor, ExtractorOptions
from benchbox.features import dinov2 as dinov2_module
from benchbox.features.dinov2 import ARCHS, Dinov2Arch, build, resample_pos_embed, to_timm_layout
from benchbox.registry import EXTRACTORS

DEPTH, DIM, HEADS = 2, 384, 6
REAL_CREATE_NETWORK = dinov2_module.create_network


def _small_network(arch):
    return timm.create_model(arch.timm_name, pretrained=False, img_size=224, num_classes=0, depth=DEPTH)


def _meta_state_dict(seed=0):
    """Random weights of a two-block ViT-S/14 in Meta's layout: 37×37 positions, mask token, non-zero layer scales."""
    net = timm.create_model("vit_small_patch14_dinov2", pretrained=False, img_size=518, num_classes=0, depth=DEPTH)
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in net.state_dict().items():
        noise = torch.randn(value.shape, generator=g) * 0.2
        state[key] = noise + 1 if key.endswith("norm1.weight") or key.endswith("norm2.weight") else noise
    state["mask_token"] = torch.zeros(1, DIM)
    return state


@pytest.fixture(scope="module")
def meta_file(tmp_path_factory):
    state = _meta_state_dict()
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_vits14_pretrain.pth"
    torch.save(state, path)
    return {"state": state, "path": path, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


@pytest.fixture(autouse=True)
def _offline_small(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHBOX_OFFLINE", "1")
    monkeypatch.setenv("BENCHBOX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCHBOX_DINOV2_WEIGHTS", raising=False)
    monkeypatch.setattr(dinov2_module, "create_network", _small_network)


@pytest.fixture()
def published(meta_file, monkeypatch):
    """Make the test file the published vits14 release."""
    monkeypatch.setitem(ARCHS, "vits14", Dinov2Arch("vit_small_patch14_dinov2", DIM, meta_file["sha256"]))


@pytest.fixture()
def extractor(meta_file, published):
    return build("vits14", ExtractorOptions(weights=meta_file["path"]))


def _images(n, h, w, seed=0, channels=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, h, w), generator=g, dtype=torch.uint8)


def _dinov2_forward(state, x):
    """DINOv2's DinoVisionTransformer forward (x_norm_clstoken), written out from its code for this test."""
    n = len(x)
    tokens = F.conv2d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=14)
    tokens = torch.cat([state["cls_token"].expand(n, -1, -1), tokens.flatten(2).transpose(1, 2)], dim=1)
    # interpolate_pos_encoding, on every call in DINOv2: bicubic, no antialias, scale (w0 + 0.1) / M
    pos = state["pos_embed"]
    m, w0 = int(math.sqrt(pos.shape[1] - 1)), x.shape[2] // 14
    scale = float(w0 + 0.1) / m
    grid = pos[:, 1:].reshape(1, m, m, DIM).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, mode="bicubic", antialias=False, scale_factor=(scale, scale))
    tokens = tokens + torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, DIM)], dim=1)
    for i in range(DEPTH):
        p = f"blocks.{i}."
        h = F.layer_norm(tokens, (DIM,), state[p + "norm1.weight"], state[p + "norm1.bias"], eps=1e-6)
        qkv = F.linear(h, state[p + "attn.qkv.weight"], state[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(n, -1, 3, HEADS, DIM // HEADS).permute(2, 0, 3, 1, 4)
        attn = ((q * (DIM // HEADS) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        h = (attn @ v).transpose(1, 2).reshape(n, -1, DIM)
        tokens = tokens + state[p + "ls1.gamma"] * F.linear(
            h, state[p + "attn.proj.weight"], state[p + "attn.proj.bias"]
        )
        h = F.layer_norm(tokens, (DIM,), state[p + "norm2.weight"], state[p + "norm2.bias"], eps=1e-6)
        h = F.linear(
            F.gelu(F.linear(h, state[p + "mlp.fc1.weight"], state[p + "mlp.fc1.bias"])),
            state[p + "mlp.fc2.weight"],
            state[p + "mlp.fc2.bias"],
        )
        tokens = tokens + state[p + "ls2.gamma"] * h
    return F.layer_norm(tokens, (DIM,), state["norm.weight"], state["norm.bias"], eps=1e-6)[:, 0]


def test_registered_under_dinov2():
    assert EXTRACTORS["dinov2"] is build


def test_release_urls_and_digests():
    spec = dinov2_module.weights_spec("vitl14")
    assert spec.url == "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth"
    assert spec.sha256.startswith("d5383ea8") and spec.env_var == "BENCHBOX_DINOV2_WEIGHTS"
    assert all(len(arch.sha256) == 64 for arch in ARCHS.values())


def test_published_file_from_path_env_and_cache(meta_file, published, tmp_path, monkeypatch):
    ext = build("vits14", ExtractorOptions(weights=meta_file["path"]))
    assert ext.canonical and ext.weights_sha256 == meta_file["sha256"]
    assert ext.metric_tag == "dinov2_vits14" and ext.name == "dinov2:vits14"
    monkeypatch.setenv("BENCHBOX_DINOV2_WEIGHTS", str(meta_file["path"]))
    assert build("vits14", ExtractorOptions()).canonical
    monkeypatch.delenv("BENCHBOX_DINOV2_WEIGHTS")
    cached = tmp_path / "cache" / "weights" / "dinov2_vits14_pretrain.pth"
    cached.parent.mkdir(parents=True)
    shutil.copy(meta_file["path"], cached)
    assert build("vits14", ExtractorOptions()).canonical


def test_unpublished_file_needs_custom_weights_and_renames_the_metric(meta_file):
    with pytest.raises(BenchboxError, match="not the published b938bf1b") as info:
        build("vits14", ExtractorOptions(weights=meta_file["path"]))
    assert "--custom-weights" in info.value.hint
    ext = build("vits14", ExtractorOptions(weights=meta_file["path"], allow_custom_weights=True))
    assert not ext.canonical and ext.metric_tag == "dinov2_vits14_custom"


def test_missing_weights_offline_say_where_to_put_them():
    with pytest.raises(BenchboxError, match="BENCHBOX_OFFLINE") as info:
        build(None, ExtractorOptions())
    assert "BENCHBOX_DINOV2_WEIGHTS" in info.value.hint and "dinov2_vitl14_pretrain.pth" in info.value.hint


def test_unknown_variant_and_foreign_file_are_refused(tmp_path):
    with pytest.raises(BenchboxError, match="choose one of vits14, vitb14, vitl14, vitg14"):
        build("vitx14", ExtractorOptions())
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, other)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a tensor file")
    for path in (other, garbage):
        with pytest.raises(BenchboxError, match="not a DINOv2 vits14 weights file"):
            build("vits14", ExtractorOptions(weights=path, allow_custom_weights=True))


def test_features_equal_dinovs_own_forward(extractor, meta_file):
    images = _images(3, 40, 40)
    out = extractor.features(images)
    assert isinstance(extractor, Extractor) and extractor.outputs == {"pool": DIM}
    assert out["pool"].shape == (3, DIM) and out["pool"].dtype == torch.float32
    with torch.no_grad():
        want = _dinov2_forward(meta_file["state"], extractor.pixels(images))
    assert torch.allclose(out["pool"], want, rtol=1e-4, atol=1e-4)


def test_preprocessing_and_features_equal_torch_fidelity(extractor):
    """torch-fidelity's dinov2 forward (TF1 bilinear to 224, ImageNet normalisation) around the same network."""
    reference = FeatureExtractorDinoV2.__new__(FeatureExtractorDinoV2)
    FeatureExtractorBase.__init__(reference, "dinov2-vit-s-14", ["dinov2"])
    reference.feature_extractor_internal_dtype = torch.float32
    reference.model = extractor.net
    images = _images(2, 64, 48, seed=1)
    with torch.no_grad():
        (want,) = reference(images)
    assert torch.allclose(extractor.features(images)["pool"], want, rtol=1e-6, atol=1e-6)


def test_batch_size_does_not_change_features(extractor):
    images = _images(6, 32, 32, seed=2)
    whole = extractor.features(images)["pool"]
    parts = torch.cat([extractor.features(images[i : i + 2])["pool"] for i in range(0, 6, 2)])
    assert torch.allclose(parts, whole, rtol=1e-5, atol=1e-5 * float(whole.abs().max()))


def test_grayscale_is_repeated_to_rgb(extractor):
    gray = _images(2, 28, 28, seed=3, channels=1)
    assert torch.equal(extractor.features(gray)["pool"], extractor.features(gray.repeat(1, 3, 1, 1))["pool"])


def test_timm_layout_file_gives_the_same_features(extractor, meta_file, tmp_path):
    timm_state = {k: v for k, v in meta_file["state"].items() if k != "mask_token"}
    path = tmp_path / "model.safetensors"
    from safetensors.torch import save_file

    save_file(timm_state, str(path))
    other = build("vits14", ExtractorOptions(weights=path, allow_custom_weights=True))
    images = _images(2, 30, 30, seed=4)
    assert torch.equal(other.features(images)["pool"], extractor.features(images)["pool"])


def test_layout_conversion_renames_giant_swiglu_and_resamples_positions():
    pos = torch.randn(1, 1 + 37 * 37, 8)
    out = to_timm_layout(
        {
            "mask_token": torch.zeros(1, 8),
            "pos_embed": pos,
            "blocks.3.mlp.w12.weight": torch.ones(1),
            "blocks.3.mlp.w3.bias": torch.ones(1),
        }
    )
    assert set(out) == {"pos_embed", "blocks.3.mlp.fc1.weight", "blocks.3.mlp.fc2.bias"}
    assert out["pos_embed"].shape == (1, 1 + 16 * 16, 8) and torch.equal(out["pos_embed"][:, 0], pos[:, 0])
    assert resample_pos_embed(out["pos_embed"], 16) is out["pos_embed"]  # already on the grid: untouched
    with pytest.raises(BenchboxError, match="registers"):
        to_timm_layout({"register_tokens": torch.zeros(1, 4, 8)})


def test_real_vits14_network_loads_meta_layout(monkeypatch, tmp_path):
    """The unshrunk timm ViT-S/14 takes a full-depth file in Meta's layout (all 12 blocks' keys match)."""
    monkeypatch.setattr(dinov2_module, "create_network", REAL_CREATE_NETWORK)
    net = REAL_CREATE_NETWORK(ARCHS["vits14"])
    state = dict(net.state_dict(), pos_embed=torch.randn(1, 1 + 37 * 37, DIM), mask_token=torch.zeros(1, DIM))
    torch.save(state, tmp_path / "full.pth")
    ext = build("vits14", ExtractorOptions(weights=tmp_path / "full.pth", allow_custom_weights=True))
    assert ext.features(_images(1, 16, 16))["pool"].shape == (1, DIM)
