"""Guided Grad-CAM: guided backpropagation's fine detail, masked by Grad-CAM's class region."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, upsample
from cnnlib.explain.grad_cam import grad_cam
from cnnlib.explain.guided_backprop import guided_backprop

__all__ = ["guided_grad_cam"]


def guided_grad_cam(model: nn.Module, images: torch.Tensor, target: Target, *, layer: nn.Module,
                    interpolate_mode: str = "bilinear") -> torch.Tensor:
    """Guided backpropagation times the Grad-CAM map upsampled to the image.

    Args:
        model, images, target, layer: as in :func:`cnnlib.explain.grad_cam`.
        interpolate_mode: how the Grad-CAM map is upsampled (``"bilinear"`` or
            ``"nearest"``, captum's default).

    Returns:
        ``(N, C, H, W)``, signed.
    """
    guided = guided_backprop(model, images, target)
    cam = upsample(grad_cam(model, images, target, layer=layer), tuple(images.shape[2:]), mode=interpolate_mode)
    return guided * cam[:, None]
