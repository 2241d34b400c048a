"""The experiment report as a PNG: each rate per variant with its 95 % interval."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from assistant.evaluation.experiment_report import RATES, ExperimentReport
from assistant.evaluation.plots import DPI


def rates_chart(path: Path, report: ExperimentReport) -> Path:
    """Grouped bars, one group per rate and one bar per variant, with Wilson error bars."""
    figure = Figure(figsize=(max(7.0, 1.3 * len(RATES) * len(report.arms) / 2), 4.4))
    FigureCanvasAgg(figure)  # Agg canvas, no pyplot: as `assistant.evaluation.plots`
    axes = figure.add_subplot()
    width = 0.8 / len(report.arms)
    for i, arm in enumerate(report.arms):
        xs = [g + (i - (len(report.arms) - 1) / 2) * width for g in range(len(RATES))]
        rates = [arm.rates[metric] for metric in RATES]
        heights = [r.rate for r in rates]
        errors = [[r.rate - r.low for r in rates], [r.high - r.rate for r in rates]]
        label = f"{arm.variant} ({arm.turns:,} turns)"
        bars = axes.bar(xs, heights, width, yerr=errors, capsize=3, label=label)
        axes.bar_label(bars, labels=[f"{h:.0%}" for h in heights], fontsize=7, padding=2)
    axes.set_xticks(range(len(RATES)), list(RATES.values()), rotation=20, fontsize=8)
    axes.set_ylabel("share of turns (95 % Wilson interval)")
    axes.set_ylim(0, 1.08)
    axes.set_title(f"Variants on live traffic (control: {report.control})")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path
