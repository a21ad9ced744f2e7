"""Name -> object registries for suites, models and metrics; entries register where they are defined."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from benchbox.errors import UnknownNameError

T = TypeVar("T")


class Registry(dict[str, Any]):
    """A dict that refuses duplicate names and answers unknown ones with the list of known ones."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def add(self, name: str, obj: Any) -> None:
        if name in self and self[name] is not obj:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self[name] = obj

    def get_or_fail(self, name: str) -> Any:
        load_builtins()
        if name not in self:
            raise UnknownNameError(self.kind, name, list(self))
        return self[name]


@dataclass(frozen=True)
class ModelKind:
    """A registered model family: a builder that turns (config, ModelContext) into a Model."""

    name: str
    config_type: type
    build: Callable[..., Any]
    check: Callable[[Any], None] | None = None  # raises a BenchboxError for a config that cannot be built


@dataclass(frozen=True)
class MetricDef:
    """A registered metric: a pure function of MetricInputs, and how to read its value."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    description: str
    decimals: int = 3


@dataclass(frozen=True)
class ScoreDef:
    """A metric family of the feature engine (`benchbox score --metrics NAME`): a pure function of features.

    `fn(fake, real, **settings) -> {value name: value}` reads the extractor output named `output` ("pool" for
    the embedding, "logits" for class scores); `real` is None when `needs_real` is False. `values` maps each
    value name it returns to whether higher is better. The engine names values for the feature space.
    """

    name: str
    fn: Callable[..., dict[str, float]]
    output: str
    needs_real: bool
    values: dict[str, bool]
    description: str
    min_samples: Callable[..., int] | None = None  # (dim, **settings) -> fewest samples per set it can use


SUITES = Registry("suite")
MODELS = Registry("model")
METRICS = Registry("metric")
SCORES = Registry("metric family")
EXTRACTORS = Registry("feature space")
DATASETS = Registry("dataset")


def register_suite(suite: T) -> T:
    SUITES.add(suite.name, suite)  # type: ignore[attr-defined]
    return suite


def register_model(
    name: str, config_type: type, check: Callable[[Any], None] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a model builder; `check(config)` lets a suite refuse a bad config before any training starts."""

    def deco(build: Callable[..., Any]) -> Callable[..., Any]:
        MODELS.add(name, ModelKind(name, config_type, build, check))
        return build

    return deco


def register_metric(
    name: str, *, higher_is_better: bool, description: str, decimals: int = 3
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    def deco(fn: Callable[..., float]) -> Callable[..., float]:
        METRICS.add(name, MetricDef(name, fn, higher_is_better, description, decimals))
        return fn

    return deco


def register_score(
    name: str,
    *,
    output: str,
    needs_real: bool,
    values: dict[str, bool],
    description: str,
    min_samples: Callable[..., int] | None = None,
) -> Callable[[Callable[..., dict[str, float]]], Callable[..., dict[str, float]]]:
    def deco(fn: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
        SCORES.add(name, ScoreDef(name, fn, output, needs_real, dict(values), description, min_samples))
        return fn

    return deco


def register_extractor(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a feature-space builder `build(variant: str | None, options: ExtractorOptions) -> Extractor`."""

    def deco(build: Callable[..., Any]) -> Callable[..., Any]:
        EXTRACTORS.add(name, build)
        return build

    return deco


def register_dataset(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a labelled image dataset loader `load(split: str) -> benchbox.data.LabeledImages`."""

    def deco(load: Callable[..., Any]) -> Callable[..., Any]:
        DATASETS.add(name, load)
        return load

    return deco


_loaded = False


def load_builtins() -> None:
    """Import the packages whose modules register the built-in models, metrics and suites."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for package in ("benchbox.metrics", "benchbox.features", "benchbox.data", "reference_models", "benchmarks"):
        pkg = importlib.import_module(package)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
            if ".perf" not in info.name:
                importlib.import_module(info.name)
