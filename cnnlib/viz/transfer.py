"""Figures for transfer learning: a feature space in 2-D, and accuracy by regime and data size."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from cnnlib.viz.layout import COLUMN_WIDTH

__all__ = ["plot_projections", "plot_regimes"]

_MARKERS = "os^Dv<>phX"


def plot_projections(panels: Mapping[str, torch.Tensor], labels: torch.Tensor, class_names: Sequence[str], *,
                     title: str = "") -> plt.Figure:
    """Side-by-side scatter plots of 2-D projections of the same examples, coloured by class.

    Args:
        panels: panel title -> ``(N, 2)`` coordinates (at most 3 panels).
        labels: ``(N,)`` classes in ``0..len(class_names) - 1``.
        class_names: one name per class (at most 10: tab10 colours plus a marker per class,
            so the classes stay apart in grayscale too).
        title: the figure's title.
    """
    if not 1 <= len(panels) <= 3 or len(class_names) > 10:
        raise ValueError("plot_projections: give 1 to 3 panels and at most 10 classes.")
    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_WIDTH, 3.6), layout="constrained", squeeze=False)
    for ax, (name, xy) in zip(axes[0], panels.items()):
        xy = np.asarray(xy, dtype=float)
        if xy.shape != (len(labels), 2):
            raise ValueError(f"plot_projections: panel {name!r} has shape {xy.shape}, expected ({len(labels)}, 2).")
        for c, cname in enumerate(class_names):
            keep = labels == c
            ax.scatter(xy[keep, 0], xy[keep, 1], s=9, marker=_MARKERS[c], color=f"C{c}", alpha=0.75,
                       linewidths=0, label=cname)
        ax.set(title=name, xlabel="component 1", ylabel="component 2", xticks=[], yticks=[])
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=min(5, len(class_names)),
               fontsize=9, markerscale=1.6, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def plot_regimes(results: Mapping[str, Sequence], *, title: str = "") -> plt.Figure:
    """Test accuracy against the number of training images, one panel per domain, one line per regime.

    Args:
        results: domain name -> :class:`~cnnlib.transfer.RegimeResult` list (at most 3 domains).
        title: the figure's title.
    """
    if not 1 <= len(results) <= 3:
        raise ValueError("plot_regimes: give results for 1 to 3 domains.")
    fig, axes = plt.subplots(1, len(results), figsize=(COLUMN_WIDTH, 3.4), layout="constrained", squeeze=False,
                             sharey=True)
    styles = {"frozen": ("o", "-"), "finetune": ("s", "--"), "scratch": ("^", ":")}
    for ax, (domain, runs) in zip(axes[0], results.items()):
        regimes = list(dict.fromkeys(r.regime for r in runs))
        for i, regime in enumerate(regimes):
            points = sorted((r.n_train, 100 * r.accuracy) for r in runs if r.regime == regime)
            marker, line = styles.get(regime, ("D", "-."))
            ax.plot(*zip(*points), marker=marker, linestyle=line, color=f"C{i}", label=regime)
        sizes = sorted({r.n_train for r in runs})
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
        ax.minorticks_off()
        ax.set(title=domain, xlabel="training images (log scale)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
