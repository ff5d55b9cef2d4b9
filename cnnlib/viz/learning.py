"""Figure for chapter 2's learned kernel: data, loss curve and the kernel next to its target."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch

from cnnlib.viz.conv import show_image
from cnnlib.viz.grid import draw_grid

__all__ = ["plot_learned_kernel"]


def plot_learned_kernel(photo: torch.Tensor, target: torch.Tensor, losses: Sequence[float],
                        learned: torch.Tensor, true_kernel: torch.Tensor) -> plt.Figure:
    """Two rows at the column's width: the input, the target and the loss
    curve on top; the learned and the true kernel below, on one signed scale.

    Args:
        photo: ``(1, H, W)`` (or ``(H, W)``) input, any range (drawn on its own range).
        target: the target map the kernel should produce, signed.
        losses: the loss after each step (drawn on a log scale).
        learned: the learned ``(K, K)`` (or ``(1, 1, K, K)``) kernel.
        true_kernel: the ``(K, K)`` kernel that made ``target``.

    Returns:
        The figure (7 x 5.4 inches).
    """
    learned = torch.as_tensor(learned).detach().reshape(true_kernel.shape[-2:])
    if len(losses) == 0:
        raise ValueError("plot_learned_kernel needs the loss of at least one step.")
    fig = plt.figure(figsize=(7.0, 5.4))
    grid = fig.add_gridspec(2, 6, height_ratios=[1, 1.05])
    ax_photo, ax_target, ax_loss = (fig.add_subplot(grid[0, 2 * i: 2 * i + 2]) for i in range(3))
    ax_learned, ax_true = fig.add_subplot(grid[1, 0:3]), fig.add_subplot(grid[1, 3:6])
    plane = photo.detach().reshape(photo.shape[-2:])
    shown = ax_photo.imshow(plane.numpy(), cmap="gray", vmin=float(plane.min()), vmax=float(plane.max()))
    ax_photo.set(title="input (normalised)", xlabel="column", ylabel="row")
    show_image(ax_target, target, "target: Sobel x output", signed=True, colorbar=False)
    ax_loss.semilogy(list(losses), color="0.2")
    ax_loss.set(title="mean squared error", xlabel="step", ylabel="loss (log scale)")
    bound = float(true_kernel.abs().max()) or 1.0
    rounded = torch.round(learned * 100) / 100 + 0.0  # + 0.0 turns -0.00 into 0.00
    draw_grid(ax_learned, rounded, title="learned kernel", cmap="RdBu_r", vmin=-bound, vmax=bound, fmt="{:.2f}",
              fontsize=10)
    draw_grid(ax_true, true_kernel, title="true kernel (Sobel x)", cmap="RdBu_r", vmin=-bound, vmax=bound,
              fontsize=10)
    for ax in (ax_learned, ax_true):
        ax.set(xlabel="kernel column", ylabel="kernel row")
    del shown
    fig.suptitle("a 3x3 kernel learned by gradient descent from random numbers", fontsize=11)
    fig.tight_layout()
    return fig
