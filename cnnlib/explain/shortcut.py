"""A planted shortcut: a small CNN that learns a corner mark instead of the digits.

The data are scikit-learn's real handwritten digits, two classes of them. In
the training split every image of the first class carries a bright square in
its top-left corner; the test split is given with and without the mark. A
network that learned the mark rather than the digit fails on the clean test
images, and Grad-CAM shows where it looks. Used by chapter 9.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ShortcutData", "accuracy", "plant_cue", "shortcut_data", "small_gap_cnn", "train_quickly"]


def plant_cue(images: torch.Tensor, mask: torch.Tensor, *, size: int = 3, value: float = 1.0) -> torch.Tensor:
    """A copy of ``(N, 1, H, W)`` images with a ``size x size`` square of ``value`` in the top-left corner of those where ``mask``."""
    out = images.clone()
    out[mask, :, :size, :size] = value
    return out


@dataclass(frozen=True)
class ShortcutData:
    """Two digit classes; labels are 0 (``classes[0]``, marked in training) and 1.

    Attributes:
        train_x: ``(N, 1, S, S)`` training images, class 0 marked.
        train_y: ``(N,)`` labels.
        test_x: ``(M, 1, S, S)`` clean test images.
        test_marked_x: the same test images with class 0 marked, as in training.
        test_y: ``(M,)`` labels.
        classes: the two digits.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_marked_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[int, int]


def shortcut_data(classes: tuple[int, int] = (3, 8), *, size: int = 16, cue_size: int = 3,
                  test_fraction: float = 0.3, seed: int = 0) -> ShortcutData:
    """Split scikit-learn's digits of two classes and plant the corner mark on class ``classes[0]`` in training.

    Args:
        classes: the two digits (label 0 is ``classes[0]``).
        size: image side after upsampling the 8x8 digits.
        cue_size: side of the planted square.
        test_fraction: share of the images held out for testing.
        seed: seeds the split.

    Returns:
        A :class:`ShortcutData`.
    """
    from cnnlib.data.digits import load_digits

    images, labels = load_digits(size=size)
    keep = (labels == classes[0]) | (labels == classes[1])
    x, y = images[keep], (labels[keep] == classes[1]).long()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[order], y[order]
    n_test = int(round(test_fraction * len(y)))
    tx, ty, vx, vy = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    return ShortcutData(plant_cue(tx, ty == 0, size=cue_size), ty, vx, plant_cue(vx, vy == 0, size=cue_size), vy,
                        tuple(classes))


def small_gap_cnn(in_channels: int = 1, num_classes: int = 2, width: int = 16) -> nn.Sequential:
    """Three 3x3 convolutions with ReLU (a 2x2 max pool after the second), global average pooling, one linear layer.

    ``model[-4]`` is the last ReLU, the layer CAM and Grad-CAM look at.
    Shape: ``(N, in_channels, S, S) -> (N, num_classes)``.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))


def train_quickly(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 30,
                  batch_size: int = 32, lr: float = 1e-2, seed: int = 0) -> list[float]:
    """Adam on cross-entropy, shuffled mini-batches; returns the mean loss of each epoch. The model ends in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(epochs):
        order, total = torch.randperm(len(labels), generator=gen), 0.0
        for start in range(0, len(labels), batch_size):
            idx = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(labels))
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of images whose top logit is the label (the model is put in eval mode)."""
    model.eval()
    return float((model(images).argmax(dim=1) == labels).float().mean())
