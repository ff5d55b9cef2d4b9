"""Figures for chapter 1: rows of images, HOG pictures, accuracy under shifts.

* :func:`plot_image_row` draws a few grayscale images side by side.
* :func:`plot_hog` shows a photo next to its HOG picture.
* :func:`plot_accuracy_vs_shift` draws test accuracy against the shift of
  the test images, one line per model.
* :func:`plot_flattening` shows an image, the vector an MLP receives, and
  the same vector with its pixels in a fixed random order.
* :func:`plot_filters` draws the kernels of a convolution layer.
* :func:`plot_accuracy_vs_train_size` draws test accuracy against the
  number of training images, one line per model, seeds' range shaded.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from cnnlib.viz.curves import finish, plot_series
from cnnlib.viz.layout import COLUMN_WIDTH

__all__ = [
    "plot_accuracy_vs_shift",
    "plot_accuracy_vs_train_size",
    "plot_filters",
    "plot_flattening",
    "plot_hog",
    "plot_image_row",
]


def _gray(image: torch.Tensor | np.ndarray) -> np.ndarray:
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = np.squeeze(array)
    if array.ndim != 2:
        raise ValueError(f"expected one grayscale image (H, W) or (1, H, W); got shape {array.shape}.")
    return array


def plot_image_row(images: torch.Tensor | Sequence, titles: Sequence[str] | None = None, *,
                   suptitle: str = "", size: float = 1.8, vmin: float = 0.0, vmax: float = 1.0) -> plt.Figure:
    """Grayscale images in one row.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` tensor, or a list of images.
        titles: one title per image.
        suptitle: the figure's title.
        size: inches per image, at most (the row never exceeds the column's width).
        vmin, vmax: the gray scale's black and white values.

    Returns:
        The figure.
    """
    images = list(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"plot_image_row: {len(titles)} titles for {len(images)} images.")
    size = min(size, COLUMN_WIDTH / len(images))
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size * 1.25 + 0.4), squeeze=False)
    for i, (ax, image) in enumerate(zip(axes[0], images)):
        ax.imshow(_gray(image), cmap="gray", vmin=vmin, vmax=vmax)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    axes[0][0].set_ylabel("row")
    axes[0][0].set_xlabel("column")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_hog(image: torch.Tensor | np.ndarray, picture: np.ndarray, *, title: str = "HOG of a photo",
             cell: tuple[int, int] | None = None) -> plt.Figure:
    """A grayscale photo beside its HOG picture.

    Args:
        image: ``(H, W)`` or ``(1, H, W)``.
        picture: ``(H, W)`` HOG visualisation from :func:`cnnlib.features.hog_image`.
        title: the figure's title.
        cell: ``pixels_per_cell``, shown in the right panel's title when given.

    Returns:
        The figure.
    """
    gray = _gray(image)
    if picture.shape != gray.shape:
        raise ValueError(f"plot_hog: the HOG picture {picture.shape} must match the image {gray.shape}.")
    fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.7), layout="constrained")
    left.imshow(gray, cmap="gray", vmin=0, vmax=1)
    left.set_title("input (grayscale)")
    drawn = picture[picture > 0]
    # A few very strong edges would set the scale and leave the rest dark: clip at the 99th percentile.
    top = float(np.quantile(drawn, 0.99)) if drawn.size else 1.0
    shown = right.imshow(np.clip(picture, 0, top), cmap="viridis", vmin=0, vmax=top)
    right.set_title("orientation histograms" + (f",\n{cell[0]}x{cell[1]}-pixel cells" if cell else ""))
    fig.colorbar(shown, ax=right, shrink=0.85, label="bin weight (clipped at\nthe 99th percentile)")
    for ax in (left, right):
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.suptitle(title)
    return fig


def plot_accuracy_vs_shift(shifts: Sequence[int], accuracies: Mapping[str, Sequence[float]], *,
                           title: str = "Accuracy on shifted test digits", xlabel: str = "shift (pixels)",
                           chance: float | None = 0.1) -> plt.Figure:
    """Test accuracy against the shift of the test images, one line per model.

    Args:
        shifts: the shifts, in pixels.
        accuracies: model name -> one accuracy (0..1) per shift.
        title: the figure's title.
        xlabel: the x axis' label.
        chance: draw a dashed line at this accuracy (``None`` for none).

    Returns:
        The figure.
    """
    fig, ax = plot_series(shifts, accuracies, title=title, xlabel=xlabel, ylabel="test accuracy (%)",
                          scale=100, names=("plot_accuracy_vs_shift", "accuracies", "shifts"))
    if chance is not None:
        ax.axhline(100 * chance, color="gray", linestyle="--", linewidth=1, label="chance")
    ax.set_ylim(0, 100)
    return finish(fig, ax)


def plot_flattening(image: torch.Tensor, permutation: torch.Tensor | None = None, *,
                    title: str = "What an MLP receives: a list of numbers") -> plt.Figure:
    """An image, its flattened vector and (optionally) that vector in a scrambled order.

    Args:
        image: ``(H, W)`` or ``(1, H, W)``, values in ``[0, 1]``.
        permutation: ``(H * W,)`` indices; draws a third panel with the pixels
            in this order, folded back into ``H x W``.
        title: the figure's title.

    Returns:
        The figure.
    """
    gray = _gray(image)
    height, width = gray.shape
    order = None
    if permutation is not None:
        order = np.asarray(permutation)
        if sorted(order.tolist()) != list(range(height * width)):
            raise ValueError(f"plot_flattening: permutation must hold each index 0..{height * width - 1} once.")
    panels = 2 if order is not None else 1
    fig = plt.figure(figsize=(min(COLUMN_WIDTH, 3.6 * panels), 5.0), layout="constrained")
    grid = fig.add_gridspec(2, panels, height_ratios=[5, 1])

    def numbered(ax, pixels, numbers, name):
        ax.imshow(pixels, cmap="gray", vmin=0, vmax=1)
        for i in range(height):
            for j in range(width):
                ax.text(j, i, str(numbers[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if pixels[i, j] < 0.5 else "black")
        ax.set(title=name, xlabel="column", ylabel="row")

    index = np.arange(height * width).reshape(height, width)
    numbered(fig.add_subplot(grid[0, 0]), gray, index, f"{height}x{width} image, pixel numbers")
    if order is not None:
        numbered(fig.add_subplot(grid[0, 1]), gray.reshape(-1)[order].reshape(height, width),
                 order.reshape(height, width), "same pixels in a fixed random order")
    ax_vec = fig.add_subplot(grid[1, :])
    ax_vec.imshow(gray.reshape(1, -1), cmap="gray", vmin=0, vmax=1, aspect="auto")
    ax_vec.set(title=f"flattened: the {height * width} numbers an MLP receives", xlabel="input index",
               yticks=[])
    fig.suptitle(title)
    return fig


def plot_filters(weight: torch.Tensor, *, title: str = "Learned filters", columns: int = 8) -> plt.Figure:
    """The kernels of a convolution layer, one panel each, on one signed colour scale.

    Args:
        weight: ``(C_out, C_in, kH, kW)``, e.g. ``conv.weight``; only input
            channel 0 is drawn.
        title: the figure's title.
        columns: panels per row.

    Returns:
        The figure.
    """
    w = weight.detach().cpu().float()
    if w.ndim != 4:
        raise ValueError(f"plot_filters expects a conv weight (C_out, C_in, kH, kW); got shape {tuple(w.shape)}.")
    count = w.shape[0]
    rows = -(-count // columns)
    side = min(1.3, (COLUMN_WIDTH - 0.9) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(side * columns + 0.9, (side + 0.25) * rows + 0.6),
                             squeeze=False, layout="constrained")
    bound = float(w[:, 0].abs().max()) or 1.0
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < count:
            shown = ax.imshow(w[k, 0].numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
            ax.set_title(f"filter {k}", fontsize=9)
        else:
            ax.axis("off")
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.9, label="weight")
    fig.suptitle(title)
    return fig


def plot_accuracy_vs_train_size(sizes: Sequence[int], accuracies: Mapping[str, torch.Tensor | np.ndarray], *,
                                title: str = "Test accuracy against the size of the training set") -> plt.Figure:
    """Mean test accuracy over seeds against the training-set size, with the seeds' range shaded.

    Args:
        sizes: training-set sizes (drawn on a log scale).
        accuracies: model name -> ``(len(sizes), seeds)`` accuracies in 0..1
            (from :func:`cnnlib.train.accuracy_vs_train_size`).
        title: the figure's title.

    Returns:
        The figure.
    """
    sizes = list(sizes)
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 3.8), layout="constrained")
    for i, (name, values) in enumerate(accuracies.items()):
        values = 100 * np.asarray(values, dtype=float).reshape(len(sizes), -1) if len(values) == len(sizes) else None
        if values is None:
            raise ValueError(f"plot_accuracy_vs_train_size: {name!r} needs one row of accuracies per size "
                             f"({len(sizes)}).")
        ax.plot(sizes, values.mean(axis=1), marker="osD^"[i % 4], color=f"C{i}",
                label=f"{name} (mean of {values.shape[1]} seeds)")
        ax.fill_between(sizes, values.min(axis=1), values.max(axis=1), color=f"C{i}", alpha=0.2,
                        label=f"{name}: lowest to highest seed")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.minorticks_off()
    ax.set(title=title, xlabel="training images (log scale)", ylabel="test accuracy (%)")
    ax.grid(alpha=0.3)
    return finish(fig, ax)
