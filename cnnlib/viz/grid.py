"""Draw a small matrix as a grid of numbered cells, with highlighted and hatched cells.

The one drawing primitive behind the convolution figures: an input, a kernel
and an output drawn this way line up cell for cell, and the cells that feed
one output can be outlined.
"""
from __future__ import annotations

from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from cnnlib.viz.layout import OKABE_ITO

__all__ = ["HIGHLIGHT", "draw_grid"]

# Orange from the Okabe-Ito palette: stands out on gray, viridis and cividis,
# and for readers with any common colour-vision deficiency.
HIGHLIGHT = OKABE_ITO["orange"]


def _as_mask(cells, shape: tuple[int, int]) -> np.ndarray:
    if cells is None:
        return np.zeros(shape, dtype=bool)
    if isinstance(cells, (np.ndarray, torch.Tensor)) and tuple(cells.shape) == shape:
        return np.asarray(cells, dtype=bool)
    mask = np.zeros(shape, dtype=bool)
    for r, c in cells:
        if 0 <= r < shape[0] and 0 <= c < shape[1]:
            mask[r, c] = True
    return mask


def draw_grid(
    ax: plt.Axes,
    values,
    *,
    title: str | None = None,
    fmt: str = "{:g}",
    cmap: str = "Greys",
    vmin: float | None = None,
    vmax: float | None = None,
    highlight: Iterable[tuple[int, int]] | np.ndarray | None = None,
    highlight_color: str = HIGHLIGHT,
    hatch: Iterable[tuple[int, int]] | np.ndarray | None = None,
    show_values: bool = True,
    blank_zeros: bool = False,
    row_labels: Iterable | None = None,
    col_labels: Iterable | None = None,
    fontsize: float | None = None,
) -> plt.Axes:
    """Draw ``values`` as cells with their numbers written in.

    Args:
        ax: the axes to draw on.
        values: ``(H, W)`` tensor or array (a 1-D one is drawn as one row).
        title: axes title.
        fmt: format for each number, e.g. ``"{:.1f}"``.
        cmap, vmin, vmax: cell colours (``vmin``/``vmax`` default to the data range).
        highlight: cells to outline thickly and tint, as ``(row, col)`` pairs or a
            boolean ``(H, W)`` mask; pairs outside the grid are ignored.
        hatch: cells to hatch (e.g. zero padding), pairs or a mask.
        show_values: write the numbers in the cells.
        blank_zeros: leave cells that hold exactly 0 without a number (sparse matrices).
        row_labels, col_labels: tick labels (default ``0 .. H-1`` and ``0 .. W-1``).
        fontsize: number size; by default shrinks with the grid.

    Returns:
        ``ax``.
    """
    array = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"draw_grid: values must be 1-D or 2-D, got shape {array.shape}.")
    h, w = array.shape
    finite = array[np.isfinite(array)]
    lo = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
    hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    image = ax.imshow(array, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    mapper = image.cmap
    if fontsize is None:
        fontsize = max(5.0, min(11.0, 70.0 / max(h, w)))
    for r in range(h):
        for c in range(w):
            v = array[r, c]
            if not show_values or not np.isfinite(v) or (blank_zeros and v == 0):
                continue
            shade = mapper((v - lo) / (hi - lo))
            luminance = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2]
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                    color="black" if luminance > 0.5 else "white")
    for r, c in zip(*np.nonzero(_as_mask(hatch, (h, w)))):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6", linewidth=0))
    for r, c in zip(*np.nonzero(_as_mask(highlight, (h, w)))):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=highlight_color, alpha=0.35, edgecolor="none"))
        ax.add_patch(Rectangle((c - 0.45, r - 0.45), 0.9, 0.9, fill=False, edgecolor=highlight_color, linewidth=2.5))
    # Thin cell borders make the grid readable even where neighbours share a colour.
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="0.75", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    step_r, step_c = max(1, h // 12), max(1, w // 16)
    rows = list(row_labels) if row_labels is not None else list(range(h))
    cols = list(col_labels) if col_labels is not None else list(range(w))
    ax.set_yticks(range(0, h, step_r), [rows[i] for i in range(0, h, step_r)])
    ax.set_xticks(range(0, w, step_c), [cols[i] for i in range(0, w, step_c)])
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title)
    return ax
