"""Domain-classifier feature space: a small CNN that benchbox trains itself on a labelled dataset's training split.

Offline suites cannot use Inception, so they measure in the space of a classifier of their own domain (as the
MNIST-classifier features used in place of FID for small datasets). Its distances are not FID: a metric in the space
of the "digits" classifier is named `fd_digits`, `kid_digits`. Training is deterministic (explicit generators, fixed
order) and cached under a key of everything the weights depend on: the data's hash, the architecture and training
config, the seed and torch's major.minor version. The cache file also records the classifier's test accuracy.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from benchbox.checkpoint import save_atomic
from benchbox.data import LabeledImages
from benchbox.data.images import check_images
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.weights import cache_root, sha256_of_file
from benchbox.registry import DATASETS, register_extractor

logger = logging.getLogger(__name__)

VERSION = "1"  # bump when the network, its training loop or the preprocessing changes: it is in the cache key
EVAL_BATCH = 1000  # batch size for test accuracy; results do not depend on it


@dataclass(frozen=True)
class DomainClassifierConfig:
    """Architecture and training of the domain classifier. Every field is in the cache key."""

    channels: tuple[int, int] = (16, 32)  # two 3×3 conv blocks; wider costs CPU time for < 1 point of accuracy
    hidden: int = 128  # width of the "pool" features: enough for FD to see the classes, small enough for covariances
    epochs: int = 6  # Fashion-MNIST: 91.6% test accuracy in 6 epochs (~100 s on one CPU core); 5 gave 91.0%
    batch_size: int = 128  # large enough to keep CPU kernels busy, small enough for many steps per epoch
    lr: float = 3e-3  # peak rate, decayed linearly to 0: +1 point over a constant 1e-3 at this short budget
    weight_decay: float = 0.0  # no regularisation needed: the network is small and trained briefly
    seed: int = 0  # for the initial weights and the shuffling order


# Per-dataset training length: digits has 1,442 training images, so it needs more epochs for as many steps.
DATASET_EPOCHS = {"digits": 30, "fashion-mnist": 6}


def default_config(dataset: str) -> DomainClassifierConfig:
    """The protocol's config for a dataset: the defaults, with that dataset's number of epochs."""
    return DomainClassifierConfig(epochs=DATASET_EPOCHS.get(dataset, DomainClassifierConfig.epochs))


class SmallCNN(nn.Module):
    """conv3×3-ReLU-maxpool ×2, a ReLU hidden layer (the "pool" features) and a linear head (the "logits")."""

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, config: DomainClassifierConfig) -> None:
        super().__init__()
        c, h, w = input_shape
        c1, c2 = config.channels
        self.body = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * (h // 4) * (w // 4), config.hidden),
            nn.ReLU(),
        )
        self.head = nn.Linear(config.hidden, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pool = self.body(x)
        return pool, self.head(pool)


def new_network(shape: tuple[int, int, int], num_classes: int, config: DomainClassifierConfig) -> SmallCNN:
    """A network with He-uniform weights and zero biases drawn from its own generator (the global RNG is untouched)."""
    with torch.random.fork_rng(devices=[]):
        net = SmallCNN(shape, num_classes, config)
    generator = torch.Generator().manual_seed(config.seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                bound = (6.0 / module.weight[0].numel()) ** 0.5  # He et al. 2015, uniform form: sqrt(6 / fan_in)
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.zero_()
    return net


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] as x / 127.5 - 1."""
    return images.to(torch.float32) / 127.5 - 1.0


def train_network(data: LabeledImages, config: DomainClassifierConfig) -> SmallCNN:
    """Adam on cross-entropy, linearly decayed rate, shuffled minibatches; bit-identical for one config on one
    machine and torch build. Runs on one CPU thread: CPU kernels reduce in an order that depends on the thread count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(data, config)
    finally:
        torch.set_num_threads(threads)


def _train(data: LabeledImages, config: DomainClassifierConfig) -> SmallCNN:
    net = new_network(tuple(data.images.shape[1:]), data.num_classes, config)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    x, y = preprocess(data.images), data.labels
    generator = torch.Generator().manual_seed(config.seed + 1)  # shuffling, apart from the initialisation stream
    steps = config.epochs * -(-len(x) // config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)  # linear decay to 0
    net.train()
    for _ in tqdm(range(config.epochs), desc=f"training {data.name} classifier", unit="epoch", disable=None):
        order = torch.randperm(len(x), generator=generator)
        for batch in order.split(config.batch_size):
            _, logits = net(x[batch])
            loss = nn.functional.cross_entropy(logits, y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return net.eval()


def accuracy(net: SmallCNN, data: LabeledImages) -> float:
    """Fraction of `data` whose arg-max logit is its label."""
    net.eval()
    correct = 0
    with torch.inference_mode():
        for images, labels in zip(data.images.split(EVAL_BATCH), data.labels.split(EVAL_BATCH), strict=True):
            _, logits = net(preprocess(images))
            correct += int((logits.argmax(dim=1) == labels).sum())
    return correct / len(data.labels)


def torch_minor() -> str:
    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def cache_key(data: LabeledImages, config: DomainClassifierConfig) -> str:
    """SHA-256 of everything the trained weights depend on."""
    identity = {
        "version": VERSION,
        "data_hash": data.data_hash,
        "input_shape": list(data.images.shape[1:]),
        "num_classes": data.num_classes,
        "config": asdict(config),
        "torch": torch_minor(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def cache_path(dataset: str, key: str) -> Path:
    return cache_root() / "domain_classifier" / f"{dataset}-{key[:16]}.pt"


def read_state(path: Path, dataset: str) -> dict[str, Any]:
    """A classifier state file saved by benchbox, loaded without unpickling code and checked for its fields."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a corrupt zip or pickle
        raise BenchboxError(
            f"classifier file '{path}' is unreadable ({type(exc).__name__})", "delete it; benchbox retrains"
        ) from exc
    fields = {"state_dict", "config", "test_accuracy", "data_hash", "dataset", "input_shape", "num_classes"}
    if not isinstance(state, dict) or not fields <= state.keys():
        raise BenchboxError(f"'{path}' is not a benchbox domain-classifier file", "pass a file that benchbox saved")
    if state["dataset"] != dataset:
        raise BenchboxError(
            f"'{path}' is a classifier for '{state['dataset']}', not '{dataset}'", "pass the right file"
        )
    return state


def network_from_state(state: dict[str, Any], path: Path) -> SmallCNN:
    config = DomainClassifierConfig(**{**state["config"], "channels": tuple(state["config"]["channels"])})
    net = new_network(tuple(state["input_shape"]), state["num_classes"], config)
    try:
        net.load_state_dict(state["state_dict"])
    except (RuntimeError, TypeError) as exc:
        raise BenchboxError(
            f"'{path}' does not fit the classifier's architecture", "delete it; benchbox retrains"
        ) from exc
    return net.eval()


def cached_or_trained(dataset: str, config: DomainClassifierConfig) -> tuple[Path, dict[str, Any], SmallCNN]:
    """The classifier from the cache, else trained on the train split, scored on the test split and cached."""
    load = DATASETS.get_or_fail(dataset)
    train = load("train")
    key = cache_key(train, config)
    path = cache_path(dataset, key)
    if path.is_file():
        try:
            state = read_state(path, dataset)
            if state.get("cache_key") != key:
                raise BenchboxError(f"'{path}' was saved under another key", "delete it; benchbox retrains")
            return path, state, network_from_state(state, path)
        except BenchboxError as exc:
            logger.warning("retraining the %s classifier: cached file is unusable (%s)", dataset, exc)
    logger.info("training the %s domain classifier (cached afterwards in %s)", dataset, path)
    net = train_network(train, config)
    state = {
        "state_dict": net.state_dict(),
        "config": asdict(config),
        "test_accuracy": accuracy(net, load("test")),
        "data_hash": train.data_hash,
        "dataset": dataset,
        "input_shape": list(train.images.shape[1:]),
        "num_classes": train.num_classes,
        "cache_key": key,
        "version": VERSION,
        "torch": torch_minor(),
    }
    save_atomic(state, path)
    return path, state, net


class DomainClassifier:
    """The Extractor of a trained domain classifier: "pool" (penultimate ReLU layer) and "logits"."""

    version = VERSION

    def __init__(
        self,
        dataset: str,
        net: SmallCNN,
        state: dict[str, Any],
        weights_sha256: str,
        canonical: bool,
        device: torch.device,
    ) -> None:
        self.name = dataset
        self.weights_sha256 = weights_sha256
        self.canonical = canonical
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.input_shape = tuple(int(s) for s in state["input_shape"])
        self.test_accuracy = float(state["test_accuracy"])
        self.train_config = state["config"]
        self.data_hash = state["data_hash"]
        self.outputs = {"pool": net.head.in_features, "logits": net.head.out_features}
        shape = "×".join(str(s) for s in self.input_shape)
        self.preprocessing = f"uint8 -> float32 x/127.5-1; no resizing: input must be N×{shape}"

    @property
    def metric_tag(self) -> str:
        """`digits` for benchbox's own classifier (fd_digits); `digits_custom` for weights from elsewhere."""
        tag = self.name.replace("-", "_")
        return tag if self.canonical else f"{tag}_custom"

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """uint8 N×C×H×W images of the training size -> {"pool": float32 N×hidden, "logits": float32 N×classes}."""
        images = check_images(images)
        if tuple(images.shape[1:]) != self.input_shape:
            expected = "×".join(str(s) for s in self.input_shape)
            raise BenchboxError(
                f"the {self.name} classifier takes N×{expected} images, not {tuple(images.shape)}",
                f"pass images of the dataset's size and channels ({expected}); the classifier does not resize",
            )
        self.net.eval()
        with torch.inference_mode():
            pool, logits = self.net(preprocess(images.to(self.device)))
        return {"pool": pool.float(), "logits": logits.float()}


def build_domain_extractor(
    dataset: str, options: ExtractorOptions | None = None, config: DomainClassifierConfig | None = None
) -> DomainClassifier:
    """The classifier of a registered labelled dataset: benchbox's own (cached) training, or `options.weights`.

    Canonical means the protocol's own training: the default config, or a weights file identical to the cached one.
    Training always runs on the CPU (so the cache does not depend on the device); the network then moves to
    `options.device`.
    """
    options = options or ExtractorOptions()
    config = config or default_config(dataset)
    if options.weights is None:
        path, state, net = cached_or_trained(dataset, config)
        canonical = config == default_config(dataset)
        return DomainClassifier(dataset, net, state, sha256_of_file(path), canonical, options.device)
    path = Path(options.weights).expanduser()
    if not path.is_file():
        raise BenchboxError(f"classifier file '{path}' does not exist", "fix the --weights path")
    state = read_state(path, dataset)
    net = network_from_state(state, path)
    digest = sha256_of_file(path)
    own = cache_path(dataset, cache_key(DATASETS.get_or_fail(dataset)("train"), default_config(dataset)))
    canonical = own.is_file() and sha256_of_file(own) == digest
    if not canonical and not options.allow_custom_weights:
        raise BenchboxError(
            f"classifier '{path}' (SHA-256 {digest[:16]}…) is not benchbox's own {dataset} classifier",
            "drop --weights to use benchbox's training, or pass --custom-weights (metrics are renamed *_custom)",
        )
    return DomainClassifier(dataset, net, state, digest, canonical, options.device)


@register_extractor("domain")
def build(variant: str | None, options: ExtractorOptions) -> DomainClassifier:
    """Feature space "domain:<dataset>": the classifier trained on that registered labelled dataset."""
    if not variant:
        raise BenchboxError(
            "the domain feature space needs a dataset", f"choose one of: {', '.join(sorted(DATASETS)) or '(none)'}"
        )
    return build_domain_extractor(variant, options)
