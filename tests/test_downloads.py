"""Every download benchbox makes is checked before it is used, and a failed one leaves nothing behind.

A local HTTP server on 127.0.0.1 (a thread of this process) serves each caller's file: bytes that are not the
published ones (digest mismatch), the right bytes cut off half-way (the connection closes before Content-Length
bytes), or a 404. Each case goes through the caller's public path (the CLI, the dataset loaders, COCO's reader) and
checks a one-line error and a download folder without the file or any temporary one. The same server's whole file,
with its digest made the published one, lands intact: the harness itself works.
"""

import contextlib
import dataclasses
import hashlib
import http.server
import threading

import numpy as np
import pytest

from benchbox.cli import main
from benchbox.data import cifar10, fashion_mnist
from benchbox.errors import BenchboxError
from benchbox.features import inception, weights
from benchbox.metrics import ppl
from benchbox.t2i import coco
from benchbox.testing import fails_with

BODY = bytes(range(256)) * 4096  # 1 MiB: more than one read block of download_atomic


class Server(http.server.ThreadingHTTPServer):
    mode = "whole"  # "whole", "cut" or "missing"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        if self.server.mode == "missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY if self.server.mode == "whole" else BODY[: len(BODY) // 2])
        self.close_connection = True  # "cut": the connection closes half-way through the announced length

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture()
def online(offline_cache, monkeypatch, tmp_path):
    """Downloads allowed, into a fresh cache folder; the test's folder as cwd (for the CLI's image files)."""
    monkeypatch.delenv("BENCHBOX_OFFLINE")
    monkeypatch.chdir(tmp_path)
    return offline_cache


def url(server, name: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{name}"


# callers: (monkeypatch, server, published digest of the served body or None to keep the real one) ->
# (CLI arguments or a function that downloads, the folder the download lands in)


def inception_weights(mp, server, published):
    spec = dataclasses.replace(inception.INCEPTION_WEIGHTS, url=url(server, "inception.pth"))
    mp.setattr(inception, "INCEPTION_WEIGHTS", dataclasses.replace(spec, sha256=published or spec.sha256))
    g = np.random.default_rng(0)
    for name in ("real", "fake"):
        np.save(f"{name}.npy", g.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    return ["score", "real.npy", "fake.npy", "--metrics", "kid", "--no-cache"], weights.cache_root() / "weights"


def ppl_vgg16_weights(mp, server, published):
    spec = dataclasses.replace(ppl.VGG16, url=url(server, "vgg16.pth"))
    spec = dataclasses.replace(spec, sha256=published or spec.sha256)
    return lambda: weights.resolve_weights(spec), weights.cache_root() / "weights"


def cifar10_archive(mp, server, published):
    mp.setattr(cifar10, "URL", url(server, cifar10.ARCHIVE))
    if published:
        mp.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(BODY).hexdigest())
    return lambda: cifar10.load("test"), weights.cache_root() / "data"


def fashion_mnist_file(mp, server, published):
    mp.setattr(fashion_mnist, "URL", url(server, ""))
    mp.setattr(fashion_mnist, "DEBIAN_FOLDER", weights.cache_root() / "no-debian-package")
    if published:
        mp.setattr(fashion_mnist, "GZ_MD5", dict.fromkeys(fashion_mnist.GZ_MD5, hashlib.md5(BODY).hexdigest()))
    return lambda: fashion_mnist.load("test"), fashion_mnist.cache_folder()


def coco_annotations(mp, server, published):
    zip_file = dataclasses.replace(coco.ANNOTATIONS_ZIP, url=url(server, coco.ANNOTATIONS_ZIP.name))
    mp.setattr(coco, "ANNOTATIONS_ZIP", dataclasses.replace(zip_file, sha256=published or zip_file.sha256))
    return lambda: coco.read_annotations(), weights.cache_root() / "coco"


CALLERS = [inception_weights, ppl_vgg16_weights, cifar10_archive, fashion_mnist_file, coco_annotations]
FAILURES = {
    "digest-mismatch": ("whole", False, "not the published"),
    "cut-mid-way": ("cut", True, "cannot download"),
    "not-found": ("missing", True, "cannot download"),
}


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.__name__)
def test_a_failed_download_is_one_error_and_leaves_no_file(caller, failure, server, online, monkeypatch, capsys):
    mode, digest_is_the_body, message = FAILURES[failure]
    server.mode = mode
    attempt, folder = caller(monkeypatch, server, hashlib.sha256(BODY).hexdigest() if digest_is_the_body else None)
    if isinstance(attempt, list):
        fails_with(capsys, attempt, message)
    else:
        with pytest.raises(BenchboxError, match=message) as info:
            attempt()
        assert "\n" not in str(info.value)
    assert server.requests  # it did try
    assert not folder.exists() or list(folder.iterdir()) == []  # neither the file nor a .part file


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.__name__)
def test_the_whole_file_with_the_published_digest_lands_intact(caller, server, online, monkeypatch):
    attempt, folder = caller(monkeypatch, server, hashlib.sha256(BODY).hexdigest())
    with contextlib.suppress(BenchboxError):  # BODY is not weights, an archive or a zip: reading it may fail after
        main(attempt) if isinstance(attempt, list) else attempt()
    landed = list(folder.iterdir())  # Fashion-MNIST fetches both files of the split before reading them
    assert len(landed) == len(server.requests) >= 1
    assert all(p.read_bytes() == BODY and not p.name.startswith(".") for p in landed)


def test_weights_without_a_published_digest_are_never_downloaded(online, server):
    spec = dataclasses.replace(ppl.LPIPS_HEADS, url=url(server, ppl.LPIPS_HEADS.filename))
    assert spec.sha256 is None  # torch-fidelity publishes none for its LPIPS heads
    with pytest.raises(BenchboxError, match="no published SHA-256, so benchbox does not download") as info:
        weights.resolve_weights(spec)
    assert "BENCHBOX_LPIPS_WEIGHTS" in info.value.hint and str(weights.cache_root() / "weights") in info.value.hint
    assert server.requests == [] and not (weights.cache_root() / "weights").exists()
