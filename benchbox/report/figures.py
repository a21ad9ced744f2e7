"""The HTML report's figures, drawn with matplotlib from what the store holds: training curves from the runs' loss
history, and sampling trade-offs (a quality value against network evaluations per sample for each sampler, or the
trade-off values against the guidance scale). Each function takes plain data and returns PNG bytes."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a figure is drawn: matplotlib's first import writes its font cache under HOME
    from matplotlib.figure import Figure

PANEL = (2.6, 1.9)  # inches per small-multiple panel
DPI = 90
COLUMNS = 5


@dataclass(frozen=True)
class Curve:
    """One run's logged values per checkpoint interval: {loss name: [(step, mean), ...]}."""

    label: str  # e.g. "seed 0"
    series: dict[str, list[tuple[int, float]]]


@dataclass(frozen=True)
class Point:
    """One sampling setting of a model: x, and mean and std over seeds of each plotted value."""

    label: str  # the row name, e.g. "ddpm-ddim10"
    line: str  # the line it belongs to, e.g. the sampler "ddim"
    x: float
    values: dict[str, tuple[float, float]]  # value name -> (mean, std)


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def grid(n: int) -> tuple[Figure, list]:
    cols = min(COLUMNS, n)
    rows = math.ceil(n / cols)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # after choosing the non-interactive backend

    fig = Figure(figsize=(PANEL[0] * cols, PANEL[1] * rows), dpi=DPI)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def training_curves(models: dict[str, list[Curve]]) -> bytes:
    """A panel per model: each logged value against the training step, one line per seed (values on a symlog axis,
    since losses of different kinds differ by orders of magnitude)."""
    fig, axes = grid(len(models))
    for ax, (model, curves) in zip(axes, models.items(), strict=True):
        names = list(dict.fromkeys(name for c in curves for name in c.series))
        for k, name in enumerate(names):
            for j, curve in enumerate(curves):
                points = curve.series.get(name, [])
                if points:
                    steps, values = zip(*points, strict=True)
                    ax.plot(
                        steps, values, color=f"C{k}", alpha=1.0 if j == 0 else 0.4, lw=1, label=name if j == 0 else None
                    )
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.set_title(model, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_xlabel("step", fontsize=6)
        if names:
            ax.legend(fontsize=5, loc="best")
    fig.tight_layout()
    return png(fig)


def tradeoff_figure(title: str, x_label: str, points: Sequence[Point], values: Sequence[str]) -> bytes:
    """A panel per value: its mean ± std over seeds against x, one line per `line` label, each point named."""
    values = [v for v in values if any(v in p.values for p in points)]
    fig, axes = grid(max(1, len(values)))
    for ax, name in zip(axes, values, strict=False):
        for k, line in enumerate(dict.fromkeys(p.line for p in points)):
            mine = sorted((p for p in points if p.line == line and name in p.values), key=lambda p: p.x)
            if not mine:
                continue
            xs = [p.x for p in mine]
            means = [p.values[name][0] for p in mine]
            stds = [0.0 if math.isnan(p.values[name][1]) else p.values[name][1] for p in mine]
            ax.errorbar(xs, means, yerr=stds, marker="o", ms=3, lw=1, capsize=2, color=f"C{k}", label=line or None)
            for p, y in zip(mine, means, strict=True):
                ax.annotate(p.label, (p.x, y), fontsize=5, xytext=(2, 2), textcoords="offset points")
        ax.set_xlabel(x_label, fontsize=7)
        ax.set_ylabel(name, fontsize=7)
        ax.tick_params(labelsize=6)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return png(fig)
