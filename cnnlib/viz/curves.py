"""One line per named series against a shared x axis (shifts, epochs, ...)."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from cnnlib.viz.layout import COLUMN_WIDTH

__all__ = ["finish", "plot_series"]

_MARKERS = "osD^vP*X"  # markers tell the lines apart in grayscale too


def plot_series(x: Sequence[float], series: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
                ylabel: str, scale: float = 1.0,
                names: tuple[str, str, str] = ("plot_series", "values", "points")) -> tuple[plt.Figure, plt.Axes]:
    """Draw each series (multiplied by ``scale``) against ``x``; finish with :func:`finish`.

    Raises:
        ValueError: a series does not have one value per ``x``. ``names`` = (calling
            function, what the values are, what the x points are) words the message.
    """
    caller, values_name, points_name = names
    x = list(x)
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 4.2), layout="constrained")
    for i, (name, values) in enumerate(series.items()):
        if len(values) != len(x):
            raise ValueError(f"{caller}: {name!r} has {len(values)} {values_name} for {len(x)} {points_name}.")
        ax.plot(x, [scale * v for v in values], marker=_MARKERS[i % len(_MARKERS)], label=name)
    ax.set_xticks(x)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def finish(fig: plt.Figure, ax: plt.Axes) -> plt.Figure:
    """The legend below the axes, in two columns, inside the figure's width."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=9)
    return fig
