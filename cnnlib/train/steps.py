"""Train for a fixed number of steps on in-memory tensors and keep every step's loss.

The degradation experiment of chapter 8 compares how low networks of
different depth push their *training* loss in the same budget of updates;
an epoch-level history is too coarse for that, so :func:`train_steps`
records the loss of every mini-batch::

    cnnlib.seed_everything(0)
    model = create_model("cifar_plain20", in_channels=1, input_size=8, widths=(4, 8, 16))
    losses = train_steps(model, images, labels, steps=150, seed=0)   # 150 floats
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.train.loop import model_device

__all__ = ["train_steps"]


def train_steps(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, steps: int,
                batch_size: int = 64, lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 1e-4,
                seed: int = 0) -> list[float]:
    """Train ``model`` with SGD on random mini-batches for ``steps`` updates.

    Each step draws ``batch_size`` examples uniformly with replacement (from a
    generator seeded with ``seed``, so a run repeats exactly), takes one
    SGD step with momentum on the cross-entropy loss, in train mode, at a
    constant learning rate. The model is left in train mode.

    Args:
        model: a classifier returning ``(N, C)`` logits.
        images: ``(N, C, H, W)`` training images.
        labels: ``(N,)`` int64 classes.
        steps: number of updates.
        batch_size: examples per step.
        lr, momentum, weight_decay: passed to ``torch.optim.SGD``.
        seed: seeds the choice of the mini-batches.

    Returns:
        The training loss of every step, ``steps`` floats.

    Raises:
        ValueError: ``images`` and ``labels`` disagree in length, or ``steps``
            or ``batch_size`` is not a positive int.
    """
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"train_steps: {name} must be a positive int, got {value!r}.")
    if images.ndim < 2 or len(images) != len(labels):
        raise ValueError(f"train_steps: images of shape {tuple(images.shape)} and labels of shape "
                         f"{tuple(labels.shape)} must hold the same number of examples (dimension 0).")
    device = model_device(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(steps):
        index = torch.randint(0, len(images), (batch_size,), generator=generator)
        x, y = images[index].to(device), labels[index].to(device)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
