"""Pooling variants: mixed max-average pooling and anti-aliased (blur) pooling.

* **Mixed pooling** (Lee, Gallagher and Tu, 2016): a blend
  ``alpha * max + (1 - alpha) * average`` of the two classic poolings, with
  ``alpha`` fixed or learned (:class:`MixedPool2d` learns it through a
  sigmoid, so it stays in ``(0, 1)``).
* **Blur pooling** (Zhang, 2019, "Making convolutional networks
  shift-invariant again"): subsampling keeps every ``S``-th value, which
  aliases fine detail into coarse patterns, so that a one-pixel shift of
  the input can change the output a lot. Low-pass filtering first (a
  normalised binomial kernel such as ``[1, 2, 1]^T [1, 2, 1] / 16``, per
  channel) removes the frequencies subsampling cannot represent.
  ``max_blur_pool2d`` is the paper's replacement for max pooling: a
  dense (stride 1) max, then a blurred subsampling.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnlib.ops._geometry import ConvArgumentError, IntOrTuple
from cnnlib.ops.activation import sigmoid
from cnnlib.ops.conv import conv2d
from cnnlib.ops.pool import avg_pool2d, max_pool2d

__all__ = ["MixedPool2d", "binomial_filter", "blur_pool2d", "max_blur_pool2d", "mixed_pool2d"]


def mixed_pool2d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    alpha: float | torch.Tensor = 0.5,
) -> torch.Tensor:
    """``alpha * max_pool2d + (1 - alpha) * avg_pool2d`` over the same windows.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding: as in :func:`cnnlib.ops.max_pool2d`.
        alpha: a number or a tensor broadcastable to the output (e.g. a
            learnable scalar); 1 is max pooling, 0 average pooling.

    Returns:
        ``(N, C, H_out, W_out)``.
    """
    if not isinstance(alpha, torch.Tensor) and not 0.0 <= alpha <= 1.0:
        raise ConvArgumentError(f"mixed_pool2d: alpha={alpha!r} must be between 0 (average) and 1 (max).")
    return alpha * max_pool2d(input, kernel_size, stride, padding) + (1 - alpha) * avg_pool2d(
        input, kernel_size, stride, padding
    )


class MixedPool2d(nn.Module):
    """Mixed pooling with a learned blend ``alpha = sigmoid(logit)`` (or a fixed one).

    Args:
        kernel_size, stride, padding: as in :func:`mixed_pool2d`.
        alpha: the initial blend, in ``(0, 1)``.
        learnable: learn ``alpha`` (one scalar per layer) by gradient descent.
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 alpha: float = 0.5, learnable: bool = True) -> None:
        super().__init__()
        if not 0.0 < alpha < 1.0:
            raise ConvArgumentError(f"MixedPool2d: alpha={alpha!r} must be strictly between 0 and 1.")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        logit = torch.tensor(math.log(alpha / (1 - alpha)))
        if learnable:
            self.logit = nn.Parameter(logit)
        else:
            self.register_buffer("logit", logit)

    @property
    def alpha(self) -> torch.Tensor:
        """The current blend, ``sigmoid(logit)``."""
        return sigmoid(self.logit)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return mixed_pool2d(input, self.kernel_size, self.stride, self.padding, self.alpha.to(input.dtype))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def binomial_filter(filt_size: int = 3) -> torch.Tensor:
    """The normalised 2-D binomial low-pass filter of side ``filt_size`` (1 to 7).

    ``b b^T / sum``, ``b`` a row of Pascal's triangle: ``[1, 2, 1]`` for 3,
    ``[1, 3, 3, 1]`` for 4, ``[1, 4, 6, 4, 1]`` for 5.

    Example:
        >>> binomial_filter(3) * 16
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """
    if isinstance(filt_size, bool) or not isinstance(filt_size, int) or not 1 <= filt_size <= 7:
        raise ConvArgumentError(f"binomial_filter: filt_size={filt_size!r} must be an int from 1 to 7.")
    b = torch.tensor([math.comb(filt_size - 1, i) for i in range(filt_size)], dtype=torch.float64)
    f = b[:, None] * b[None, :]
    return (f / f.sum()).float()


def blur_pool2d(input: torch.Tensor, filt_size: int = 3, stride: int = 2, pad_mode: str = "reflect") -> torch.Tensor:
    """Anti-aliased subsampling: a binomial low-pass filter per channel, then stride ``S``.

    As the paper's ``Downsample`` layer: pad ``(filt_size - 1) // 2`` before and
    ``ceil((filt_size - 1) / 2)`` after on each axis (``pad_mode`` as in
    :func:`torch.nn.functional.pad`), then a depthwise convolution with
    :func:`binomial_filter` and stride ``S``. ``filt_size=1`` is plain
    subsampling ``x[..., ::S, ::S]``, the aliasing baseline.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        filt_size: side of the binomial filter (1 to 7; 3 is the paper's default).
        stride: subsampling factor.
        pad_mode: ``"reflect"``, ``"replicate"``, ``"circular"`` or ``"constant"`` (zeros).

    Returns:
        ``(N, C, ceil(H / S), ceil(W / S))``.
    """
    if not isinstance(input, torch.Tensor) or input.dim() not in (3, 4):
        raise ConvArgumentError("blur_pool2d expects (N, C, H, W) or (C, H, W).")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ConvArgumentError(f"blur_pool2d: stride={stride!r} must be a positive int.")
    filt = binomial_filter(filt_size).to(input)
    if filt_size == 1:
        return input[..., ::stride, ::stride]
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    lo, hi = (filt_size - 1) // 2, filt_size // 2
    x = F.pad(x, (lo, hi, lo, hi), mode=pad_mode)
    c = x.shape[1]
    y = conv2d(x, filt.expand(c, 1, filt_size, filt_size), stride=stride, groups=c)
    return y[0] if unbatched else y


def max_blur_pool2d(input: torch.Tensor, kernel_size: int = 2, filt_size: int = 3, stride: int = 2) -> torch.Tensor:
    """The paper's anti-aliased max pooling: ``blur_pool2d(max_pool2d(x, K, stride=1), filt_size, S)``.

    The dense max keeps max pooling's nonlinearity; the blur before
    subsampling removes its aliasing.
    """
    return blur_pool2d(max_pool2d(input, kernel_size, stride=1), filt_size, stride)
