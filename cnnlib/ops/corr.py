"""Single-channel 2-D cross-correlation and convolution, written for reading.

Cross-correlation slides the kernel over the image and, at every position,
takes the sum of the elementwise product of the kernel and the patch under it:

    Y[i, j] = sum_a sum_b X[i + a, j + b] * K[a, b]

Convolution in the mathematical sense flips the kernel first,
``Y = corr2d(X, flip(K))``. Deep-learning libraries (``nn.Conv2d``) compute
cross-correlation and call it convolution; for a learned kernel the
difference does not matter, since learning would simply find the flipped one.
"""
from __future__ import annotations

import torch

from cnnlib.ops._args import ConvArgumentError

__all__ = ["corr2d", "convolve2d"]


def _check(x: torch.Tensor, k: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(k, torch.Tensor):
        raise TypeError(f"{name}(x, k) takes two torch.Tensors; got {type(x).__name__} and {type(k).__name__}.")
    if x.dim() != 2 or k.dim() != 2:
        raise ConvArgumentError(
            f"{name}(x, k) works on one channel: x must be (H, W) and k (kh, kw); "
            f"got x {tuple(x.shape)} and k {tuple(k.shape)}. For batches and channels use cnnlib.ops.conv2d."
        )
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        raise ConvArgumentError(
            f"{name}: the kernel {tuple(k.shape)} is larger than the input {tuple(x.shape)}, "
            f"so it fits nowhere. Pad the input or use a smaller kernel."
        )


def corr2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation of one channel with one kernel ("valid": no padding).

    ``Y[i, j] = sum_{a, b} X[i + a, j + b] * K[a, b]``, one output per position
    where the kernel fits entirely inside the input. Autograd flows through it
    (to both ``x`` and ``k``), so a kernel can be learned with it.

    Args:
        x: input ``(H, W)``.
        k: kernel ``(kh, kw)``.

    Returns:
        ``(H - kh + 1, W - kw + 1)``, in the common dtype of ``x`` and ``k``.

    Example:
        >>> corr2d(torch.arange(9.).reshape(3, 3), torch.arange(4.).reshape(2, 2))
        tensor([[19., 25.],
                [37., 43.]])
    """
    _check(x, k, "corr2d")
    kh, kw = k.shape
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    y = torch.zeros(out_h, out_w, dtype=torch.result_type(x, k), device=x.device)
    for i in range(out_h):
        for j in range(out_w):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def convolve2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """2-D convolution in the mathematical sense: cross-correlation with the flipped kernel.

    ``Y[i, j] = sum_{a, b} X[i + a, j + b] * K[kh - 1 - a, kw - 1 - b]``
    ("valid" part only, as :func:`corr2d`; equals
    ``scipy.signal.convolve2d(x, k, mode="valid")``).

    Args:
        x: input ``(H, W)``.
        k: kernel ``(kh, kw)``.

    Returns:
        ``(H - kh + 1, W - kw + 1)``.
    """
    _check(x, k, "convolve2d")
    return corr2d(x, torch.flip(k, dims=(0, 1)))
