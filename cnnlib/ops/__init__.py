"""Convolution from scratch: the operations the chapters build and test.

* :func:`corr2d` and :func:`convolve2d`: one channel, one kernel, plain loops.
* :func:`conv1d`, :func:`conv2d`, :func:`conv3d`: drop-in twins of
  ``torch.nn.functional.conv1d/2d/3d`` with ``method="loops" | "im2col" | "fft"``.
* :func:`im2col`: the matrix of windows behind the im2col method.

Example:
    >>> import torch
    >>> from cnnlib.ops import conv2d
    >>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    >>> conv2d(x, w, padding="same", method="fft").shape
    torch.Size([2, 4, 8, 8])
"""
from cnnlib.ops._args import ConvArgumentError
from cnnlib.ops.conv import METHODS, conv1d, conv2d, conv3d
from cnnlib.ops.conv_fft import fft_size
from cnnlib.ops.conv_im2col import clear_workspace, im2col, window_view
from cnnlib.ops.corr import convolve2d, corr2d

__all__ = [
    "METHODS",
    "ConvArgumentError",
    "clear_workspace",
    "conv1d",
    "conv2d",
    "conv3d",
    "convolve2d",
    "corr2d",
    "fft_size",
    "im2col",
    "window_view",
]
