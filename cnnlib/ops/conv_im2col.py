"""Convolution as one matrix product: im2col ("image to columns") + matmul.

Every window the kernel visits is laid out as one column of a matrix
``cols`` of shape ``(C_in * K, L)``, where ``K`` is the number of kernel taps
and ``L`` the number of output positions. The filters, flattened to rows
``(C_out, C_in * K)``, then meet every window in a single matrix product::

    Y = W_flat @ cols          # (C_out, C_in*K) @ (C_in*K, L) -> (C_out, L)

and a reshape turns ``L`` back into the output's spatial axes. A matrix
product is what BLAS libraries make fast, which is why this is the classic
way (Caffe, early cuDNN) to run convolutions.

The windows are cut out by :meth:`torch.Tensor.as_strided`: a *view* whose
strides step through the padded input's memory window by window, so no
data moves until the final ``reshape`` copies the overlapping windows into
``cols``. (``torch.nn.functional.unfold`` builds the same matrix; it is used
only in the tests, as the reference for :func:`im2col`.) With groups the
channels are split into ``G`` blocks and one batched matrix product
multiplies each block by its own filters.
"""
from __future__ import annotations

import math

import torch

from cnnlib.ops._args import ConvArgs, IntOrTuple, as_tuple, pad_input, parse_conv_args

__all__ = ["window_view", "im2col", "conv_im2col"]


def window_view(
    xp: torch.Tensor,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> torch.Tensor:
    """All kernel windows of an (already padded) input, as a strided view.

    ``view[n, c, t_1..t_nd, p_1..p_nd] = xp[n, c, p_1*S_1 + t_1*D_1, ...]``:
    the kernel-tap axes come first so that, per channel, the taps and the
    positions flatten into the rows and columns of ``cols``.

    Args:
        xp: ``(N, C, *spatial)``, any strides.
        kernel_size: taps per spatial axis.
        stride: window step per axis.
        dilation: tap spacing per axis.

    Returns:
        A view ``(N, C, *kernel_size, *output_size)`` sharing ``xp``'s memory.
    """
    spatial = xp.shape[2:]
    out = tuple(
        (size - d * (k - 1) - 1) // s + 1 for size, k, s, d in zip(spatial, kernel_size, stride, dilation)
    )
    sn, sc, *ss = xp.stride()
    tap_strides = tuple(d * st for d, st in zip(dilation, ss))
    pos_strides = tuple(s * st for s, st in zip(stride, ss))
    return xp.as_strided(
        (xp.shape[0], xp.shape[1]) + tuple(kernel_size) + out,
        (sn, sc) + tap_strides + pos_strides,
        xp.storage_offset(),
    )


def im2col(
    x: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """The im2col matrix of a batch: one column per output position.

    Same result as :func:`torch.nn.functional.unfold` for 2-D input, and
    works for 1-D and 3-D input too.

    Args:
        x: ``(N, C, *spatial)`` with 1, 2 or 3 spatial axes.
        kernel_size: int or one per spatial axis.
        stride: int or one per spatial axis.
        padding: zeros on both sides, int or one per spatial axis.
        dilation: int or one per spatial axis.

    Returns:
        ``(N, C * prod(kernel_size), L)``, rows ordered channel-major
        (``c * K + tap``), ``L = prod(output_size)``.
    """
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4, 5):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"im2col expects a tensor (N, C, *spatial) with 1 to 3 spatial axes; got {shape}.")
    nd = x.dim() - 2
    k = as_tuple(kernel_size, nd, "kernel_size", minimum=1)
    weight = x.new_empty((1, x.shape[1]) + k)  # only its shape is used, for the checks
    args = parse_conv_args(x, weight, None, stride, padding, dilation, 1, nd=nd, name="im2col")
    view = window_view(pad_input(args), k, args.stride, args.dilation)
    n, c = x.shape[:2]
    return view.reshape(n, c * math.prod(k), -1)


def conv_im2col(args: ConvArgs) -> torch.Tensor:
    """Convolution as im2col + one (batched) matrix product.

    Args:
        args: checked arguments from :func:`cnnlib.ops._args.parse_conv_args`.

    Returns:
        ``(N, C_out, *output_size)`` (batch axis dropped for unbatched input).
    """
    xp = pad_input(args)
    n, c_in = xp.shape[:2]
    g = args.groups
    c_out = args.weight.shape[0]
    taps = math.prod(args.kernel_size)
    length = math.prod(args.output_size)
    view = window_view(xp, args.kernel_size, args.stride, args.dilation)
    # (N, G, C_in/G * taps, L): the only copy of the input, unless 1x1 stride 1.
    cols = view.reshape(n, g, (c_in // g) * taps, length)
    w = args.weight.reshape(g, c_out // g, (c_in // g) * taps)
    y = torch.matmul(w, cols)  # (G, C_out/G, CK) @ (N, G, CK, L) -> (N, G, C_out/G, L)
    y = y.reshape((n, c_out) + args.output_size)
    if args.bias is not None:
        y = y + args.bias.view((1, c_out) + (1,) * args.nd)
    return args.finish(y)
