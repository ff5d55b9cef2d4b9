"""Translation equivariance, measured: does shifting the input shift the output?

A map ``f`` on images is translation equivariant when

    f(T_s(x)) = T_{s/r}(f(x))

for every shift ``s``, where ``T_s`` moves an image by ``s`` pixels and
``r`` is the map's total stride (1 for a stride-1 convolution, 2 after one
stride-2 convolution or a 2x2 pooling). A convolution with stride 1 is
equivariant exactly (away from the borders); stride and pooling keep it
only for shifts that are multiples of ``r``, because an output pixel cannot
move by half a pixel. This module measures how far a layer is from the
ideal::

    conv = torch.nn.Conv2d(1, 4, 3, padding=1)
    equivariance_error(conv, image, shifts=(3, 5))               # ~1e-7
    equivariance_error(torch.nn.MaxPool2d(2), image, shifts=(1, 1), stride=2)  # large

Shifts are circular (``torch.roll``) by default: what leaves one edge comes
back at the other, so the comparison has no missing pixels. Put the content
on a blank canvas (:func:`pad_to_canvas`) and the wrap-around only moves
zeros, which is what a zero-filled shift would do.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["shift", "pad_to_canvas", "equivariance_error", "equivariance_curve", "accuracy_under_shifts"]


def _check_pair(name: str, value) -> tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name} must be an int or a pair of ints (rows, cols); got {value!r}.")
    return int(value[0]), int(value[1])


def shift(x: torch.Tensor, shifts: int | tuple[int, int], *, circular: bool = False) -> torch.Tensor:
    """Move images by whole pixels: ``T_s(x)``.

    Args:
        x: shape ``(..., H, W)``; any leading dimensions (batch, channels).
        shifts: ``(dy, dx)``: positive ``dy`` moves content down, positive
            ``dx`` moves it right; an int moves both ways by that amount.
        circular: wrap around the edges (``torch.roll``) instead of filling
            the uncovered border with zeros.

    Returns:
        A tensor of the same shape as ``x``: ``out[..., i, j] = x[..., i - dy, j - dx]``,
        zero (or wrapped) where ``i - dy`` or ``j - dx`` falls outside.
    """
    dy, dx = _check_pair("shifts", shifts)
    if x.ndim < 2:
        raise ValueError(f"shift expects images of shape (..., H, W); got shape {tuple(x.shape)}.")
    if circular:
        return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    height, width = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dy) >= height or abs(dx) >= width:
        return out
    src_rows = slice(max(0, -dy), height - max(0, dy))
    dst_rows = slice(max(0, dy), height - max(0, -dy))
    src_cols = slice(max(0, -dx), width - max(0, dx))
    dst_cols = slice(max(0, dx), width - max(0, -dx))
    out[..., dst_rows, dst_cols] = x[..., src_rows, src_cols]
    return out


def pad_to_canvas(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Centre images on a larger blank (zero) canvas.

    Args:
        x: shape ``(..., H, W)``.
        size: ``(H_out, W_out)`` of the canvas, at least ``(H, W)``.

    Returns:
        Shape ``(..., H_out, W_out)``, ``x`` in the middle and zeros around it.
    """
    out_h, out_w = _check_pair("size", size)
    height, width = x.shape[-2:]
    if out_h < height or out_w < width:
        raise ValueError(f"pad_to_canvas: the canvas {out_h}x{out_w} is smaller than the images {height}x{width}.")
    top, left = (out_h - height) // 2, (out_w - width) // 2
    return F.pad(x, (left, out_w - width - left, top, out_h - height - top))


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = b.norm().item()
    return (a - b).norm().item() / scale if scale > 0 else (a - b).norm().item()


@torch.no_grad()
def equivariance_error(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    shifts: int | tuple[int, int],
    *,
    stride: int = 1,
    circular: bool = True,
) -> float:
    """Relative distance between ``f(T_s(x))`` and ``T_{s/r}(f(x))``.

    .. math::

        e = \\frac{\\lVert f(T_s x) - T_{s/r} f(x) \\rVert}{\\lVert f(x) \\rVert}

    ``e`` is 0 for an equivariant map and of order 1 when shifting the input
    scrambles the output. When a shift is not a multiple of ``stride`` the
    output would have to move by a fraction of a pixel; the error is then
    measured against the best whole-pixel output shift (the floor or the
    ceiling of ``s/r`` per axis), which is the most charitable reading.

    Args:
        f: any map from images ``(N, C, H, W)`` to feature maps
            ``(N, C', H', W')``, e.g. a ``torch.nn.Conv2d`` or a
            ``torch.nn.Sequential``.
        x: images of shape ``(N, C, H, W)``.
        shifts: ``(dy, dx)`` in input pixels, or an int for both.
        stride: ``r``, the total stride of ``f`` (output pixel = ``r`` input pixels).
        circular: shift with wrap-around (see the module docstring). With
            ``False`` the uncovered border is filled with zeros and left out
            of the comparison (a zero is not what ``f`` computes there).

    Returns:
        ``e`` as a Python float.
    """
    name = "equivariance_error"
    dy, dx = _check_pair("shifts", shifts)
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
        raise ValueError(f"{name}: stride must be a positive int (the map's total stride); got {stride!r}.")
    if x.ndim != 4:
        raise ValueError(f"{name} expects images of shape (N, C, H, W); got shape {tuple(x.shape)}.")
    out = f(x)
    out_shifted_input = f(shift(x, (dy, dx), circular=circular))
    if out.shape != out_shifted_input.shape:
        raise ValueError(f"{name}: f changed its output shape under a shift ({tuple(out.shape)} vs "
                         f"{tuple(out_shifted_input.shape)}); it must map images to feature maps.")
    candidates_y = sorted({math.floor(dy / stride), math.ceil(dy / stride)})
    candidates_x = sorted({math.floor(dx / stride), math.ceil(dx / stride)})
    errors = []
    for cy in candidates_y:
        for cx in candidates_x:
            expected = shift(out, (cy, cx), circular=circular)
            if circular:
                errors.append(_relative_error(out_shifted_input, expected))
            else:  # the zero fill is not f's output there: compare only the rows and columns both cover
                window = _covered(out.shape[-2:], cy, cx)
                errors.append(_relative_error(out_shifted_input[window], expected[window]))
    return min(errors)


def _covered(size: torch.Size, dy: int, dx: int) -> tuple:
    """Index of the ``(..., H, W)`` region a zero-filled shift by ``(dy, dx)`` keeps."""
    height, width = size
    rows = slice(max(0, dy), height - max(0, -dy))
    cols = slice(max(0, dx), width - max(0, -dx))
    return (..., rows, cols)


def equivariance_curve(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    shifts: range | list[int],
    *,
    stride: int = 1,
    axis: str = "cols",
    circular: bool = True,
) -> list[float]:
    """:func:`equivariance_error` for a sweep of shifts along one axis.

    Args:
        f, x, stride, circular: as in :func:`equivariance_error`.
        shifts: the shifts to try, in input pixels.
        axis: ``"cols"`` (move right) or ``"rows"`` (move down).

    Returns:
        One error per shift, in order.
    """
    if axis not in ("rows", "cols"):
        raise ValueError(f"equivariance_curve: axis must be 'rows' or 'cols'; got {axis!r}.")
    pairs = [(s, 0) if axis == "rows" else (0, s) for s in shifts]
    return [equivariance_error(f, x, pair, stride=stride, circular=circular) for pair in pairs]


def accuracy_under_shifts(
    predict: torch.nn.Module | Callable[[torch.Tensor], torch.Tensor | np.ndarray],
    images: torch.Tensor,
    labels: torch.Tensor,
    shifts: Sequence[int | tuple[int, int]],
    *,
    batch_size: int = 512,
) -> list[float]:
    """Accuracy of a classifier on test images moved by each shift (zero fill).

    A classifier is translation *invariant* when its accuracy does not depend
    on the shift; this measures how far from that it is.

    Args:
        predict: a ``torch.nn.Module`` returning ``(N, C)`` logits (run in eval
            mode under ``no_grad``, on the model's device, and put back in the
            mode it was in), or any function from images ``(N, C, H, W)`` to
            predicted classes ``(N,)`` (e.g. HOG features and a linear classifier).
        images: ``(N, C, H, W)`` test images.
        labels: ``(N,)`` their classes.
        shifts: ``(dy, dx)`` pairs, or ints meaning ``(0, dx)`` (a move to the right).
        batch_size: images per forward pass.

    Returns:
        One accuracy in ``[0, 1]`` per shift.
    """
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"accuracy_under_shifts expects images (N, C, H, W) and labels (N,); got "
                         f"{tuple(images.shape)} and {tuple(labels.shape)}.")
    is_module = isinstance(predict, torch.nn.Module)
    if is_module:
        first = next(predict.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        was_training = predict.training
        predict.eval()
    results = []
    try:
        for s in shifts:
            pair = (0, s) if isinstance(s, int) else s
            moved = shift(images, pair)
            if is_module:
                with torch.no_grad():
                    guesses = torch.cat([predict(moved[i:i + batch_size].to(device)).argmax(1).cpu()
                                         for i in range(0, len(moved), batch_size)])
            else:
                guesses = torch.as_tensor(np.asarray(predict(moved)))
            results.append((guesses.long() == labels.cpu()).float().mean().item())
    finally:
        if is_module:
            predict.train(was_training)
    return results
