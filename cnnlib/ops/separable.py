"""Convolutions split into cheaper pieces: depthwise separable, spatially separable, flattened.

* **Depthwise separable** (Xception, MobileNet): a depthwise ``K x K``
  convolution filters each channel on its own (``groups = C_in``), then a
  pointwise ``1 x 1`` convolution mixes channels. Cost relative to a
  standard convolution: ``1 / C_out + 1 / K^2`` (:func:`cnnlib.arith.separable_cost_ratio`).
* **Spatially separable**: a ``kH x kW`` kernel that is an outer product
  ``col row^T`` (rank 1, like Sobel ``[1, 2, 1]^T [1, 0, -1]``) is a
  ``kH x 1`` filter followed by a ``1 x kW`` one: ``kH + kW`` instead of
  ``kH kW`` multiplications per pixel. The SVD writes *any* kernel as a sum
  of such products, ``K = sum_r s_r u_r v_r^T``; its rank says how many.
* **Flattened** (Jin et al., 2014): every 3-D filter is the outer product
  of three 1-D filters, across channels, down the rows, along the columns:
  ``W[o, c, y, x] = a[o, c] b[o, y] d[o, x]``, applied as a ``1 x 1``
  convolution, then a depthwise ``kH x 1``, then a depthwise ``1 x kW``.
"""
from __future__ import annotations

import torch

from cnnlib.ops._geometry import ConvArgumentError, IntOrTuple, as_tuple
from cnnlib.ops.conv import conv2d

__all__ = [
    "flattened_conv2d",
    "flattened_weight",
    "kernel_rank",
    "separable_conv2d",
    "separable_filter2d",
    "separate_kernel",
]


def _channels(input: torch.Tensor, name: str) -> int:
    if not isinstance(input, torch.Tensor) or input.dim() not in (3, 4):
        shape = tuple(input.shape) if isinstance(input, torch.Tensor) else type(input).__name__
        raise ConvArgumentError(f"{name} expects an input (N, C, H, W) or (C, H, W); got {shape}.")
    return input.shape[-3]


def separable_conv2d(
    input: torch.Tensor,
    depthwise_weight: torch.Tensor,
    pointwise_weight: torch.Tensor,
    depthwise_bias: torch.Tensor | None = None,
    pointwise_bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """Depthwise separable convolution: depthwise ``K x K`` per channel, then pointwise ``1 x 1``.

    ``Y = conv2d(conv2d(X, W_dw, groups=C_in), W_pw)``; stride, padding and
    dilation belong to the depthwise step.

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        depthwise_weight: ``(C_in * M, 1, kH, kW)``, ``M`` filters per input
            channel (the depth multiplier, usually 1).
        pointwise_weight: ``(C_out, C_in * M, 1, 1)``.
        depthwise_bias: ``(C_in * M,)`` or ``None``.
        pointwise_bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation: of the depthwise convolution, as in :func:`cnnlib.ops.conv2d`.
        method: ``"im2col"``, ``"fft"`` or ``"loops"``.

    Returns:
        ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2P - D(kH - 1) - 1) // S + 1``.
    """
    c_in = _channels(input, "separable_conv2d")
    if not isinstance(depthwise_weight, torch.Tensor) or depthwise_weight.dim() != 4 or depthwise_weight.shape[1] != 1:
        shape = tuple(depthwise_weight.shape) if isinstance(depthwise_weight, torch.Tensor) else depthwise_weight
        raise ConvArgumentError(
            f"separable_conv2d: depthwise_weight must be (C_in * M, 1, kH, kW), one filter per channel; got {shape}."
        )
    if not isinstance(pointwise_weight, torch.Tensor) or pointwise_weight.dim() != 4 or (
        tuple(pointwise_weight.shape[1:]) != (depthwise_weight.shape[0], 1, 1)
    ):
        shape = tuple(pointwise_weight.shape) if isinstance(pointwise_weight, torch.Tensor) else pointwise_weight
        raise ConvArgumentError(
            f"separable_conv2d: pointwise_weight must be (C_out, {depthwise_weight.shape[0]}, 1, 1), a 1x1 "
            f"convolution over the depthwise step's channels; got {shape}."
        )
    y = conv2d(input, depthwise_weight, depthwise_bias, stride, padding, dilation, groups=c_in, method=method)
    return conv2d(y, pointwise_weight, pointwise_bias, method=method)


def _check_kernel(kernel: torch.Tensor, name: str) -> None:
    if not isinstance(kernel, torch.Tensor) or kernel.dim() != 2 or not kernel.is_floating_point():
        shape = tuple(kernel.shape) if isinstance(kernel, torch.Tensor) else type(kernel).__name__
        raise ConvArgumentError(f"{name}: kernel must be a 2-D floating-point tensor (kH, kW); got {shape}.")


def kernel_rank(kernel: torch.Tensor, rtol: float = 1e-6) -> int:
    """Number of outer products a 2-D kernel needs: its numerical rank.

    The singular values above ``rtol`` times the largest one are counted
    (0 for an all-zero kernel). Rank 1 means spatially separable.

    Example:
        >>> kernel_rank(torch.tensor([[1., 0., -1.], [2., 0., -2.], [1., 0., -1.]]))   # Sobel
        1
    """
    _check_kernel(kernel, "kernel_rank")
    s = torch.linalg.svdvals(kernel.detach())
    if s.numel() == 0 or s[0] == 0:
        return 0
    return int((s > rtol * s[0]).sum())


def separate_kernel(
    kernel: torch.Tensor, rank: int | None = None, rtol: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split a 2-D kernel into a sum of outer products by the SVD.

    ``kernel = U diag(s) V^T = sum_r (sqrt(s_r) u_r) (sqrt(s_r) v_r)^T``; keeping
    the ``rank`` largest terms gives the best approximation of that rank
    (least squares, Eckart-Young).

    Args:
        kernel: ``(kH, kW)``.
        rank: how many terms to keep; default: :func:`kernel_rank` (exact).
        rtol: relative tolerance for the default rank.

    Returns:
        ``(columns, rows, singular_values)``: ``columns (R, kH)`` and ``rows (R, kW)``
        with ``kernel ~= sum_r outer(columns[r], rows[r])``, and all
        ``min(kH, kW)`` singular values, largest first.
    """
    _check_kernel(kernel, "separate_kernel")
    u, s, vh = torch.linalg.svd(kernel, full_matrices=False)
    r = max(kernel_rank(kernel, rtol), 1) if rank is None else rank
    if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= s.numel():
        raise ConvArgumentError(f"separate_kernel: rank={rank!r} must be an int from 1 to min(kH, kW) = {s.numel()}.")
    scale = s[:r].sqrt()
    return u[:, :r].T * scale[:, None], vh[:r] * scale[:, None], s


def separable_filter2d(
    input: torch.Tensor,
    columns: torch.Tensor,
    rows: torch.Tensor,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """Filter every channel with ``K = sum_r outer(columns[r], rows[r])``, one 1-D pass per axis.

    A ``kH x 1`` pass down the columns makes ``R`` intermediate maps per
    channel; a ``1 x kW`` pass along the rows filters and sums them. Equal
    to a depthwise :func:`cnnlib.ops.conv2d` with ``K`` on every channel, at
    ``R (kH + kW)`` instead of ``kH kW`` multiplications per output.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        columns: ``(R, kH)`` (or ``(kH,)`` for one term).
        rows: ``(R, kW)`` (or ``(kW,)``).
        stride, padding, dilation: int or ``(h, w)``, as in :func:`cnnlib.ops.conv2d`.

    Returns:
        ``(N, C, H_out, W_out)`` (batch axis dropped for unbatched input).
    """
    c = _channels(input, "separable_filter2d")
    columns = columns[None] if columns.dim() == 1 else columns
    rows = rows[None] if rows.dim() == 1 else rows
    if columns.dim() != 2 or rows.dim() != 2 or columns.shape[0] != rows.shape[0]:
        raise ConvArgumentError(
            f"separable_filter2d: columns (R, kH) and rows (R, kW) need the same number R of terms; "
            f"got {tuple(columns.shape)} and {tuple(rows.shape)}."
        )
    s = as_tuple(stride, 2, "stride", minimum=1)
    p = as_tuple(padding, 2, "padding", minimum=0)
    d = as_tuple(dilation, 2, "dilation", minimum=1)
    unbatched = input.dim() == 3
    x = input[None] if unbatched else input
    n, _, h, w = x.shape
    flat = x.reshape(n * c, 1, h, w)  # every channel is filtered alike
    r = columns.shape[0]
    y = conv2d(flat, columns.reshape(r, 1, -1, 1), stride=(s[0], 1), padding=(p[0], 0), dilation=(d[0], 1))
    y = conv2d(y, rows.reshape(1, r, 1, -1), stride=(1, s[1]), padding=(0, p[1]), dilation=(1, d[1]))
    y = y.reshape((n, c) + y.shape[2:])
    return y[0] if unbatched else y


def flattened_weight(
    channel_weight: torch.Tensor, vertical_weight: torch.Tensor, horizontal_weight: torch.Tensor
) -> torch.Tensor:
    """The full filters a flattened convolution amounts to: ``W[o, c, y, x] = a[o, c] b[o, y] d[o, x]``.

    Args:
        channel_weight: ``a``, ``(C_out, C_in)``.
        vertical_weight: ``b``, ``(C_out, kH)``.
        horizontal_weight: ``d``, ``(C_out, kW)``.

    Returns:
        ``(C_out, C_in, kH, kW)``, each filter of rank 1 in all three directions.
    """
    return torch.einsum("oc,oy,ox->ocyx", channel_weight, vertical_weight, horizontal_weight)


def flattened_conv2d(
    input: torch.Tensor,
    channel_weight: torch.Tensor,
    vertical_weight: torch.Tensor,
    horizontal_weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """Flattened convolution: three 1-D filters, across channels, rows and columns.

    Equal to ``conv2d(input, flattened_weight(a, b, d), bias, ...)`` at
    ``C_in + kH + kW`` instead of ``C_in kH kW`` weights per filter.

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        channel_weight: ``(C_out, C_in)``, a ``1 x 1`` convolution.
        vertical_weight: ``(C_out, kH)``, one column filter per output channel.
        horizontal_weight: ``(C_out, kW)``, one row filter per output channel.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation: int or ``(h, w)``; the row part goes to the
            vertical pass, the column part to the horizontal one.
        method: the convolution underneath.

    Returns:
        ``(N, C_out, H_out, W_out)``.
    """
    _channels(input, "flattened_conv2d")
    for label, t, want in (("channel_weight", channel_weight, "(C_out, C_in)"),
                           ("vertical_weight", vertical_weight, "(C_out, kH)"),
                           ("horizontal_weight", horizontal_weight, "(C_out, kW)")):
        if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.shape[0] != channel_weight.shape[0]:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ConvArgumentError(f"flattened_conv2d: {label} must be {want} with C_out = "
                                    f"channel_weight.shape[0]; got {shape}.")
    c_out = channel_weight.shape[0]
    s = as_tuple(stride, 2, "stride", minimum=1)
    p = as_tuple(padding, 2, "padding", minimum=0)
    d = as_tuple(dilation, 2, "dilation", minimum=1)
    y = conv2d(input, channel_weight[:, :, None, None], method=method)
    y = conv2d(y, vertical_weight[:, None, :, None], None, (s[0], 1), (p[0], 0), (d[0], 1), c_out, method)
    return conv2d(y, horizontal_weight[:, None, None, :], bias, (1, s[1]), (0, p[1]), (1, d[1]), c_out, method)
