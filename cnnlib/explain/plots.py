"""Figures for chapter 9: photos, heat maps over photos, filters, gradients; all at the page column's width."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from cnnlib.explain._common import upsample

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "heat", "map_grid", "show_filters", "to_display", "gradient_image"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WIDTH_IN = 6.9  # the page column, at 100 dpi


def to_display(image: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
               std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """Undo the normalisation of one ``(C, H, W)`` image: an ``(H, W, C)`` array in ``[0, 1]`` (``(H, W)`` for one channel)."""
    c = image.shape[0]
    m = torch.tensor(mean[:c] if c > 1 else mean[:1]).view(-1, 1, 1)
    s = torch.tensor(std[:c] if c > 1 else std[:1]).view(-1, 1, 1)
    out = (image.detach().float().cpu() * s + m).clamp(0, 1)
    return out[0].numpy() if c == 1 else out.permute(1, 2, 0).numpy()


def gradient_image(grad: torch.Tensor) -> np.ndarray:
    """A signed ``(C, H, W)`` gradient as an ``(H, W, C)`` picture: 0 is mid-gray, +-3 standard deviations the ends."""
    g = grad.detach().float().cpu()
    g = g / (3 * g.std().clamp_min(1e-12))
    out = (0.5 + 0.5 * g.clamp(-1, 1))
    return out[0].numpy() if out.shape[0] == 1 else out.permute(1, 2, 0).numpy()


def heat(ax, image: np.ndarray, heatmap: torch.Tensor | None, *, title: str = "", alpha: float = 0.55,
         cmap: str = "inferno") -> None:
    """Draw ``image`` with ``heatmap`` (``(h, w)``, upsampled and scaled to [0, 1]) laid over it; no ticks."""
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    if heatmap is not None:
        size = image.shape[:2]
        hm = upsample(heatmap.detach().float().cpu()[None], size)[0] if tuple(heatmap.shape) != size else heatmap
        hm = hm.clamp_min(0)
        hm = hm / hm.max().clamp_min(1e-12)
        ax.imshow(hm.numpy(), cmap=cmap, alpha=alpha, vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def map_grid(panels: Sequence[tuple[np.ndarray, torch.Tensor | None, str]], *, ncols: int = 4,
             suptitle: str = "", cmap: str = "inferno") -> Figure:
    """A grid of ``(image, heat map or None, title)`` panels, at most ``ncols`` (<= 4) per row, 6.9 in wide."""
    ncols = max(1, min(ncols, 4, len(panels)))
    nrows = -(-len(panels) // ncols)
    side = WIDTH_IN / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, side * nrows + (0.45 if suptitle else 0.1)),
                             squeeze=False, layout="constrained")
    for ax, (image, hm, title) in zip(axes.flat, panels):
        heat(ax, image, hm, title=title, cmap=cmap)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def show_filters(filters: torch.Tensor, *, ncols: int = 8, title: str = "") -> Figure:
    """First-layer filters ``(K, C, kh, kw)`` in ``[0, 1]`` as small colour (C = 3) or gray patches."""
    k = filters.shape[0]
    nrows = -(-k // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN * 0.75, WIDTH_IN * 0.75 / ncols * nrows + 0.4),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < k:
            f = filters[i].detach().cpu()
            ax.imshow(f.permute(1, 2, 0).numpy() if f.shape[0] == 3 else f[0].numpy(), cmap="gray",
                      interpolation="nearest")
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
