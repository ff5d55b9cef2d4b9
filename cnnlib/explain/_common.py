"""Argument checks and small helpers shared by the explanation methods."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.explain._hooks import StopForward

__all__ = ["Target", "check_images", "class_scores", "forward", "targets", "upsample"]

Target = int | Sequence[int] | torch.Tensor


def check_images(images: torch.Tensor, name: str) -> torch.Tensor:
    """Check a batch ``(N, C, H, W)`` of float images and return a detached float copy."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: images must be a torch.Tensor of shape (N, C, H, W), got {type(images).__name__}.")
    if images.ndim != 4:
        hint = " Add the batch axis with images.unsqueeze(0)." if images.ndim == 3 else ""
        raise ValueError(f"{name}: images must have shape (N, C, H, W), got {tuple(images.shape)}.{hint}")
    if not images.is_floating_point():
        raise TypeError(f"{name}: images must be floating point (normalised as the model expects), got {images.dtype}.")
    return images.detach().clone()


def targets(target: Target, n: int, num_classes: int, name: str) -> torch.Tensor:
    """The target class of each of ``n`` images as a ``(n,)`` long tensor (an int is used for all)."""
    t = torch.as_tensor(target).long().reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"{name}: target must be one class index or one per image ({n}), got {t.numel()}.")
    if (t < 0).any() or (t >= num_classes).any():
        raise ValueError(f"{name}: target classes must lie in [0, {num_classes}), got {t.tolist()}.")
    return t


def forward(model: nn.Module, images: torch.Tensor) -> torch.Tensor | None:
    """``model(images)``, or ``None`` when a hook stopped the pass early (:class:`StopForward`)."""
    try:
        return model(images)
    except StopForward:
        return None


def class_scores(logits: torch.Tensor, target: Target, name: str) -> torch.Tensor:
    """The ``(N,)`` logits of the target classes (the score every gradient method differentiates)."""
    if logits.ndim != 2:
        raise ValueError(f"{name}: the model must return (N, num_classes) logits, got shape {tuple(logits.shape)}.")
    t = targets(target, logits.shape[0], logits.shape[1], name)
    return logits.gather(1, t.to(logits.device)[:, None])[:, 0]


def upsample(maps: torch.Tensor, size: int | tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize ``(N, h, w)`` or ``(N, 1, h, w)`` maps to ``(N, H, W)`` (``size`` = ``(H, W)`` or ``H = W``)."""
    x = maps[:, None] if maps.ndim == 3 else maps
    size = (size, size) if isinstance(size, int) else tuple(size)
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return F.interpolate(x, size=size, mode=mode, **kwargs)[:, 0]
