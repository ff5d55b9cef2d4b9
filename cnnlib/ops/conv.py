"""``conv1d``, ``conv2d`` and ``conv3d`` with a choice of implementation.

Each has the signature and semantics of its ``torch.nn.functional`` twin
(ints or tuples, ``padding="same"``/``"valid"``, batched or unbatched input,
bias, groups, dilation) plus ``method``:

* ``"loops"``: a Python loop over output positions (the definition),
* ``"im2col"``: strided windows + one matrix product (the fast default),
* ``"fft"``: products of spectra (wins for large kernels),
* ``"winograd"``: Winograd F(2x2, 3x3), 2-D 3x3 kernels with stride 1 and
  dilation 1 only (not in :data:`METHODS`, which lists the general methods).

None of them calls ``torch.nn.functional.conv*``; the tests compare all
of them against it.

Output size per spatial axis::

    H_out = floor((H + 2P - D (K - 1) - 1) / S) + 1
"""
from __future__ import annotations

from typing import Callable

import torch

from cnnlib.ops._args import ConvArgs, ConvArgumentError, IntOrTuple, PaddingArg, parse_conv_args
from cnnlib.ops.conv_fft import conv_fft
from cnnlib.ops.conv_im2col import conv_im2col
from cnnlib.ops.conv_loops import conv_loops
from cnnlib.ops.conv_winograd import conv_winograd

__all__ = ["METHODS", "conv1d", "conv2d", "conv3d", "conv_nd"]

#: The implementations, by name.
METHODS: dict[str, Callable[[ConvArgs], torch.Tensor]] = {
    "loops": conv_loops,
    "im2col": conv_im2col,
    "fft": conv_fft,
}

_NAMES = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


def conv_nd(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    method: str = "im2col",
    *,
    nd: int,
) -> torch.Tensor:
    """Convolution with ``nd`` spatial axes (1, 2 or 3); see :func:`conv2d`."""
    name = _NAMES[nd]
    if method not in METHODS and method != "winograd":
        raise ConvArgumentError(f"{name}: method={method!r}; choose one of {', '.join(map(repr, METHODS))} "
                                "or 'winograd' (3x3 kernels, stride 1, dilation 1).")
    args = parse_conv_args(x, weight, bias, stride, padding, dilation, groups, nd=nd, name=name)
    return conv_winograd(args) if method == "winograd" else METHODS[method](args)


def conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """1-D convolution (cross-correlation), as :func:`torch.nn.functional.conv1d`.

    Args:
        x: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_out, C_in / groups, k)``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation, groups, method: as in :func:`conv2d`.

    Returns:
        ``(N, C_out, L_out)`` with ``L_out = (L + 2P - D(k - 1) - 1) // S + 1``.
    """
    return conv_nd(x, weight, bias, stride, padding, dilation, groups, method, nd=1)


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """2-D convolution (cross-correlation), as :func:`torch.nn.functional.conv2d`.

    ``Y[n, o, i, j] = b[o] + sum_{c, a, b} X_pad[n, c', i S_h + a D_h, j S_w + b D_w] W[o, c, a, b]``
    where ``c'`` runs over the input channels of ``o``'s group.

    Args:
        x: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride: int or ``(S_h, S_w)``, step of the window.
        padding: int or ``(P_h, P_w)`` zeros on each side, ``"valid"`` (none)
            or ``"same"`` (output size = input size; stride 1 only; an odd
            total padding puts the extra zero after, as PyTorch does).
        dilation: int or ``(D_h, D_w)``, spacing between kernel taps.
        groups: split input and output channels into this many independent
            groups (``groups = C_in`` is a depthwise convolution).
        method: ``"loops"``, ``"im2col"``, ``"fft"``, or ``"winograd"`` (3x3
            kernels with stride 1 and dilation 1 only).

    Returns:
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` for unbatched
        input) with ``H_out = (H + 2P_h - D_h (kH - 1) - 1) // S_h + 1`` and
        likewise ``W_out``. ``"im2col"`` may return a non-contiguous tensor.

    Raises:
        ConvArgumentError: shapes, channels or groups that do not fit, a kernel
            larger than the padded input, an unknown ``method``, a layer
            ``"winograd"`` does not cover.
        TypeError: arguments of the wrong type.

    Example:
        >>> x = torch.arange(9.).reshape(1, 1, 3, 3)
        >>> w = torch.arange(4.).reshape(1, 1, 2, 2)
        >>> conv2d(x, w, method="loops")
        tensor([[[[19., 25.],
                  [37., 43.]]]])
    """
    return conv_nd(x, weight, bias, stride, padding, dilation, groups, method, nd=2)


def conv3d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """3-D convolution (cross-correlation), as :func:`torch.nn.functional.conv3d`.

    Args:
        x: ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
        weight: ``(C_out, C_in / groups, kD, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation, groups, method: as in :func:`conv2d`, with
            three entries per tuple.

    Returns:
        ``(N, C_out, D_out, H_out, W_out)``, each ``(size + 2P - D(k - 1) - 1) // S + 1``.
    """
    return conv_nd(x, weight, bias, stride, padding, dilation, groups, method, nd=3)
