"""Figure for chapter 2's kernel flip: an impulse through cross-correlation and convolution."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from cnnlib.viz.grid import draw_grid

__all__ = ["plot_flip"]


def plot_flip(impulse: torch.Tensor, kernel: torch.Tensor, correlated: torch.Tensor,
              convolved: torch.Tensor) -> plt.Figure:
    """Four grids in a 2x2 layout: an impulse, an asymmetric kernel ``w``, and
    what cross-correlation and true convolution stamp around the impulse.

    Args:
        impulse: ``(H, W)`` input, zero except for one 1.
        kernel: ``(K, K)`` kernel.
        correlated: ``(H, W)`` cross-correlation of the (padded) impulse with ``kernel``.
        convolved: ``(H, W)`` true convolution of the same.

    Returns:
        The figure (7 x 5.6 inches).
    """
    for name, t in (("impulse", impulse), ("kernel", kernel), ("correlated", correlated), ("convolved", convolved)):
        if torch.as_tensor(t).ndim != 2:
            raise ValueError(f"plot_flip: {name} must be 2-D, got shape {tuple(torch.as_tensor(t).shape)}.")
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.6))
    draw_grid(axes[0, 0], impulse, title="input: an impulse", cmap="gray", vmin=0, vmax=1, fontsize=9)
    draw_grid(axes[0, 1], kernel, title="asymmetric kernel w", cmap="Blues", fontsize=9)
    draw_grid(axes[1, 0], correlated, title="cross-correlation: w rotated 180\u00b0", cmap="Blues",
              blank_zeros=True, fontsize=9)
    draw_grid(axes[1, 1], convolved, title="convolution: w as it is", cmap="Blues", blank_zeros=True, fontsize=9)
    for ax in axes.flat:
        ax.set(xlabel="column", ylabel="row")
    fig.suptitle("one kernel, two operations: only convolution reproduces w from an impulse", fontsize=10)
    fig.tight_layout()
    return fig
