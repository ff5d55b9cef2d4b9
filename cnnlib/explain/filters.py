"""The first convolution layer's filters, the only ones that can be shown as images."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["first_layer_filters"]


def first_layer_filters(model: nn.Module, *, layer: nn.Conv2d | None = None) -> torch.Tensor:
    """The weights of the first ``nn.Conv2d`` (or of ``layer``), each scaled to ``[0, 1]`` for display.

    Each filter is shifted and scaled by its own minimum and maximum over all its
    channels, so the colours between channels keep their ratios.

    Args:
        model: the network.
        layer: a convolution to show instead of the first one.

    Returns:
        ``(K, C, kh, kw)`` in ``[0, 1]``: ``K`` filters of ``C`` input channels.
    """
    conv = layer if layer is not None else next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if not isinstance(conv, nn.Conv2d):
        raise ValueError("first_layer_filters: the model has no nn.Conv2d (pass layer= a convolution to show).")
    w = conv.weight.detach().clone().float()
    lo = w.amin(dim=(1, 2, 3), keepdim=True)
    hi = w.amax(dim=(1, 2, 3), keepdim=True)
    return (w - lo) / (hi - lo).clamp_min(1e-12)
