"""Vanilla gradient saliency: how much each pixel's change moves the class score."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, check_images, class_scores
from cnnlib.explain._hooks import explaining

__all__ = ["input_gradient", "saliency"]


def input_gradient(model: nn.Module, images: torch.Tensor, target: Target, *, guided: bool = False,
                   name: str = "input_gradient") -> torch.Tensor:
    """The gradient of each image's target logit with respect to the image: ``(N, C, H, W)``.

    ``guided=True`` applies the guided-backpropagation rule at every ReLU and ReLU6.
    """
    x = check_images(images, name).requires_grad_(True)
    with explaining(model, guided=guided):
        score = class_scores(model(x), target, name)
        (grad,) = torch.autograd.grad(score.sum(), x)
    return grad


def saliency(model: nn.Module, images: torch.Tensor, target: Target, *, layer: None = None) -> torch.Tensor:
    """The saliency map: the largest absolute gradient over colour channels at each pixel.

    Simonyan, Vedaldi & Zisserman (2014): ``S = max_c |d y_target / d x_c|``.

    Args:
        model: the network (run in eval mode; its mode is restored).
        images: ``(N, C, H, W)`` inputs, normalised as the model expects.
        target: one class index for all images, or one per image.
        layer: unused (the gradient is taken at the input).

    Returns:
        ``(N, H, W)``, non-negative.
    """
    return input_gradient(model, images, target, name="saliency").abs().amax(dim=1)
