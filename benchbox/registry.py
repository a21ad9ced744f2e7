"""Name -> object registries for suites, models, metric families, feature spaces and datasets; entries register where
they are defined. The built-in entries are registered by importing `benchbox.builtins`, the one module that lists
them; a registry itself never imports anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from benchbox.catalogue import Value, register_values
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
        if name not in self:
            raise UnknownNameError(self.kind, name, list(self))
        return self[name]


# The report groups its rows by model family, in this order, with a rule between groups.
MODEL_FAMILIES = {
    "ae": "auto-encoders",
    "vae": "VAEs",
    "gan": "GANs",
    "diffusion": "diffusion",
    "sr": "super-resolution",
    "user": "user models",
}


@dataclass(frozen=True)
class ModelKind:
    """A registered model family: a builder that turns (config, ModelContext) into a Model."""

    name: str
    config_type: type
    build: Callable[..., Any]
    check: Callable[[Any], None] | None = None  # raises a BenchboxError for a config that cannot be built
    cost: Callable[[Any], float] | None = None  # relative cost of one step under a config (default 1), for scheduling
    family: str = ""  # the group of the report's rows: a key of MODEL_FAMILIES


@dataclass(frozen=True)
class PointsMetric:
    """A metric of points suites (toy2d): a pure function of MetricInputs giving the catalogue value `name`."""

    name: str
    fn: Callable[..., float]


@dataclass(frozen=True)
class ScoreDef:
    """A metric family of the feature engine (`benchbox score --metrics NAME`): a pure function of features.

    `fn(fake, real, **settings) -> {base name: value}` reads the extractor output named `output` ("pool" for the
    embedding, "logits" for class scores); `real` is None when `needs_real` is False. `values` are the base names of
    the catalogue values it returns (benchbox.catalogue); the engine names them for the feature space.
    """

    name: str
    fn: Callable[..., dict[str, float]]
    output: str
    needs_real: bool
    values: tuple[str, ...]
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
    name: str,
    config_type: type,
    check: Callable[[Any], None] | None = None,
    cost: Callable[[Any], float] | None = None,
    family: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a model builder; `check(config)` lets a suite refuse a bad config before any training starts, and
    `cost(config)` says what one step costs relative to a plain one (e.g. a GAN's critic steps per generator step)."""

    def deco(build: Callable[..., Any]) -> Callable[..., Any]:
        if family and family not in MODEL_FAMILIES:
            raise ValueError(f"model kind '{name}' has family '{family}'; choose one of {', '.join(MODEL_FAMILIES)}")
        MODELS.add(name, ModelKind(name, config_type, build, check, cost, family))
        return build

    return deco


POINTS_INPUTS = ("generated points", "real points", "the task's modes")


def register_metric(
    name: str,
    *,
    higher_is_better: bool,
    description: str,
    decimals: int = 3,
    family: str = "",
    topic: str = "quality",
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register a points metric and its value in the catalogue (in `family`, or a family of its own name)."""

    def deco(fn: Callable[..., float]) -> Callable[..., float]:
        register_values(
            family or name, POINTS_INPUTS, Value(name, higher_is_better, description, decimals, topic=topic)
        )
        METRICS.add(name, PointsMetric(name, fn))
        return fn

    return deco


def register_score(
    name: str,
    *,
    output: str,
    needs_real: bool,
    values: tuple[Value, ...],
    description: str,
    min_samples: Callable[..., int] | None = None,
) -> Callable[[Callable[..., dict[str, float]]], Callable[..., dict[str, float]]]:
    """Register a feature-engine family and its values (measured in a feature space) in the catalogue."""
    inputs = (f"features:{output}", *((f"real features:{output}",) if needs_real else ()))

    def deco(fn: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
        defined = register_values(name, inputs, *(replace(v, in_feature_space=True) for v in values))
        SCORES.add(
            name, ScoreDef(name, fn, output, needs_real, tuple(v.base for v in defined), description, min_samples)
        )
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
