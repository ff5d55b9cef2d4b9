"""A 1-D signal and its responses to several kernels, on one set of axes."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import torch

from cnnlib.viz.layout import OKABE_ITO

__all__ = ["plot_signal_responses"]

#: Colour-blind-safe line colours (black, then Okabe-Ito orange, sky blue, bluish green, vermillion).
COLORS = ("black", *(OKABE_ITO[c] for c in ("orange", "sky", "green", "vermillion")))


def plot_signal_responses(signal: torch.Tensor, responses: Mapping[str, torch.Tensor], *,
                          signal_label: str = "signal", title: str = "", xlabel: str = "position",
                          ylabel: str = "value / response", figsize: tuple[float, float] = (7.0, 2.8)) -> plt.Figure:
    """Plot ``signal`` in grey with each response over it.

    Args:
        signal: ``(L,)`` tensor.
        responses: ``{legend label: (L,) tensor}``, at most five, drawn in that order.
        signal_label, title, xlabel, ylabel: the legend entry of the signal and the axes' texts.
        figsize: in inches (the default fits the page's column).

    Returns:
        The figure (one axes, with a legend).

    Raises:
        ValueError: a tensor that is not 1-D or has another length than ``signal``, or more
            than five responses.
    """
    tensors = {signal_label: signal, **responses}
    for label, t in tensors.items():
        if t.ndim != 1 or t.shape[0] != signal.shape[0]:
            raise ValueError(f"plot_signal_responses: {label!r} has shape {tuple(t.shape)}; every tensor must be 1-D "
                             f"with the signal's length {signal.shape[0]} (use padding to keep the length).")
    if len(responses) > len(COLORS):
        raise ValueError(f"plot_signal_responses: {len(responses)} responses; draw at most {len(COLORS)} on one plot.")
    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(signal.detach().cpu(), color="0.6", label=signal_label)
    for color, (label, response) in zip(COLORS, responses.items()):
        ax.plot(response.detach().cpu(), color=color, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
