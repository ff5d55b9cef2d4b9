"""Activation maps: what one layer outputs for an image."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, check_images, forward
from cnnlib.explain._hooks import explaining

__all__ = ["activation_maps"]


@torch.no_grad()
def activation_maps(model: nn.Module, images: torch.Tensor, target: Target | None = None, *,
                    layer: nn.Module) -> torch.Tensor:
    """The output of ``layer`` for each image; the forward pass stops there.

    Args:
        model: the network (run in eval mode; its mode is restored).
        images: ``(N, C, H, W)`` inputs, normalised as the model expects.
        target: unused (activations do not depend on a class); accepted so that
            every method in :mod:`cnnlib.explain` has the same call shape.
        layer: a submodule of ``model`` with a 4-D output.

    Returns:
        ``(N, K, h, w)``: the layer's ``K`` feature maps.
    """
    x = check_images(images, "activation_maps")
    with explaining(model, stop_after=layer) as rec:
        forward(model, x)
    out = rec[layer]
    if out.ndim != 4:
        raise ValueError(f"activation_maps: the layer's output has shape {tuple(out.shape)}; pick a convolutional "
                         "layer or block, whose output is (N, K, h, w).")
    return out.detach().clone()
