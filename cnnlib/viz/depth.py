"""Training-loss curves of networks of different depth, side by side."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlib.viz.layout import COLUMN_WIDTH, MAX_PANELS_PER_ROW, OKABE_ITO

__all__ = ["moving_average", "plot_loss_panels"]

_STYLES = ("-", "--", ":", "-.")
_COLOURS = tuple(OKABE_ITO[c] for c in ("blue", "vermillion", "green", "purple"))


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of each run of ``window`` consecutive values (``len(values) - window + 1`` of them).

    Raises:
        ValueError: ``window`` is not between 1 and ``len(values)``.
    """
    values = np.asarray(values, dtype=float)
    if not 1 <= window <= len(values):
        raise ValueError(f"moving_average: window must be between 1 and the number of values "
                         f"({len(values)}), got {window}.")
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_loss_panels(panels: Mapping[str, Mapping[str, Sequence[float]]], *, window: int = 10,
                     title: str = "Training loss", ylabel: str = "training loss (moving average)") -> plt.Figure:
    """One panel per group of runs, each run's per-step loss smoothed over ``window`` steps.

    Args:
        panels: panel title -> (run name -> loss of every step). The panels
            share the y axis, so their curves compare directly.
        window: steps per moving average.
        title: the figure's title.
        ylabel: the y axis label.

    Raises:
        ValueError: no panels, more panels than fit in a row, or an empty panel.
    """
    if not panels or len(panels) > MAX_PANELS_PER_ROW:
        raise ValueError(f"plot_loss_panels: give 1 to {MAX_PANELS_PER_ROW} panels, got {len(panels)}.")
    fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_WIDTH, 3.4), sharey=True, layout="constrained",
                             squeeze=False)
    for ax, (name, runs) in zip(axes[0], panels.items()):
        if not runs:
            raise ValueError(f"plot_loss_panels: panel {name!r} has no runs.")
        for i, (label, losses) in enumerate(runs.items()):
            smooth = moving_average(losses, min(window, len(losses)))
            steps = np.arange(len(smooth)) + min(window, len(losses))
            ax.plot(steps, smooth, _STYLES[i % len(_STYLES)], color=_COLOURS[i % len(_COLOURS)], label=label)
        ax.set(title=name, xlabel="step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    axes[0][0].set_ylabel(ylabel)
    fig.suptitle(title)
    return fig
