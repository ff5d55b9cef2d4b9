"""Figures of translation equivariance: f(T(x)) next to T(f(x)), and error curves.

* :func:`plot_equivariance` shows, for one image and one channel of a
  feature map, the input, the shifted input, ``f(T(x))``, ``T(f(x))`` and
  their difference (signed, with a colour bar).
* :func:`plot_equivariance_curves` draws the relative error of several maps
  against the size of the shift.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch

from cnnlib.equivariance import shift as shift_images
from cnnlib.viz.curves import finish, plot_series
from cnnlib.viz.layout import COLUMN_WIDTH

__all__ = ["plot_equivariance", "plot_equivariance_curves"]


@torch.no_grad()
def plot_equivariance(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, shifts: tuple[int, int], *,
                      stride: int = 1, channel: int = 0, circular: bool = True, title: str = "") -> plt.Figure:
    """Five panels: ``x`` and ``T(x)`` above; ``f(T(x))``, ``T(f(x))`` and their difference below.

    Inputs are drawn in grey (0 black, 1 white); feature maps on one shared
    colour scale (diverging around 0 when they take both signs).

    Args:
        f: a map from ``(1, C, H, W)`` images to ``(1, C', H', W')`` feature maps.
        x: one image, ``(1, C, H, W)`` (only its first channel is drawn).
        shifts: ``(dy, dx)`` in input pixels.
        stride: ``f``'s total stride; the output is shifted by ``shifts // stride``
            (rounded down), so odd shifts through a stride-2 map show the mismatch.
        channel: which output channel to draw.
        circular: wrap-around shifts (as :func:`cnnlib.equivariance.equivariance_error`).
        title: the figure's title.

    Returns:
        The figure.
    """
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"plot_equivariance draws one image of shape (1, C, H, W); got {tuple(x.shape)}.")
    dy, dx = shifts
    moved = shift_images(x, (dy, dx), circular=circular)
    out_of_moved = f(moved)[0, channel]
    moved_out = shift_images(f(x), (math.floor(dy / stride), math.floor(dx / stride)), circular=circular)[0, channel]
    diff = out_of_moved - moved_out
    fig, grid = plt.subplots(2, 3, figsize=(COLUMN_WIDTH, 5.6), layout="constrained")
    axes = [grid[0, 0], grid[0, 1], grid[1, 0], grid[1, 1], grid[1, 2]]
    grid[0, 2].axis("off")
    panels = [(x[0, 0], "input x"), (moved[0, 0], f"T(x): moved by {(dy, dx)}"),
              (out_of_moved, "f(T(x))"), (moved_out, f"T(f(x)), moved {(dy // stride, dx // stride)}")]
    low = min(float(out_of_moved.min()), float(moved_out.min()))
    high = max(float(out_of_moved.max()), float(moved_out.max()))
    signed = low < 0  # signed responses (an edge filter) get a diverging map centred on 0
    if signed:
        low, high = -max(-low, high), max(-low, high)
    for i, (ax, (image, name)) in enumerate(zip(axes, panels)):
        if i < 2:
            ax.imshow(image.cpu().numpy(), cmap="gray", vmin=0.0, vmax=1.0)
        else:
            shown = ax.imshow(image.cpu().numpy(), cmap="RdBu_r" if signed else "viridis", vmin=low, vmax=high)
        ax.set_title(name, fontsize=10)
    fig.colorbar(shown, ax=axes[2:4], location="bottom", shrink=0.7, label="response")
    largest = float(diff.abs().max())
    bound = max(largest, float(high - low) * 1e-3, 1e-12)  # an all-zero difference shows as white
    shown = axes[4].imshow(diff.cpu().numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
    axes[4].set_title(f"difference\n(max |d| = {largest:.2g})", fontsize=10)
    fig.colorbar(shown, ax=axes[4], location="bottom", shrink=0.9, label="difference")
    for ax in axes:
        ax.set_xlabel("column")
    axes[0].set_ylabel("row")
    axes[2].set_ylabel("row")
    grid[0, 2].text(0.0, 0.5, "top: the input and its shift\n(grey, 0 black, 1 white)\n\n"
                    "bottom: f of the shifted input,\nthe shifted output of f,\nand their difference",
                    va="center", fontsize=9, transform=grid[0, 2].transAxes)
    fig.suptitle(title or "Is f equivariant? Compare f(T(x)) with T(f(x))")
    return fig


def plot_equivariance_curves(shifts: Sequence[int], errors: Mapping[str, Sequence[float]], *,
                             title: str = "Equivariance error against shift") -> plt.Figure:
    """Relative equivariance error against the shift, one line per map.

    Args:
        shifts: the shifts in input pixels.
        errors: name -> one error per shift (from
            :func:`cnnlib.equivariance.equivariance_curve`).
        title: the figure's title.

    Returns:
        The figure.
    """
    fig, ax = plot_series(shifts, errors, title=title, xlabel="shift of the input (pixels)",
                          ylabel="relative error ||f(Tx) - T f(x)|| / ||f(x)||", names=("plot_equivariance_curves", "errors", "shifts"))
    return finish(fig, ax)
