"""Guided backpropagation (Springenberg et al., 2015), ReLU6 included."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target
from cnnlib.explain.saliency import input_gradient

__all__ = ["guided_backprop"]


def guided_backprop(model: nn.Module, images: torch.Tensor, target: Target, *, layer: None = None) -> torch.Tensor:
    """The input gradient with only positive gradients passed back through each ReLU and ReLU6.

    At every ``nn.ReLU`` and ``nn.ReLU6`` the backward pass keeps a gradient only
    where the forward input was in the activation's linear range *and* the
    gradient arriving from above is positive. The forward pass is unchanged.

    Args:
        model: the network (run in eval mode; its mode is restored).
        images: ``(N, C, H, W)`` inputs, normalised as the model expects.
        target: one class index for all images, or one per image.
        layer: unused (the gradient is taken at the input).

    Returns:
        ``(N, C, H, W)``, signed.
    """
    return input_gradient(model, images, target, guided=True, name="guided_backprop")
