"""Convolution, pooling, normalisation and activations from scratch, twins of ``torch.nn.functional``.

* :func:`corr2d` and :func:`convolve2d`: one channel, one kernel, plain loops.
* :func:`conv1d`, :func:`conv2d`, :func:`conv3d`: drop-in twins of
  ``torch.nn.functional.conv1d/2d/3d`` with ``method="loops" | "im2col" | "fft"``;
  ``groups`` gives grouped and depthwise convolution.
* :func:`im2col`: the matrix of windows behind the im2col method.
* :func:`conv_transpose1d`, :func:`conv_transpose2d`: transposed convolution as a
  convolution of the zero-inserted input with the flipped kernel, and
  :func:`conv_transpose_via_gradient`: the same as a convolution's input-gradient.
* :func:`separable_conv2d`, :func:`separate_kernel`, :func:`separable_filter2d`,
  :func:`flattened_conv2d`: convolutions split into cheaper pieces.
* :func:`masked_conv2d`, :func:`pixelcnn_mask`: PixelCNN's causal convolution.
* :func:`max_pool1d`/:func:`max_pool2d` (backward written out), :func:`avg_pool1d`/
  :func:`avg_pool2d`, :func:`lp_pool1d`/:func:`lp_pool2d`, adaptive and global
  pooling, :func:`spatial_pyramid_pool2d`, :func:`mixed_pool2d`, :func:`blur_pool2d`.
* :func:`batch_norm`, :func:`layer_norm`, :func:`group_norm`, :func:`instance_norm`.
* :func:`relu`, :func:`leaky_relu`, :func:`elu`, :func:`gelu`, :func:`silu`,
  :func:`sigmoid`, :func:`tanh`, :func:`dropout`.

None of them calls its ``torch.nn.functional`` twin; the tests compare them with it.

Example:
    >>> import torch
    >>> from cnnlib.ops import conv2d
    >>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    >>> conv2d(x, w, padding="same", method="fft").shape
    torch.Size([2, 4, 8, 8])
"""
from cnnlib.ops._geometry import ConvArgumentError
from cnnlib.ops.activation import elu, gelu, leaky_relu, relu, sigmoid, silu, tanh
from cnnlib.ops.conv import METHODS, conv1d, conv2d, conv3d
from cnnlib.ops.conv_fft import fft_size
from cnnlib.ops.conv_im2col import clear_workspace, im2col, window_view
from cnnlib.ops.conv_transpose import (
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose_via_gradient,
    insert_zeros,
    transpose_kernel,
)
from cnnlib.ops.corr import convolve2d, corr2d
from cnnlib.ops.dropout import dropout
from cnnlib.ops.masked import masked_conv2d, pixelcnn_mask
from cnnlib.ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from cnnlib.ops.pool import MaxPoolFunction, avg_pool1d, avg_pool2d, lp_pool1d, lp_pool2d, max_pool1d, max_pool2d
from cnnlib.ops.pool_adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_bins,
    adaptive_max_pool2d,
    global_avg_pool2d,
    spatial_pyramid_pool2d,
)
from cnnlib.ops.pool_blend import MixedPool2d, binomial_filter, blur_pool2d, max_blur_pool2d, mixed_pool2d
from cnnlib.ops.separable import (
    flattened_conv2d,
    flattened_weight,
    kernel_rank,
    separable_conv2d,
    separable_filter2d,
    separate_kernel,
)

__all__ = [
    "METHODS",
    "ConvArgumentError",
    "MaxPoolFunction",
    "MixedPool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_bins",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binomial_filter",
    "blur_pool2d",
    "clear_workspace",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose_via_gradient",
    "convolve2d",
    "corr2d",
    "dropout",
    "elu",
    "fft_size",
    "flattened_conv2d",
    "flattened_weight",
    "gelu",
    "global_avg_pool2d",
    "group_norm",
    "im2col",
    "insert_zeros",
    "instance_norm",
    "kernel_rank",
    "layer_norm",
    "leaky_relu",
    "lp_pool1d",
    "lp_pool2d",
    "masked_conv2d",
    "max_blur_pool2d",
    "max_pool1d",
    "max_pool2d",
    "mixed_pool2d",
    "pixelcnn_mask",
    "relu",
    "separable_conv2d",
    "separable_filter2d",
    "separate_kernel",
    "sigmoid",
    "silu",
    "spatial_pyramid_pool2d",
    "tanh",
    "transpose_kernel",
    "window_view",
]
