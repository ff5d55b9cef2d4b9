"""Figures for judging a trained classifier: confusion matrix and misclassified images."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.train.loop import as_loader, evaluate

__all__ = ["misclassified", "plot_confusion_matrix", "plot_misclassified"]


def plot_confusion_matrix(confusion: torch.Tensor, class_names=None, *, normalize: bool = False,
                          title: str = "Confusion matrix", cmap: str = "viridis"):
    """Draw a confusion matrix with the count (or share) written in each cell.

    Args:
        confusion: ``(C, C)`` counts, row = true class, column = predicted
            (``evaluate(...).confusion``).
        class_names: a label per class; ``0..C-1`` by default.
        normalize: show each row as fractions of that true class (recall on
            the diagonal) instead of counts.
        title: the figure title.
        cmap: a sequential colour map that reads in grayscale.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    confusion = torch.as_tensor(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square (C, C) matrix, got shape {tuple(confusion.shape)}.")
    c = confusion.shape[0]
    names = [str(n) for n in (class_names if class_names is not None else range(c))]
    if len(names) != c:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class names for a {c}x{c} matrix.")
    values = confusion.double()
    if normalize:
        values = values / values.sum(dim=1, keepdim=True).clamp_min(1)
    from cnnlib.viz.layout import COLUMN_WIDTH

    fig, ax = plt.subplots(figsize=(min(COLUMN_WIDTH, 0.45 * c + 2.2), min(COLUMN_WIDTH, 0.45 * c + 1.6)))
    image = ax.imshow(values.numpy(), cmap=cmap, vmin=0)
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count")
    threshold = values.max().item() / 2
    for i in range(c):
        for j in range(c):
            v = values[i, j].item()
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            if not normalize and v == 0:
                text = ""
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="black" if v > threshold else "white")
    ax.set_xticks(range(c), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(c), names)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    fig.tight_layout()
    return fig


def misclassified(model: nn.Module, loader, *, limit: int | None = None, device=None):
    """The examples ``model`` gets wrong, most confident mistakes first.

    Args:
        model: the classifier.
        loader: a loader of ``(images, labels)``, or such a pair of tensors.
        limit: keep at most this many.
        device: where to run the model; defaults to its device.

    Returns:
        ``(images, targets, predictions, confidences)``: ``(M, C, H, W)``,
        ``(M,)``, ``(M,)`` and ``(M,)`` (the probability given to the wrong
        prediction), on the CPU.
    """
    # One pass over the data, so that images and predictions match even for a shuffled loader.
    images, labels = (torch.cat(parts) for parts in zip(*as_loader(loader)))
    result = evaluate(model, (images, labels), device=device)
    wrong = result.errors
    confidence = result.probabilities.max(dim=1).values[wrong] if result.probabilities.shape[1] > 1 else \
        (result.probabilities[wrong, 0] - 0.5).abs() + 0.5
    order = torch.argsort(confidence, descending=True, stable=True)
    wrong, confidence = wrong[order], confidence[order]
    if limit is not None:
        wrong, confidence = wrong[:limit], confidence[:limit]
    return images[wrong], result.targets[wrong], result.predictions[wrong], confidence


def plot_misclassified(model: nn.Module, loader, *, class_names=None, max_images: int = 12, ncols: int = 6,
                       device=None, title: str = "Misclassified examples", cmap: str = "gray"):
    """A grid of the examples the model gets wrong, with true and predicted labels.

    Args:
        model: the classifier.
        loader: an unshuffled loader of ``(images, labels)`` (e.g. ``data.test``),
            or such a pair of tensors.
        class_names: a label per class; class indices by default.
        max_images: show at most this many (the most confident mistakes).
        ncols: images per row (the figure is as wide as the page's column).
        device: where to run the model.
        title: the figure title (the number of mistakes is appended).
        cmap: colour map for one-channel images.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    images, targets, predictions, confidence = misclassified(model, loader, device=device)
    total = len(targets)
    shown = min(total, max_images)
    name = (lambda k: str(class_names[k])) if class_names is not None else str
    rows = max(1, -(-shown // ncols))
    cols = max(1, min(ncols, shown))
    from cnnlib.viz.layout import COLUMN_WIDTH

    side = min(1.5, COLUMN_WIDTH / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(side * cols, (side + 0.4) * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= shown:
            continue
        image = images[k]
        if image.shape[0] == 1:
            ax.imshow(image[0].numpy(), cmap=cmap, vmin=0, vmax=1)
        else:
            ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(f"true {name(int(targets[k]))}\npred {name(int(predictions[k]))} ({confidence[k]:.0%})", fontsize=9)
    if shown == 0:
        axes[0, 0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle(f"{title}: {shown} of {total} shown")
    fig.tight_layout()
    return fig
