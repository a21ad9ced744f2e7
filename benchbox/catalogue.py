"""The catalogue of recorded values: every value a run or `benchbox score` can record, defined once.

A value is registered by the family that computes it, where that family is defined (`register_score` for the feature
engine's families, `register_metric` for points metrics, `register_values` for everything else: a model's own values,
class accuracy, extrapolated values). The CLI, the runner, the tables, the trade-off blocks and the orderings read
direction, decimals and description here; nobody keeps a copy.

Values measured in a feature space are recorded under a name that says the space (`value_name`): FID only in
canonical Inception space, `fd_digits` in the space of benchbox's digits classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from benchbox.errors import UnknownNameError


@dataclass(frozen=True)
class Value:
    """One recorded value: how to read it and what computing it needs."""

    base: str  # its name; in a feature space the recorded name is value_name(base, tag)
    higher_is_better: bool
    description: str
    decimals: int = 3  # shown in tables
    family: str = ""  # the family that computes it (set by the registering family)
    inputs: tuple[str, ...] = ()  # what computing it reads, e.g. ("features:pool", "real features:pool")
    in_feature_space: bool = False  # recorded as <base>_<space>, the space named by its extractor
    of_weights: bool = False  # a property of the trained weights: a sampling variant shares its run's value
    tradeoff: bool = False  # a point of a model's sampling trade-off (quality, diversity, class accuracy, cost)
    topic: str = "quality"  # the report table it sits in when not a headline column: a key of TOPICS

    def name(self, tag: str = "") -> str:
        """The recorded name: the base, or the base in the feature space named by `tag`."""
        return value_name(self.base, tag) if self.in_feature_space else self.base

    @property
    def pattern(self) -> str:
        """The name as `benchbox list` shows it: fd_<space> (fid in canonical Inception space), kid[_<space>]."""
        if not self.in_feature_space:
            return self.base
        canonical = value_name(self.base, "")
        return f"{self.base}[_<space>]" if canonical == self.base else f"{self.base}_<space> ({canonical} in Inception)"


# The report's tables beside the headline one, in order: what a paper would print apart.
TOPICS = {
    "quality": "Sample quality",
    "diversity": "Diversity and mode diagnostics",
    "likelihood": "Likelihood and reconstruction",
    "cost": "Sampling cost",
}

VALUES: dict[str, Value] = {}  # base name -> definition, in registration order


def value_name(base: str, tag: str) -> str:
    """The name a value gets in a feature space: FID only in canonical Inception space, `fd_<tag>` elsewhere."""
    if base == "fd" or base.startswith("fd_"):  # fd, fd_inf -> fid, fid_inf
        return f"fid{base[2:]}" if not tag else f"{base}_{tag}"
    return base if not tag else f"{base}_{tag}"


def register_values(family: str, inputs: tuple[str, ...], *values: Value) -> tuple[Value, ...]:
    """Add a family's values to the catalogue; a base name is defined once."""
    out = []
    for value in values:
        if value.topic not in TOPICS:
            raise ValueError(f"value '{value.base}' has topic '{value.topic}'; choose one of {', '.join(TOPICS)}")
        value = replace(value, family=family, inputs=inputs)
        if value.base in VALUES and VALUES[value.base] != value:
            raise ValueError(f"value '{value.base}' is defined twice (families {VALUES[value.base].family}, {family})")
        VALUES[value.base] = value
        out.append(value)
    return tuple(out)


def lookup(name: str) -> tuple[Value, str] | None:
    """The definition of a recorded value and the tag of its feature space ("" for none or canonical Inception)."""
    for value in VALUES.values():
        if value.name("") == name:
            return value, ""
    for value in sorted(VALUES.values(), key=lambda v: -len(v.base)):  # fd_inf_digits is fd_inf's, not fd's
        if value.in_feature_space and name.startswith(f"{value.base}_"):
            return value, name[len(value.base) + 1 :]
    return None


def value(name: str) -> Value:
    """The definition of a recorded value, or a one-line error listing the known names."""
    found = lookup(name)
    if found is None:
        raise UnknownNameError("recorded value", name, [v.pattern for v in VALUES.values()])
    return found[0]
