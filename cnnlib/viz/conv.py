"""Figures for chapter 2: a kernel sliding over numbers, and kernels applied to photos.

* :func:`plot_cross_correlation` draws input, kernel and output as numbered
  grids and writes out the sum of products for one output cell.
* :func:`plot_kernel_effect` shows a photo, a kernel and the filtered photo side by side.
* :func:`plot_kernel_gallery` lays out several filtered versions of one photo.
* :func:`show_image` draws one image with the right colour map for its values
  (gray for intensities, a diverging map with a colour bar for signed ones).
"""
from __future__ import annotations

import textwrap
from typing import Mapping

import matplotlib.pyplot as plt
import torch

from cnnlib.viz.grid import draw_grid

__all__ = ["plot_cross_correlation", "plot_kernel_effect", "plot_kernel_gallery", "show_image"]

_SIGNED_CMAP = "RdBu_r"


def _plane(image: torch.Tensor) -> torch.Tensor:
    """``(H, W)``, ``(1, H, W)`` or ``(1, 1, H, W)`` -> ``(H, W)``; ``(3, H, W)`` -> ``(H, W, 3)``."""
    image = image.detach().cpu().float()
    while image.ndim > 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 3 and image.shape[0] == 3:
        image = image.permute(1, 2, 0)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W), (1, H, W) or (3, H, W) image, got shape {tuple(image.shape)}.")
    return image


def show_image(ax: plt.Axes, image: torch.Tensor, title: str = "", *, signed: bool | None = None,
               colorbar: bool = True) -> plt.Axes:
    """Draw an image; signed values get a symmetric diverging map and a colour bar.

    Args:
        ax: the axes.
        image: ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)`` tensor. Intensities are
            shown in gray on ``[0, 1]``, clipped (an RGB image as colour).
        title: axes title.
        signed: force (``True``) or forbid (``False``) the diverging map. ``None``
            decides from the data: signed when there are negative values and the
            mean is near 0 (an edge map), intensity otherwise (a blur or sharpen
            that over- or undershoots a little).
        colorbar: add a colour bar for one-channel images.

    The diverging map spans ``[-b, b]`` with ``b`` the 99.5th percentile of
    ``|value|``, so a few extreme pixels do not wash out the rest.
    """
    plane = _plane(image)
    if plane.ndim == 3:
        ax.imshow(plane.clamp(0, 1).numpy())
    else:
        bound = float(torch.quantile(plane.abs().flatten()[:1_000_000], 0.995)) or float(plane.abs().max()) or 1.0
        if signed is None:
            signed = bool(plane.min() < -1e-6) and abs(float(plane.mean())) < 0.1 * bound
        if signed:
            shown = ax.imshow(plane.numpy(), cmap=_SIGNED_CMAP, vmin=-bound, vmax=bound)
        else:
            shown = ax.imshow(plane.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        if colorbar:
            ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
    ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    return ax


def _draw_kernel(ax: plt.Axes, kernel: torch.Tensor, title: str) -> None:
    kernel = kernel.detach().cpu().float()
    signed = bool(kernel.min() < 0)
    bound = float(kernel.abs().max()) or 1.0
    cmap, lo, hi = (_SIGNED_CMAP, -bound, bound) if signed else ("cividis", 0.0, bound)
    if max(kernel.shape) <= 7:
        fmt = "{:.0f}" if bool((kernel == kernel.round()).all()) else "{:.2f}"
        draw_grid(ax, kernel, cmap=cmap, vmin=lo, vmax=hi, fmt=fmt, title=title)
    else:
        shown = ax.imshow(kernel.numpy(), cmap=cmap, vmin=lo, vmax=hi)
        ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
        ax.set_title(title)
    ax.set_xlabel("kernel column")
    ax.set_ylabel("kernel row")


def plot_kernel_effect(image: torch.Tensor, kernel: torch.Tensor, output: torch.Tensor, *,
                       kernel_name: str = "kernel", image_name: str = "input") -> plt.Figure:
    """Input photo, kernel (numbers written in) and output, side by side.

    Args:
        image: ``(1, H, W)`` or ``(H, W)`` input.
        kernel: ``(K, K)`` kernel.
        output: the filtered image, ``(1, H', W')`` or ``(H', W')``.
        kernel_name, image_name: used in the titles.

    Returns:
        The figure (three panels).
    """
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.9), gridspec_kw={"width_ratios": [1.25, 0.9, 1.25]})
    show_image(axes[0], image, f"{image_name} {tuple(_plane(image).shape)}", signed=False)
    k = tuple(kernel.shape)
    _draw_kernel(axes[1], kernel, f"{kernel_name} {k[0]}x{k[1]}, sum {float(kernel.sum()):.3g}")
    out = _plane(output)
    # A kernel that sums to 0 maps flat regions to 0: its output is a signed map.
    signed = abs(float(kernel.sum())) < 1e-6
    show_image(axes[2], output, f"output {tuple(out.shape)}" + (", signed" if signed else ", clipped to [0, 1]"),
               signed=signed)
    for ax in axes:
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{image_name} cross-correlated with {kernel_name}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_kernel_gallery(outputs: Mapping[str, torch.Tensor], *, columns: int = 4,
                        title: str = "one photo, many kernels") -> plt.Figure:
    """Several filtered versions of a photo in a grid, one panel per kernel name.

    Args:
        outputs: ``{name: (1, H, W) image}``; signed images get a diverging map.
        columns: panels per row.
        title: the figure title.
    """
    if not 1 <= columns <= 4:
        raise ValueError(f"plot_kernel_gallery draws 1 to 4 panels per row, got columns={columns}.")
    rows = -(-len(outputs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7.0, 1.7 * rows + 0.5), squeeze=False)
    for index, (ax, (name, image)) in enumerate(zip(axes.flat, outputs.items())):
        # No colour bars: at a quarter of the column they would squeeze the photos.
        # Signed maps are white at 0, red positive, blue negative (said in the title).
        show_image(ax, image, name, colorbar=False)
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=7)
        ax.xaxis.label.set_fontsize(8)
        ax.yaxis.label.set_fontsize(8)
        if index % columns:
            ax.set_ylabel("")
    for ax in list(axes.flat)[len(outputs):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v - round(v)) > 1e-9 else f"{int(round(v))}"


def plot_cross_correlation(x: torch.Tensor, kernel: torch.Tensor, output: torch.Tensor,
                           position: tuple[int, int] = (0, 0), *, symbol: str = "\u22c6",
                           title: str | None = None, fmt: str = "{:g}", cmap: str = "gray") -> plt.Figure:
    """Input, kernel and output as numbered grids, one output cell traced back.

    The window of ``x`` that produces ``output[position]`` (stride 1, no padding)
    is outlined, and the title spells out the sum of products when the kernel
    has at most 9 entries.

    Args:
        x: ``(H, W)`` input.
        kernel: ``(K_h, K_w)`` kernel.
        output: ``(H - K_h + 1, W - K_w + 1)`` result.
        position: ``(row, col)`` of the output cell to trace.
        symbol: the operator drawn between input and kernel (``⋆`` for
            cross-correlation, ``*`` for convolution).
        title: figure title; by default the written-out sum.
        fmt: number format in the cells.
        cmap: colour map of input and output, on one shared scale; the
            default ``"gray"`` draws low values dark and high values light,
            as every gray image in the book.
    """
    x, kernel, output = (t.detach().cpu().float() for t in (x, kernel, output))
    (kh, kw), (i, j) = kernel.shape, position
    window = [(i + a, j + b) for a in range(kh) for b in range(kw)]
    sizes = [x.shape[1], kernel.shape[1], output.shape[1]]
    # At most the column's 7 inches; the cells shrink for large grids, the text does not drop below 7 pt.
    width = min(7.0, 2.2 + 0.55 * sum(sizes))
    cell = (width - 2.2) / sum(sizes)
    fig, axes = plt.subplots(1, 3, figsize=(width, cell * max(x.shape[0], 3) + 1.5),
                             gridspec_kw={"width_ratios": sizes})
    fontsize = max(7.0, min(11.0, 20.0 * cell))
    # Gray as everywhere in the book: low values dark, high values light.
    lo, hi = float(torch.cat([x.flatten(), output.flatten()]).min()), float(torch.cat([x.flatten(), output.flatten()]).max())
    draw_grid(axes[0], x, highlight=window, title=f"input {tuple(x.shape)}", fmt=fmt, cmap=cmap, vmin=lo, vmax=hi,
              fontsize=fontsize)
    draw_grid(axes[1], kernel, title=f"kernel {tuple(kernel.shape)}", fmt=fmt, cmap="Blues", fontsize=fontsize)
    draw_grid(axes[2], output, highlight=[(i, j)], title=f"output {tuple(output.shape)}", fmt=fmt, cmap=cmap,
              vmin=lo, vmax=hi, fontsize=fontsize)
    for ax in axes:
        ax.set_xlabel("column")
    axes[0].set_ylabel("row")
    if title is None:
        if kh * kw <= 9:
            terms = " + ".join(f"({_fmt(float(x[r, c]))})({_fmt(float(kernel[r - i, c - j]))})" for r, c in window)
            title = f"output[{i}, {j}] = {terms} = {_fmt(float(output[i, j]))}"
        else:
            title = f"output[{i}, {j}] = sum of {kh * kw} products = {float(output[i, j]):g}"
    # A long sum wraps instead of widening the figure beyond the column.
    fig.suptitle(textwrap.fill(title, 80, break_long_words=False), fontsize=9 if len(title) > 70 else 10)
    fig.tight_layout(w_pad=3.0)
    # The operator signs go in the gaps between panels, once the layout is fixed.
    for left, right, sign in ((axes[0], axes[1], symbol), (axes[1], axes[2], "=")):
        a, b = left.get_position(), right.get_position()
        fig.text(0.5 * (a.x1 + b.x0), 0.5 * (a.y0 + a.y1), sign, ha="center", va="center",
                 fontsize=28 if sign == "\u22c6" else 20)
    return fig
