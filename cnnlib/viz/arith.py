"""Figures for chapter 3: how often padding lets each pixel be used, and im2col's matrix."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch

from cnnlib.arith import conv_output_size
from cnnlib.ops import conv2d, im2col
from cnnlib.viz.grid import draw_grid

__all__ = ["pixel_use", "plot_im2col", "plot_pixel_use"]


def pixel_use(input_size: int, kernel_size: int, padding: int = 0) -> torch.Tensor:
    """How many ``K x K`` windows (stride 1) contain each pixel of an ``H x H`` input.

    Computed as the gradient of the sum of all outputs of an all-ones
    kernel: each window that contains a pixel adds 1 to it.

    Returns:
        ``(H, H)`` tensor of counts.
    """
    x = torch.ones(1, 1, input_size, input_size, requires_grad=True)
    conv2d(x, torch.ones(1, 1, kernel_size, kernel_size), padding=padding).sum().backward()
    return x.grad[0, 0].detach()


def plot_pixel_use(input_size: int = 8, kernel_size: int = 3, paddings: Sequence[int] = (0, 1)) -> plt.Figure:
    """Side by side, one grid per padding: each pixel's window count.

    Args:
        input_size: ``H`` of the square input.
        kernel_size: ``K``.
        paddings: one or two paddings to compare.

    Returns:
        The figure (7 inches wide).
    """
    if not 1 <= len(paddings) <= 2:
        raise ValueError(f"plot_pixel_use compares one or two paddings, got {list(paddings)}.")
    fig, axes = plt.subplots(1, len(paddings), figsize=(7.0, 3.9), squeeze=False)
    for ax, padding in zip(axes[0], paddings):
        out = conv_output_size(input_size, kernel_size, padding=padding)
        draw_grid(ax, pixel_use(input_size, kernel_size, padding), cmap="viridis", vmin=0, vmax=kernel_size**2,
                  fmt="{:.0f}", fontsize=9, title=f"P = {padding}: output {out}x{out}")
        ax.set(xlabel="input column", ylabel="input row")
    fig.suptitle(f"how many {kernel_size}x{kernel_size} windows use each input pixel", fontsize=11)
    fig.tight_layout()
    return fig


def plot_im2col(x: torch.Tensor, weight: torch.Tensor, window: int = 1) -> plt.Figure:
    """im2col for one channel: the input with one window outlined, the kernel
    as a column of taps, and the matrix whose column ``window`` holds that window.

    Args:
        x: ``(H, W)`` input.
        weight: ``(K, K)`` kernel.
        window: which window (output position, row-major) to outline.

    Returns:
        The figure (7 inches wide).
    """
    x, weight = torch.as_tensor(x).float(), torch.as_tensor(weight).float()
    if x.ndim != 2 or weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"plot_im2col expects x (H, W) and a square kernel (K, K), got {tuple(x.shape)} "
                         f"and {tuple(weight.shape)}.")
    k = weight.shape[0]
    cols = im2col(x[None, None], kernel_size=k)[0]  # (K * K, H_out * W_out)
    w_out = x.shape[1] - k + 1
    if not 0 <= window < cols.shape[1]:
        raise ValueError(f"window {window} is outside the {cols.shape[1]} windows of this input.")
    r0, c0 = divmod(window, w_out)
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 3.9),
                             gridspec_kw={"width_ratios": [x.shape[1], 1.4, cols.shape[1]]})
    draw_grid(axes[0], x, title=f"input {x.shape[0]}x{x.shape[1]}", cmap="gray", fontsize=9,
              vmin=float(x.min()) - 0.3 * float(x.max() - x.min()), vmax=float(x.max()),
              highlight=[(r0 + r, c0 + c) for r in range(k) for c in range(k)])
    axes[0].set(xlabel="column", ylabel="row")
    draw_grid(axes[1], weight.reshape(k * k, 1), title="kernel\n(taps)", cmap="Blues", fontsize=9)
    axes[1].set(xlabel="", ylabel="tap (row-major)")
    axes[1].set_xticks([])
    draw_grid(axes[2], cols, title="im2col matrix", cmap="gray", fontsize=9,
              vmin=float(x.min()) - 0.3 * float(x.max() - x.min()), vmax=float(x.max()),
              highlight=[(r, window) for r in range(k * k)])
    axes[2].set(xlabel="window (output position)", ylabel="tap (row-major)")
    fig.suptitle(f"im2col: window {window} becomes column {window}; output = kernel row x matrix", fontsize=10)
    fig.tight_layout()
    return fig
