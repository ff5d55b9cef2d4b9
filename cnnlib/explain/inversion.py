"""Feature inversion (Mahendran & Vedaldi, 2015): which image has these features?"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, check_images, forward
from cnnlib.explain._hooks import explaining

__all__ = ["invert_features", "total_variation"]


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """The mean squared difference between neighbouring pixels, per image: ``(N, C, H, W) -> (N,)``."""
    dh = (images[:, :, 1:, :] - images[:, :, :-1, :]).pow(2).mean(dim=(1, 2, 3))
    dw = (images[:, :, :, 1:] - images[:, :, :, :-1]).pow(2).mean(dim=(1, 2, 3))
    return dh + dw


def invert_features(model: nn.Module, images: torch.Tensor, target: Target | None = None, *, layer: nn.Module,
                    steps: int = 200, lr: float = 0.05, tv_weight: float = 0.5, seed: int = 0,
                    bounds: tuple[float, float] | None = (-2.2, 2.7)) -> torch.Tensor:
    """Reconstruct images from ``layer``'s features alone, by gradient descent on the pixels.

    Starting from seeded noise, Adam minimises
    ``||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 + tv_weight * TV(x)`` over ``x``,
    where ``phi`` is the model up to ``layer`` (the rest never runs) and ``TV``
    is :func:`total_variation`, the prior that prefers smooth images.

    Args:
        model: the network (run in eval mode; its mode is restored; its weights
            are not changed and get no ``.grad``).
        images: ``(N, C, H, W)`` inputs ``x0``, normalised as the model expects.
        target: unused (inversion does not depend on a class).
        layer: the module whose output is matched.
        steps: Adam steps (the cost grows linearly; 1 to 5000).
        lr: Adam's learning rate.
        tv_weight: strength of the smoothness prior.
        seed: seeds the starting noise (same seed, same result).
        bounds: pixel values are clamped into this range after each step
            (ImageNet-normalised pixels lie in about ``[-2.1, 2.6]``); ``None`` for none.

    Returns:
        ``(N, C, H, W)`` reconstructions in the input's normalised space.
    """
    x0 = check_images(images, "invert_features")
    if not 1 <= int(steps) <= 5000:
        raise ValueError(f"invert_features: steps={steps} must lie between 1 and 5000.")
    params = [p for p in model.parameters()]
    frozen = [p.requires_grad for p in params]
    gen = torch.Generator().manual_seed(int(seed))
    x = (0.1 * torch.randn(x0.shape, generator=gen)).to(x0).requires_grad_(True)
    try:
        for p in params:
            p.requires_grad_(False)
        with explaining(model, stop_after=layer) as rec:
            with torch.no_grad():
                forward(model, x0)
                goal = rec[layer].detach().clone()
            norm = goal.pow(2).sum(dim=tuple(range(1, goal.ndim))).clamp_min(1e-12)
            opt = torch.optim.Adam([x], lr=lr)
            for _ in range(int(steps)):
                opt.zero_grad(set_to_none=True)
                forward(model, x)
                feats = rec[layer]
                match = (feats - goal).pow(2).sum(dim=tuple(range(1, goal.ndim))) / norm
                (match + tv_weight * total_variation(x)).sum().backward()
                opt.step()
                if bounds is not None:
                    with torch.no_grad():
                        x.clamp_(*bounds)
    finally:
        for p, flag in zip(params, frozen):
            p.requires_grad_(flag)
    return x.detach()
