"""PNG plots of a result, drawn with matplotlib's Agg canvas.

Figures are made with `Figure` and `FigureCanvasAgg` directly, not `pyplot`: no global figure
registry, no backend switch for the whole process, and nothing needs a display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from assistant.evaluation.results import ConfusionMatrix

DPI = 120


def bar_chart(
    path: Path,
    *,
    title: str,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    ylabel: str,
    unit_scale: bool = True,
) -> Path:
    """Grouped bars: one group per entry of `groups`, one bar per series (a None draws none).

    `unit_scale`: the values are rates in [0, 1], so the axis is fixed there and runs compare.
    """
    figure = Figure(figsize=(max(6.0, 1.2 * len(groups) * max(1, len(series)) / 2), 4.2))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [math.nan if v is None else v for v in values]
        bars = axes.bar(xs, heights, width, label=name)
        labels = ["" if v is None else (f"{v:.2f}" if unit_scale else f"{v:g}") for v in values]
        axes.bar_label(bars, labels=labels, fontsize=7, padding=1)
    axes.set_xticks(range(len(groups)), list(groups), rotation=20 if len(groups) > 4 else 0)
    axes.set_ylabel(ylabel)
    if unit_scale:
        axes.set_ylim(0, 1.08)
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path


def confusion_chart(path: Path, *, title: str, matrix: ConfusionMatrix) -> Path:
    """The confusion matrix as a heat map: rows gold, columns predicted, counts written in."""
    n = len(matrix.labels)
    side = min(24.0, max(4.5, 0.28 * n + 2.5))
    figure = Figure(figsize=(side, side))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix.counts, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.7)
    font = 9 if n <= 12 else 5
    axes.set_xticks(range(n), matrix.labels, rotation=90, fontsize=font)
    axes.set_yticks(range(n), matrix.labels, fontsize=font)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    if n <= 40:  # beyond that the numbers are unreadable; the colour still tells
        peak = max((max(row) for row in matrix.counts), default=0)
        for g, row in enumerate(matrix.counts):
            for p, count in enumerate(row):
                if count:
                    colour = "white" if count > peak / 2 else "black"
                    axes.text(p, g, str(count), ha="center", va="center", fontsize=font, c=colour)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path
