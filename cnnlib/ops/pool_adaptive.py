"""Pooling to a fixed output size, whatever the input size: adaptive, global, pyramid.

Adaptive pooling is told the output size and picks the windows: along an
axis of ``L`` cells pooled to ``O`` outputs, output ``i`` covers cells
``floor(i L / O)`` up to (not including) ``ceil((i + 1) L / O)``, as in
PyTorch. Neighbouring windows may overlap by a cell; together they cover
every cell. Both the mean and the maximum over a rectangle can be taken
one axis at a time, which is how they are computed here.

* Global average pooling (Network in Network, ResNet's head) is adaptive
  average pooling to ``1 x 1``: one number per channel.
* Spatial pyramid pooling (He et al., 2014) concatenates adaptive poolings
  to several grids (``1 x 1``, ``2 x 2``, ``4 x 4``): a fixed-length vector
  from an image of any size, so a classifier head can follow convolutions
  run on any input size. (The paper's windows are ``ceil(L / O)`` wide,
  ``floor(L / O)`` apart; PyTorch's adaptive windows are used here, which
  agree when ``O`` divides ``L``.)
"""
from __future__ import annotations

from typing import Sequence

import torch

from cnnlib.ops._geometry import ConvArgumentError

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_bins",
    "adaptive_max_pool2d",
    "global_avg_pool2d",
    "spatial_pyramid_pool2d",
]


def adaptive_bins(size: int, output_size: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each of ``output_size`` windows over ``size`` cells.

    Example:
        >>> adaptive_bins(5, 3)
        [(0, 2), (1, 4), (3, 5)]
    """
    return [((i * size) // output_size, -(-((i + 1) * size) // output_size)) for i in range(output_size)]


def _parse(input, output_size, nd, name):
    if not isinstance(input, torch.Tensor) or input.dim() not in (nd + 1, nd + 2):
        got = tuple(input.shape) if isinstance(input, torch.Tensor) else type(input).__name__
        raise ConvArgumentError(f"{name} expects (N, C, *spatial) or (C, *spatial) with {nd} spatial axes; got {got}.")
    sizes = tuple(input.shape[-nd:])
    outs = (output_size,) * nd if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(outs) != nd:
        raise ConvArgumentError(f"{name}: output_size={output_size!r} needs {nd} entries.")
    outs = tuple(s if o is None else o for s, o in zip(sizes, outs))
    if any(isinstance(o, bool) or not isinstance(o, int) or o < 1 for o in outs):
        raise ConvArgumentError(f"{name}: output_size={output_size!r} must hold positive ints (or None: keep the size).")
    if any(s == 0 for s in sizes):
        raise ConvArgumentError(f"{name}: the input {tuple(input.shape)} has an empty spatial axis.")
    return sizes, outs


def _pool_axis(x: torch.Tensor, dim: int, out: int, reduce) -> torch.Tensor:
    """Pool one axis to ``out`` adaptive windows with ``reduce(slice, dim)``."""
    parts = [reduce(x.narrow(dim, lo, hi - lo), dim) for lo, hi in adaptive_bins(x.shape[dim], out)]
    return torch.stack(parts, dim=dim)


def _mean(t: torch.Tensor, dim: int) -> torch.Tensor:
    return t.mean(dim=dim)


def _max(t: torch.Tensor, dim: int) -> torch.Tensor:
    return t.amax(dim=dim)


def adaptive_avg_pool1d(input: torch.Tensor, output_size: int) -> torch.Tensor:
    """1-D adaptive average pooling, as :func:`torch.nn.functional.adaptive_avg_pool1d`."""
    _, outs = _parse(input, output_size, 1, "adaptive_avg_pool1d")
    return _pool_axis(input, input.dim() - 1, outs[0], _mean)


def adaptive_avg_pool2d(input: torch.Tensor, output_size: int | Sequence[int | None]) -> torch.Tensor:
    """2-D adaptive average pooling, as :func:`torch.nn.functional.adaptive_avg_pool2d`.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        output_size: ``O`` or ``(O_h, O_w)``; ``None`` keeps that axis's size.

    Returns:
        ``(N, C, O_h, O_w)``: each output the mean of its window (module docstring).
    """
    _, (oh, ow) = _parse(input, output_size, 2, "adaptive_avg_pool2d")
    y = _pool_axis(input, input.dim() - 2, oh, _mean)
    return _pool_axis(y, input.dim() - 1, ow, _mean)


def adaptive_max_pool2d(
    input: torch.Tensor, output_size: int | Sequence[int | None], return_indices: bool = False
) -> torch.Tensor:
    """2-D adaptive max pooling, as :func:`torch.nn.functional.adaptive_max_pool2d` (values only).

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        output_size: ``O`` or ``(O_h, O_w)``; ``None`` keeps that axis's size.
        return_indices: not supported (use :func:`cnnlib.ops.max_pool2d` for indices).

    Returns:
        ``(N, C, O_h, O_w)``, the maximum of each window. (With ties inside a
        window, autograd shares the gradient among them, where PyTorch gives
        it to one.)
    """
    if return_indices:
        raise ConvArgumentError("adaptive_max_pool2d: return_indices=True is not supported here; "
                                "cnnlib.ops.max_pool2d returns indices.")
    _, (oh, ow) = _parse(input, output_size, 2, "adaptive_max_pool2d")
    y = _pool_axis(input, input.dim() - 2, oh, _max)
    return _pool_axis(y, input.dim() - 1, ow, _max)


def global_avg_pool2d(input: torch.Tensor) -> torch.Tensor:
    """Global average pooling: the mean of each channel, ``(N, C, H, W) -> (N, C)``.

    The same numbers as ``adaptive_avg_pool2d(input, 1).flatten(1)``; a
    ``(C, H, W)`` input gives ``(C,)``.
    """
    _parse(input, 1, 2, "global_avg_pool2d")
    return input.mean(dim=(-2, -1))


def spatial_pyramid_pool2d(
    input: torch.Tensor, levels: Sequence[int] = (1, 2, 4), mode: str = "max"
) -> torch.Tensor:
    """Spatial pyramid pooling: a fixed-length vector from a feature map of any size.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``, any ``H, W``.
        levels: grid sizes; level ``l`` pools to ``l x l``.
        mode: ``"max"`` (as in the paper) or ``"avg"``.

    Returns:
        ``(N, C * sum(l^2))``: for each level, the ``(N, C, l, l)`` pooling
        flattened channel-major, levels concatenated in order.

    Example:
        >>> spatial_pyramid_pool2d(torch.randn(2, 8, 13, 17)).shape   # 8 * (1 + 4 + 16)
        torch.Size([2, 168])
    """
    pool = {"max": adaptive_max_pool2d, "avg": adaptive_avg_pool2d}.get(mode)
    if pool is None:
        raise ConvArgumentError(f"spatial_pyramid_pool2d: mode={mode!r}; use 'max' or 'avg'.")
    if not levels or any(isinstance(level, bool) or not isinstance(level, int) or level < 1 for level in levels):
        raise ConvArgumentError(f"spatial_pyramid_pool2d: levels={levels!r} must be positive ints.")
    unbatched = isinstance(input, torch.Tensor) and input.dim() == 3
    x = input[None] if unbatched else input
    parts = [pool(x, level).flatten(1) for level in levels]
    out = torch.cat(parts, dim=1)
    return out[0] if unbatched else out
