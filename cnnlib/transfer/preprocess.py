"""Preprocessing taken from the weights' own description, never typed in by hand.

The description (:class:`cnnlib.models.Weights`) says which mean and std
the network was trained with; inputs here are resized straight to
``size`` (small images have nothing to crop) and normalised with them.
"""
from __future__ import annotations

import torch

from cnnlib.transfer.errors import ChannelMismatchError

__all__ = ["preprocess", "to_rgb"]


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """Grayscale ``(N, 1, H, W)`` -> ``(N, 3, H, W)`` by repeating the channel (a gray RGB image)."""
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"to_rgb: expected (N, 1, H, W) grayscale images, got shape {tuple(images.shape)}.")
    return images.expand(-1, 3, -1, -1).contiguous()


def preprocess(images: torch.Tensor, weights, *, size: int | None = None, grayscale: str = "error") -> torch.Tensor:
    """Resize and normalise images as the pretrained weights expect.

    Args:
        images: ``(N, C, H, W)`` floats in ``[0, 1]``.
        weights: a :class:`~cnnlib.models.Weights` (a pretrained model's ``model.weights``).
        size: the side to resize to; default: the weights' ``crop_size`` (224).
        grayscale: what to do with one-channel images: ``"error"`` (default)
            or ``"repeat"`` (copy the channel three times, :func:`to_rgb`).

    Returns:
        ``(N, 3, size, size)`` float tensor, ``(x - mean) / std`` per channel.

    Raises:
        ChannelMismatchError: one-channel images and ``grayscale="error"``, or
            a channel count that is neither 1 nor 3.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"preprocess: expected a (N, C, H, W) tensor, got "
                         f"{getattr(images, 'shape', type(images).__name__)}.")
    if grayscale not in ("error", "repeat"):
        raise ValueError(f"preprocess(grayscale={grayscale!r}): choose 'error' or 'repeat'.")
    channels = images.shape[1]
    if channels == 1:
        if grayscale == "error":
            raise ChannelMismatchError(
                f"{weights.model} was pretrained on RGB images (3 channels) and these images have 1 channel "
                f"(grayscale, shape {tuple(images.shape)}). Convert them: preprocess(images, weights, "
                "grayscale='repeat'), or cnnlib.transfer.to_rgb(images), copies the gray channel into R, G and B.")
        images = to_rgb(images)
    elif channels != 3:
        raise ChannelMismatchError(
            f"{weights.model} takes 3-channel RGB images; these have {channels} channels "
            f"(shape {tuple(images.shape)}). Drop an alpha channel with images[:, :3].")
    size = size or weights.crop_size
    if images.shape[-2:] != (size, size):
        from torchvision.transforms.v2 import functional as TF

        images = TF.resize(images, [size, size], antialias=True)
    mean = torch.tensor(weights.mean, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(weights.std, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std
