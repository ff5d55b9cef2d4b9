"""Test accuracy against the size of the training set: how much data a model needs.

For each size and seed, a class-balanced subset of the training images is
drawn (a different one per seed), a fresh model is built after seeding, and
it is trained for about the same number of optimiser steps whatever the
size, so that small sets are not simply under-trained::

    sizes = [50, 100, 200, 400, 800]
    acc = accuracy_vs_train_size(lambda: create_model("mlp", input_size=16), train_images, train_labels,
                                 data.test, sizes, seeds=(0, 1, 2))   # (len(sizes), 3) accuracies
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.runtime import seed_everything
from cnnlib.train.config import TrainConfig
from cnnlib.train.loop import evaluate, fit

__all__ = ["accuracy_vs_train_size"]


def _balanced_subset(labels: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    from cnnlib.data.loaders import _stratified_subset

    return _stratified_subset(labels, size, seed)


def accuracy_vs_train_size(make_model: Callable[[], nn.Module], images: torch.Tensor, labels: torch.Tensor,
                           test, sizes: Sequence[int], *, seeds: Sequence[int] = (0, 1, 2), steps: int = 300,
                           batch_size: int = 64, config: TrainConfig | None = None) -> torch.Tensor:
    """Train one model per (size, seed) and measure each on the same test set.

    Args:
        make_model: builds a fresh, untrained model (called after seeding).
        images: ``(N, C, H, W)`` training images to draw the subsets from.
        labels: ``(N,)`` their classes.
        test: the test data: a loader or an ``(images, labels)`` pair.
        sizes: training-set sizes, each from 1 to ``N``.
        seeds: one run per seed; the seed fixes the subset, the initial
            weights and the batch order.
        steps: optimiser steps per run, about (whole epochs are run:
            ``ceil(steps / batches per epoch)``).
        batch_size: training batch size (smaller sets use one batch of all).
        config: the training settings (``epochs`` and ``seed`` are replaced);
            ``TrainConfig(progress=False)`` by default.

    Returns:
        ``(len(sizes), len(seeds))`` test accuracies.

    Raises:
        ValueError: a size is not between 1 and ``N``, or ``images`` and
            ``labels`` differ in length.
    """
    if len(images) != len(labels):
        raise ValueError(f"accuracy_vs_train_size: {len(images)} images but {len(labels)} labels.")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= len(labels):
            raise ValueError(f"accuracy_vs_train_size: size {size!r} must be an int from 1 to {len(labels)}.")
    config = config or TrainConfig(progress=False)
    accuracies = torch.zeros(len(sizes), len(seeds))
    for i, size in enumerate(sizes):
        for j, seed in enumerate(seeds):
            keep = _balanced_subset(labels, size, seed)
            batches = math.ceil(size / batch_size)
            loader = DataLoader(TensorDataset(images[keep], labels[keep]), batch_size=batch_size, shuffle=True,
                                generator=torch.Generator().manual_seed(seed))
            seed_everything(seed)
            model = make_model()
            run = dataclasses.replace(config, epochs=max(1, math.ceil(steps / batches)), seed=seed)
            fit(model, loader, None, run)
            accuracies[i, j] = evaluate(model, test).accuracy
    return accuracies
