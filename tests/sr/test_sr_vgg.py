"""VGG54 for SRGAN's content loss: found like every weights file, checked against torchvision's published digest
prefix, loaded without running code, and equal to torchvision's VGG19 up to conv5_4's ReLU."""

import pickle

import pytest
import torch
from torchvision.models import vgg19

from benchbox.errors import BenchboxError
from benchbox.features.vgg import IMAGENET_MEAN, IMAGENET_STD, VGG19, vgg54

CPU = torch.device("cpu")


@pytest.fixture()
def random_vgg(tmp_path, monkeypatch):
    torch.manual_seed(0)
    path = tmp_path / "vgg19-random.pth"
    torch.save(vgg19().state_dict(), path)
    monkeypatch.setenv(VGG19.env_var, str(path))
    return path


def test_missing_weights_are_one_line_naming_where_to_put_them(offline_cache):
    with pytest.raises(BenchboxError) as info:
        vgg54(CPU)
    text = str(info.value)
    assert "BENCHBOX_VGG_WEIGHTS" in text and VGG19.url in text and "\n" not in text


def test_weights_that_are_not_the_published_file_are_refused(offline_cache, random_vgg):
    with pytest.raises(BenchboxError, match="not the published dcbb9e9d"):
        vgg54(CPU)


def test_vgg54_is_torchvisions_vgg19_to_conv5_4(offline_cache, random_vgg):
    net = vgg54(CPU, allow_custom=True)
    reference = vgg19()
    reference.load_state_dict(torch.load(random_vgg, weights_only=True))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference.features[:36](((x + 1) / 2 - mean) / std)
        assert torch.allclose(net(x), expected, atol=1e-6)
        assert net(x).shape == (2, 512, 2, 2)  # four max-pools: 32 / 16
        grey = x[:, :1]
        assert torch.equal(net(grey), net(grey.expand(-1, 3, -1, -1)))  # grey images are repeated to RGB


class RunsCode:
    def __reduce__(self):
        return (print, ("this ran on load",))


def test_a_file_that_runs_code_on_load_is_refused(offline_cache, tmp_path, monkeypatch, capsys):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"features.0.weight": RunsCode()}, f)
    monkeypatch.setenv(VGG19.env_var, str(path))
    with pytest.raises(BenchboxError, match="not a torchvision VGG19 state dict"):
        vgg54(CPU, allow_custom=True)
    assert "this ran on load" not in capsys.readouterr().out
