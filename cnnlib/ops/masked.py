"""Masked convolution for PixelCNN: each pixel sees only pixels before it in raster order.

PixelCNN (van den Oord et al., 2016) generates an image one pixel at a
time, row by row, left to right. To predict pixel ``i`` from the pixels
before it in one pass, every convolution is masked: the taps below the
centre row and right of the centre on the centre row are zeroed. Two
types differ only at the centre tap:

* type **A** (first layer): the centre is masked, so output ``i`` never
  sees input ``i`` (the value it must predict);
* type **B** (later layers): the centre is kept, so output ``i`` sees the
  features at ``i``, which themselves came only from pixels before ``i``.

Channel rule (``color_groups``): with colour images the channels are
split into ``G`` consecutive groups (R, G, B for ``G = 3``), predicted in
that order. At the centre tap, an output channel in group ``g`` sees input
channels in groups ``< g`` (type A) or ``<= g`` (type B); the other taps
see every channel. ``color_groups=1`` (the default) treats all channels as
one group: type A then masks the centre for every channel pair, type B
keeps it for every pair.
"""
from __future__ import annotations

import torch

from cnnlib.ops._geometry import ConvArgumentError, IntOrTuple, as_tuple
from cnnlib.ops.conv import conv2d

__all__ = ["masked_conv2d", "pixelcnn_mask"]


def pixelcnn_mask(
    kernel_size: IntOrTuple,
    mask_type: str = "A",
    in_channels: int = 1,
    out_channels: int = 1,
    color_groups: int = 1,
) -> torch.Tensor:
    """The 0/1 PixelCNN mask for a weight ``(out_channels, in_channels, kH, kW)``.

    Args:
        kernel_size: int or ``(kH, kW)``, both odd (the kernel needs a centre).
        mask_type: ``"A"`` (centre masked) or ``"B"`` (centre kept).
        in_channels, out_channels: channel counts of the weight.
        color_groups: channel groups predicted in order (see the module docstring);
            must divide both channel counts.

    Returns:
        A float tensor ``(out_channels, in_channels, kH, kW)`` of zeros and ones.

    Example:
        >>> pixelcnn_mask(3, "A")[0, 0]
        tensor([[1., 1., 1.],
                [1., 0., 0.],
                [0., 0., 0.]])
    """
    kh, kw = as_tuple(kernel_size, 2, "kernel_size", minimum=1)
    if kh % 2 == 0 or kw % 2 == 0:
        raise ConvArgumentError(f"pixelcnn_mask: kernel_size {(kh, kw)} must be odd on both axes so it has a centre.")
    if mask_type not in ("A", "B"):
        raise ConvArgumentError(f"pixelcnn_mask: mask_type={mask_type!r}; use 'A' (first layer) or 'B' (later layers).")
    for label, c in (("in_channels", in_channels), ("out_channels", out_channels), ("color_groups", color_groups)):
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise ConvArgumentError(f"pixelcnn_mask: {label}={c!r} must be a positive int.")
    if in_channels % color_groups or out_channels % color_groups:
        raise ConvArgumentError(
            f"pixelcnn_mask: color_groups={color_groups} must divide in_channels={in_channels} and "
            f"out_channels={out_channels}."
        )
    ch, cw = kh // 2, kw // 2
    mask = torch.zeros(out_channels, in_channels, kh, kw)
    mask[:, :, :ch, :] = 1  # rows above the centre
    mask[:, :, ch, :cw] = 1  # left of the centre on its row
    g_out = torch.arange(out_channels) // (out_channels // color_groups)
    g_in = torch.arange(in_channels) // (in_channels // color_groups)
    allowed = g_out[:, None] > g_in[None, :] if mask_type == "A" else g_out[:, None] >= g_in[None, :]
    mask[:, :, ch, cw] = allowed.float()
    return mask


def masked_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    mask_type: str = "A",
    dilation: IntOrTuple = 1,
    color_groups: int = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """Convolution with a PixelCNN mask; output pixel ``(i, j)`` is aligned with input pixel ``(i, j)``.

    ``conv2d(input, weight * pixelcnn_mask(...), bias, padding=D(K - 1) / 2, dilation=D)``:
    stride 1 and "same" padding, so the output has the input's size and
    raster order means the same thing on both sides.

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        weight: ``(C_out, C_in, kH, kW)``, odd ``kH`` and ``kW``.
        bias: ``(C_out,)`` or ``None``.
        mask_type: ``"A"`` or ``"B"``.
        dilation: int or ``(D_h, D_w)``.
        color_groups: channel groups predicted in order (module docstring).
        method: the convolution underneath.

    Returns:
        ``(N, C_out, H, W)``; output ``(i, j)`` depends only on input pixels
        before ``(i, j)`` in raster order, plus ``(i, j)`` itself within the
        channel rule.
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ConvArgumentError("masked_conv2d: weight must be a (C_out, C_in, kH, kW) tensor.")
    d = as_tuple(dilation, 2, "dilation", minimum=1)
    mask = pixelcnn_mask(tuple(weight.shape[2:]), mask_type, weight.shape[1], weight.shape[0], color_groups)
    padding = tuple(dd * (k - 1) // 2 for dd, k in zip(d, weight.shape[2:]))
    return conv2d(input, weight * mask.to(weight), bias, 1, padding, d, 1, method)
