"""Put a matplotlib figure into an ``ipywidgets.Output``."""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt

__all__ = ["show_figure"]


def show_figure(output: W.Output, fig: plt.Figure | None) -> None:
    """Make ``output`` show ``fig`` alone (nothing for ``None``), then close ``fig``.

    The figure is set as the widget's state from the kernel side
    (``append_display_data``), not captured with ``with output:``. Capturing
    makes a notebook runner send the captured outputs back to the kernel while
    it waits for the cell's reply, and nbclient then now and then misses that
    reply until its timeout (jupyter/nbclient#312); this way the book builds
    without such stalls, and a live notebook looks the same.
    """
    output.outputs = ()
    if fig is not None:
        output.append_display_data(fig)
        plt.close(fig)
