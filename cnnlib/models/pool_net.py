"""A small digit classifier whose only difference is its pooling: max or anti-aliased.

Chapter 5 trains both in seconds and counts how often a one-pixel shift of
the input changes the prediction. The anti-aliased layer is the paper's
max-blur-pool (Zhang, 2019), written with ``torch.nn.functional.conv2d`` for
speed; it computes the same numbers as :func:`cnnlib.ops.max_blur_pool2d`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.ops.pool_blend import binomial_filter

__all__ = ["MaxBlurPool2d", "POOLINGS", "pool_cnn"]

#: The pooling layers :func:`pool_cnn` accepts.
POOLINGS = ("max", "blur")


class MaxBlurPool2d(nn.Module):
    """Max over 2x2 windows at stride 1, then a binomial blur and stride 2 (no parameters).

    Args:
        filt_size: side of the binomial filter (1 to 7; 1 is plain max pooling at stride 2).

    Shape:
        ``(N, C, H, W) -> (N, C, ceil((H - 1) / 2), ceil((W - 1) / 2))``.
    """

    def __init__(self, filt_size: int = 3) -> None:
        super().__init__()
        self.filt_size = filt_size
        self.register_buffer("filt", binomial_filter(filt_size)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(x, 2, stride=1)
        if self.filt_size == 1:
            return x[..., ::2, ::2]
        lo, hi = (self.filt_size - 1) // 2, self.filt_size // 2
        x = F.pad(x, (lo, hi, lo, hi), mode="reflect")
        c = x.shape[1]
        return F.conv2d(x, self.filt.expand(c, 1, -1, -1), stride=2, groups=c)


def pool_cnn(pool: str = "max", *, input_size: int = 16, channels: tuple[int, int] = (8, 16),
             num_classes: int = 10, batch_norm: bool = False) -> nn.Sequential:
    """Two Conv-ReLU-Pool (or Conv-BN-ReLU-Pool) stages and a linear layer.

    Args:
        pool: ``"max"`` (``nn.MaxPool2d(2)``) or ``"blur"`` (:class:`MaxBlurPool2d`).
        input_size: the side of the square ``(N, 1, H, H)`` images, a multiple of 4.
        channels: output channels of the two 3x3 convolutions.
        num_classes: outputs.
        batch_norm: put ``nn.BatchNorm2d`` between each convolution (then without bias) and its ReLU.

    Returns:
        The model. Both poolings shrink ``H`` to ``H / 2`` when ``H`` is even,
        so the two models have the same parameters.
    """
    if input_size < 4 or input_size % 4:
        raise ValueError(f"pool_cnn: input_size={input_size} must be a positive multiple of 4.")
    if pool not in POOLINGS:
        raise ValueError(f"pool_cnn: pool={pool!r}; use one of {', '.join(POOLINGS)}.")
    c1, c2 = channels

    def make_pool() -> nn.Module:
        return nn.MaxPool2d(2) if pool == "max" else MaxBlurPool2d()

    def stage(c_in: int, c_out: int) -> list[nn.Module]:
        norm = [nn.BatchNorm2d(c_out)] if batch_norm else []
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm), *norm, nn.ReLU(), make_pool()]

    return nn.Sequential(
        *stage(1, c1),
        *stage(c1, c2),
        nn.Flatten(), nn.Linear(c2 * (input_size // 4) ** 2, num_classes),
    )
