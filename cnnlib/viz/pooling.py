"""Figures for chapter 5: pooling, aliasing, normalisation axes and activations.

Every function returns a matplotlib figure drawn at the book's column width
(7.2 inches at most), with titles, labelled axes and colour maps that read in
grayscale: intensities in gray (0 black, 1 white), spectra in ``viridis``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from cnnlib.viz.grid import HIGHLIGHT, draw_grid

__all__ = ["NORM_KINDS", "log_spectrum", "plot_activations", "plot_norm_axes", "plot_pooled", "plot_spectra",
           "plot_xo_pipeline"]

#: The normalisations :func:`plot_norm_axes` draws, in order.
NORM_KINDS = ("batch", "layer", "group", "instance")


def _plane(image: torch.Tensor) -> np.ndarray:
    t = torch.as_tensor(image).detach().float()
    while t.dim() > 2:
        if t.shape[0] != 1:
            raise ValueError(f"expected one (H, W) plane, got shape {tuple(image.shape)}.")
        t = t[0]
    if t.dim() != 2:
        raise ValueError(f"expected one (H, W) plane, got shape {tuple(image.shape)}.")
    return t.numpy()


def plot_pooled(feature_map: torch.Tensor, pooled: torch.Tensor, title: str, *, vmax: float | None = None
                ) -> plt.Figure:
    """A feature map and its pooled version side by side, on one gray scale.

    Args:
        feature_map: ``(H, W)`` (or ``(1, H, W)``) non-negative map.
        pooled: ``(H', W')`` (or ``(1, H', W')``) the pooled map.
        title: the figure title (which pooling).
        vmax: the value drawn white (0 is black); the map's maximum by default.

    Returns:
        The figure: two panels with pixel axes, each titled with its size.
    """
    a, b = _plane(feature_map), _plane(pooled)
    vmax = float(a.max()) if vmax is None else vmax
    if vmax <= 0:
        vmax = 1.0
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.6))
    for ax, plane, name in zip(axes, (a, b), ("feature map", "pooled")):
        ax.imshow(plane, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{name}: {plane.shape[0]}x{plane.shape[1]}", fontsize=10)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_xo_pipeline(image: torch.Tensor, filters: torch.Tensor, maps: torch.Tensor, pooled: torch.Tensor
                     ) -> plt.Figure:
    """The 6x6 image, each filter, its feature map and the pooled map, with every number written in.

    Args:
        image: ``(6, 6)``-like input.
        filters: ``(F, K, K)`` the filters, one row of the figure each.
        maps: ``(F, H', W')`` the feature maps (before the nonlinearity).
        pooled: ``(F, H'', W'')`` after ReLU and pooling.

    Returns:
        The figure: ``F`` rows of four panels (image, filter, map, pooled).
    """
    image = _plane(image)
    n = len(filters)
    if not len(maps) == len(pooled) == n:
        raise ValueError(f"plot_xo_pipeline: {n} filters but {len(maps)} maps and {len(pooled)} pooled maps.")
    fig, axes = plt.subplots(n, 4, figsize=(7.2, 2.1 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [6, 3, 4, 2]})
    lim = float(max(np.abs(np.asarray(maps)).max(), 1.0))
    for i in range(n):
        if i == 0:
            draw_grid(axes[i, 0], image, title="6x6 image", vmin=0, vmax=1.5, fontsize=9)
        else:
            axes[i, 0].axis("off")
        draw_grid(axes[i, 1], np.asarray(filters[i]), title=f"filter {i + 1}", vmin=-1.5, vmax=1.5, fontsize=9)
        draw_grid(axes[i, 2], np.asarray(maps[i]), title=f"feature map {i + 1}", vmin=-lim, vmax=lim * 1.5,
                  fontsize=9)
        draw_grid(axes[i, 3], np.asarray(pooled[i]), title="pooled", vmin=-lim, vmax=lim * 1.5,
                  fontsize=9)
    for ax in axes.flat[1:]:
        ax.set_xlabel("column", fontsize=9)
        ax.set_ylabel("row", fontsize=9)
    fig.tight_layout()
    return fig


def log_spectrum(image: torch.Tensor) -> np.ndarray:
    """``log(1 + |FFT|)`` of an ``(H, W)`` plane with its mean removed, the zero frequency centred."""
    plane = _plane(image).astype(np.float64)
    return np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(plane - plane.mean()))))


def plot_spectra(images: Sequence[torch.Tensor], titles: Sequence[str], *, suptitle: str = "") -> plt.Figure:
    """Images on top, their centred log-magnitude spectra below.

    Args:
        images: two to four ``(H, W)`` planes in ``[0, 1]`` (sizes may differ).
        titles: one per image.
        suptitle: the figure title.

    Returns:
        The figure: a row of images (gray) over a row of spectra (``viridis``, the
        frequency axes in cycles per pixel of each image).
    """
    if not 1 <= len(images) <= 4 or len(titles) != len(images):
        raise ValueError(f"plot_spectra: give 1 to 4 images and a title each, got {len(images)} and {len(titles)}.")
    spectra = [log_spectrum(im) for im in images]
    vmax = max(float(s.max()) for s in spectra)
    fig, axes = plt.subplots(2, len(images), figsize=(1.8 * len(images) + 0.2, 4.4), squeeze=False)
    for j, (image, spec, title) in enumerate(zip(images, spectra, titles)):
        axes[0, j].imshow(_plane(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[0, j].set_title(title, fontsize=9)
        axes[0, j].set_xticks([])
        axes[0, j].set_yticks([])
        axes[1, j].imshow(spec, cmap="viridis", vmin=0, vmax=vmax, extent=(-0.5, 0.5, 0.5, -0.5))
        axes[1, j].set_xticks([-0.5, 0, 0.5])
        axes[1, j].set_yticks([-0.5, 0, 0.5])
        axes[1, j].tick_params(labelsize=9)
        axes[1, j].set_xlabel("cycles/pixel", fontsize=9)
    axes[0, 0].set_ylabel("image", fontsize=9)
    axes[1, 0].set_ylabel("spectrum (log)", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def _norm_cells(kind: str, n: int, c: int, groups: int) -> np.ndarray:
    """Which (sample, channel) cells share the statistics of the highlighted set."""
    mask = np.zeros((n, c), dtype=bool)
    if kind == "batch":
        mask[:, 1] = True
    elif kind == "layer":
        mask[1, :] = True
    elif kind == "group":
        size = c // groups
        mask[1, size:2 * size] = True
    elif kind == "instance":
        mask[1, 1] = True
    else:
        raise ValueError(f"plot_norm_axes: unknown kind {kind!r}; use one of {', '.join(NORM_KINDS)}.")
    return mask


def plot_norm_axes(kinds: Sequence[str] = NORM_KINDS, *, batch: int = 4, channels: int = 6, groups: int = 3
                   ) -> plt.Figure:
    """Which values each normalisation averages over, drawn as a batch x channel grid.

    Each cell stands for one ``H x W`` feature map (one sample, one channel).
    The shaded cells are one set that shares a mean and a variance; every
    normalisation also averages over ``H`` and ``W``.

    Args:
        kinds: some of ``"batch"``, ``"layer"``, ``"group"``, ``"instance"``.
        batch: samples drawn (N).
        channels: channels drawn (C).
        groups: groups for group norm (must divide ``channels``).

    Returns:
        The figure: one panel per kind.
    """
    if channels % groups:
        raise ValueError(f"plot_norm_axes: groups={groups} must divide channels={channels}.")
    fig, axes = plt.subplots(1, len(kinds), figsize=(1.75 * len(kinds) + 0.2, 2.7), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        mask = _norm_cells(kind, batch, channels, groups)
        for i in range(batch):
            for j in range(channels):
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor=HIGHLIGHT if mask[i, j] else "white",
                                       edgecolor="0.3", linewidth=0.8))
        if kind == "group":
            for g in range(1, groups):
                ax.axvline(g * channels // groups, color="black", linewidth=2)
        ax.set_xlim(0, channels)
        ax.set_ylim(batch, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("channel C", fontsize=9)
        ax.set_ylabel("sample N", fontsize=9)
        ax.set_title(f"{kind} norm", fontsize=10)
    fig.suptitle("shaded: one mean and variance (over these cells and all H x W)", fontsize=9)
    fig.tight_layout()
    return fig


_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def plot_activations(functions: Mapping[str, Callable[[torch.Tensor], torch.Tensor]], *,
                     x_range: tuple[float, float] = (-4.0, 4.0)) -> plt.Figure:
    """Activation functions and their derivatives (by autograd), side by side.

    Args:
        functions: ``{name: f}`` with ``f`` elementwise on a tensor (up to six).
        x_range: the input interval drawn.

    Returns:
        The figure: ``f(x)`` on the left, ``f'(x)`` on the right; each curve has
        its own line style, so the figure reads in grayscale.
    """
    if not 1 <= len(functions) <= len(_STYLES):
        raise ValueError(f"plot_activations: give 1 to {len(_STYLES)} functions, got {len(functions)}.")
    x = torch.linspace(*x_range, 801, dtype=torch.float64, requires_grad=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.2))
    colours = plt.get_cmap("tab10").colors
    for k, (name, f) in enumerate(functions.items()):
        y = f(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        style = {"linestyle": _STYLES[k], "color": colours[k], "linewidth": 1.6}
        left.plot(x.detach(), y.detach(), label=name, **style)
        right.plot(x.detach(), grad, label=name, **style)
    left.set(xlabel="input x", ylabel="f(x)", title="activation")
    right.set(xlabel="input x", ylabel="f'(x)", title="derivative (autograd)")
    for ax in (left, right):
        ax.axhline(0, color="0.7", linewidth=0.6)
        ax.axvline(0, color="0.7", linewidth=0.6)
    left.legend(fontsize=9)
    fig.tight_layout()
    return fig
