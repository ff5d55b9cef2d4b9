"""Figure for chapter 3's timing section: each from-scratch convolution's time
as a ratio to ``F.conv2d``, per layer shape (see :mod:`cnnlib.bench`)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt

from cnnlib.bench.conv import ConvTiming
from cnnlib.viz.layout import OKABE_ITO

__all__ = ["plot_conv_ratios"]

_SHADES = ("0.2", "0.55", "0.85")  # grays: the bars read without colour
_REFERENCE_COLOUR = OKABE_ITO["orange"]  # distinct from the grays for colour-blind readers


def plot_conv_ratios(rows: Sequence[ConvTiming], methods: Sequence[str] = ("im2col", "fft", "loops")) -> plt.Figure:
    """Grouped bars, one group per case, one bar per method: time / time of
    ``F.conv2d`` on a log scale, with ``F.conv2d`` itself as the line at 1.

    Args:
        rows: what :func:`cnnlib.bench.time_conv_methods` returned.
        methods: which methods to draw, at most three; a skipped one (ratio
            ``nan``) leaves a gap.
    """
    if not 1 <= len(methods) <= len(_SHADES):
        raise ValueError(f"plot_conv_ratios draws 1 to {len(_SHADES)} methods, got {list(methods)}")
    cases = list(dict.fromkeys(r.case for r in rows))
    if not cases:
        raise ValueError("plot_conv_ratios needs the rows of at least one timed case")
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    width = 0.8 / len(methods)
    for i, (method, shade) in enumerate(zip(methods, _SHADES)):
        ratios = [next((r.ratio for r in rows if r.case is case and r.method == method), float("nan"))
                  for case in cases]
        positions = [c + (i - (len(methods) - 1) / 2) * width for c in range(len(cases))]
        ax.bar(positions, ratios, width, label=method, color=shade, edgecolor="black")
    ax.axhline(1.0, color=_REFERENCE_COLOUR, linewidth=2, label="F.conv2d (= 1)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)), [f"{c.name}\n{c.kernel_size}x{c.kernel_size}, {c.in_channels}->{c.out_channels}"
                                      for c in cases], fontsize=8)
    ax.set(xlabel="layer shape (kernel, channels in -> out)", ylabel="time / time of F.conv2d (log scale)",
           title="from-scratch convolutions timed against F.conv2d")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
