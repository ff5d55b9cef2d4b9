"""Grad-CAM (Selvaraju et al., 2017): channel weights from gradients, any convolutional layer."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, check_images, class_scores
from cnnlib.explain._hooks import explaining

__all__ = ["grad_cam", "grad_cam_from"]


def grad_cam_from(activations: torch.Tensor, gradients: torch.Tensor, *, relu: bool = True) -> torch.Tensor:
    """Grad-CAM from a layer's activations ``A`` and the gradients ``dy/dA``, both ``(N, K, h, w)``.

    ``alpha_k = mean_{i,j} dy/dA_k[i, j]`` and ``L = ReLU(sum_k alpha_k A_k)``.

    Returns:
        ``(N, h, w)``.
    """
    if activations.shape != gradients.shape or activations.ndim != 4:
        raise ValueError(f"grad_cam_from: activations and gradients must share one (N, K, h, w) shape, got "
                         f"{tuple(activations.shape)} and {tuple(gradients.shape)}.")
    alpha = gradients.mean(dim=(2, 3), keepdim=True)
    maps = (alpha * activations).sum(dim=1)
    return maps.clamp(min=0) if relu else maps


def grad_cam(model: nn.Module, images: torch.Tensor, target: Target, *, layer: nn.Module,
             relu: bool = True) -> torch.Tensor:
    """The Grad-CAM map of ``layer`` for each image's target class.

    Args:
        model: the network (run in eval mode; its mode is restored).
        images: ``(N, C, H, W)`` inputs, normalised as the model expects.
        target: one class index for all images, or one per image.
        layer: any submodule with a 4-D output ``(N, K, h, w)`` that is not
            modified in place afterwards (a block's output, e.g. ``model.features[-1]``).
        relu: keep only the positive evidence (the paper's choice).

    Returns:
        ``(N, h, w)`` at the layer's resolution; :func:`cnnlib.explain.upsample`
        brings it to the image's size.
    """
    x = check_images(images, "grad_cam").requires_grad_(True)
    with explaining(model, record=[layer]) as rec:
        score = class_scores(model(x), target, "grad_cam")
        acts = rec[layer]
        if acts.ndim != 4:
            raise ValueError(f"grad_cam: the layer's output has shape {tuple(acts.shape)}; Grad-CAM needs a "
                             "convolutional layer or block with output (N, K, h, w).")
        (grads,) = torch.autograd.grad(score.sum(), acts)
    return grad_cam_from(acts.detach(), grads, relu=relu)
