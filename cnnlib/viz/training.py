"""Figures for chapter 6: softmax probabilities, augmented images, runs compared.

* :func:`plot_softmax` shows logits next to the probabilities softmax makes
  of them, at one or more temperatures.
* :func:`plot_augmentations` shows a few images and random augmented copies.
* :func:`plot_histories` overlays the validation (and training) curves of
  several training runs, e.g. with and without augmentation.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch

from cnnlib.losses import softmax
from cnnlib.viz.layout import COLUMN_WIDTH

__all__ = ["plot_softmax", "plot_augmentations", "plot_histories"]


def plot_softmax(logits: torch.Tensor, class_names: Sequence[str] | None = None, *,
                 temperatures: Sequence[float] = (1.0,), title: str = "From logits to probabilities") -> plt.Figure:
    """Bar charts of one example's logits and of ``softmax(logits / T)`` per temperature ``T``.

    Args:
        logits: shape ``(C,)``.
        class_names: a label per class; ``0..C-1`` by default.
        temperatures: one probability panel per temperature (1 is plain softmax;
            larger flattens the distribution, smaller sharpens it).
        title: the figure's title.

    Returns:
        The figure.
    """
    z = logits.detach().cpu().float()
    if z.ndim != 1:
        raise ValueError(f"plot_softmax draws one example's logits of shape (C,); got {tuple(z.shape)}.")
    names = [str(n) for n in (class_names if class_names is not None else range(len(z)))]
    if len(names) != len(z):
        raise ValueError(f"plot_softmax: {len(names)} class names for {len(z)} logits.")
    panels = 1 + len(temperatures)
    fig, axes = plt.subplots(1, panels, figsize=(min(COLUMN_WIDTH, 2.6 * panels), 3.3), layout="constrained")
    positions = range(len(z))
    axes[0].bar(positions, z.numpy(), color=["C3" if v < 0 else "C0" for v in z.tolist()])
    axes[0].axhline(0, color="black", linewidth=0.8)
    axes[0].set(title="logits z", xlabel="class", ylabel="logit")
    for ax, temperature in zip(axes[1:], temperatures):
        p = softmax(z / temperature)
        ax.bar(positions, p.numpy(), color="C0")
        top = int(p.argmax())
        name = "softmax(z)" if temperature == 1 else f"softmax(z / {temperature:g})"
        ax.set(title=f"{name}\ntop p = {float(p[top]):.2f}", xlabel="class", ylabel="probability", ylim=(0, 1))
    for ax in axes:
        ax.set_xticks(list(positions), names, rotation=45 if max(map(len, names)) > 2 else 0)
    fig.suptitle(title)
    return fig


def plot_augmentations(images: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor], *,
                       copies: int = 5, seed: int = 0, title: str = "Data augmentation") -> plt.Figure:
    """Each image (one row) next to ``copies`` randomly transformed versions.

    Args:
        images: ``(N, 1, H, W)`` grayscale images in ``[0, 1]``; N rows are drawn.
        transform: maps one ``(1, H, W)`` image to an augmented one (e.g.
            :func:`cnnlib.data.loaders.augmentation`).
        copies: augmented versions per image.
        seed: seeds PyTorch's generator before drawing, so the figure repeats.
        title: the figure's title.

    Returns:
        The figure.
    """
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"plot_augmentations expects grayscale images (N, 1, H, W); got {tuple(images.shape)}.")
    rows = images.shape[0]
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        side = min(1.5, COLUMN_WIDTH / (copies + 1))
        fig, axes = plt.subplots(rows, copies + 1, figsize=(side * (copies + 1), (side + 0.15) * rows + 0.5),
                                 squeeze=False, layout="constrained")
        for r in range(rows):
            panels = [images[r]] + [transform(images[r]) for _ in range(copies)]
            for c, (ax, image) in enumerate(zip(axes[r], panels)):
                ax.imshow(image[0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title("original" if c == 0 else f"copy {c}", fontsize=9)
    finally:
        torch.set_rng_state(state)  # drawing the figure must not change what a later training run sees
    fig.suptitle(title)
    return fig


def plot_histories(histories: Mapping[str, object], *, title: str = "Training runs compared",
                   show_train: bool = True) -> plt.Figure:
    """Loss and accuracy per epoch for several runs on shared axes.

    Args:
        histories: run name -> :class:`cnnlib.train.History` (anything with
            ``train_loss``, ``train_acc``, ``val_loss`` and ``val_acc`` lists).
        title: the figure's title.
        show_train: also draw the training curves (dotted), so the gap
            between training and validation (overfitting) shows.

    Returns:
        The figure.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 4.0), layout="constrained")
    for i, (name, history) in enumerate(histories.items()):
        colour = f"C{i}"
        if not history.val_acc:
            raise ValueError(f"plot_histories: run {name!r} has no validation curve; pass a val_loader to fit.")
        epochs = range(1, len(history.val_acc) + 1)
        ax_loss.plot(epochs, history.val_loss, "-", color=colour, label=f"{name}, validation")
        ax_acc.plot(epochs, history.val_acc, "-", color=colour, label=f"{name}, validation")
        if show_train:
            ax_loss.plot(epochs, history.train_loss[:len(epochs)], ":", color=colour, label=f"{name}, training")
            ax_acc.plot(epochs, history.train_acc[:len(epochs)], ":", color=colour, label=f"{name}, training")
    ax_loss.set(title="Loss", xlabel="epoch", ylabel="cross-entropy loss")
    ax_acc.set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.legend(*ax_acc.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=9)
    fig.suptitle(title)
    return fig
