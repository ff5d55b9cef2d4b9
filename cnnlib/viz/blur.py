"""Figures for chapter 2's Gaussian blur and edge strength."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch

from cnnlib.kernels import apply_kernel, gaussian, sobel_x, sobel_y
from cnnlib.viz.conv import show_image

__all__ = ["plot_edge_strength", "plot_gaussian_blurs"]


def plot_gaussian_blurs(image: torch.Tensor, sigmas: Sequence[float] = (0.5, 1.0, 2.0, 3.0)) -> plt.Figure:
    """Gaussian kernels (top row) and ``image`` blurred with each (bottom row).

    Args:
        image: ``(1, H, W)`` grayscale image in ``[0, 1]``.
        sigmas: one to four standard deviations, in pixels.

    Returns:
        The figure (7 inches wide, one column per sigma).
    """
    if not 1 <= len(sigmas) <= 4:
        raise ValueError(f"plot_gaussian_blurs draws 1 to 4 sigmas (one column each), got {len(sigmas)}.")
    fig, axes = plt.subplots(2, len(sigmas), figsize=(7.0, 4.4), squeeze=False)
    for column, sigma in enumerate(sigmas):
        g = gaussian(sigma=sigma)
        top, bottom = axes[0, column], axes[1, column]
        top.imshow(g.numpy(), cmap="gray", vmin=0)
        top.set_title(f"\u03c3 = {sigma:g}: {g.shape[0]}x{g.shape[1]}", fontsize=9)
        top.set_xlabel("kernel column", fontsize=8)
        show_image(bottom, apply_kernel(image, g), f"blurred, \u03c3 = {sigma:g}", colorbar=False)
        bottom.title.set_fontsize(9)
        bottom.xaxis.label.set_fontsize(8)
        for ax in (top, bottom):
            ax.tick_params(labelsize=7)
        if column == 0:
            top.set_ylabel("kernel row", fontsize=8)
            bottom.yaxis.label.set_fontsize(8)
        else:
            bottom.set_ylabel("")
    fig.suptitle("Gaussian kernels (top, white = largest weight) and the photo blurred with them", fontsize=10)
    fig.tight_layout()
    return fig


def plot_edge_strength(image: torch.Tensor) -> plt.Figure:
    """The length of the Sobel gradient, ``sqrt(G_x^2 + G_y^2)``, as an image.

    Args:
        image: ``(1, H, W)`` grayscale image.

    Returns:
        The figure (5 inches wide; bright = strong edge, as in every gray map of the book,
        clipped at the 99.5th percentile).
    """
    gx = apply_kernel(image, sobel_x())
    gy = apply_kernel(image, sobel_y())
    magnitude = torch.sqrt(gx**2 + gy**2)
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    plane = magnitude.reshape(magnitude.shape[-2:])
    # The zero padding makes the image's own border a strong edge: scale to the
    # 99.5th percentile so that the few border pixels do not darken the rest.
    top = float(torch.quantile(plane.flatten(), 0.995)) or 1.0
    shown = ax.imshow(plane.numpy(), cmap="gray", vmin=0, vmax=top)
    fig.colorbar(shown, ax=ax, label="gradient length", extend="max")
    ax.set(title="edge strength sqrt(Gx\u00b2 + Gy\u00b2)", xlabel="column", ylabel="row")
    fig.tight_layout()
    return fig
