"""Max, average and power-average pooling, twins of ``torch.nn.functional``'s.

Pooling slides a window over each channel separately, like a depthwise
convolution, but instead of a weighted sum it takes the window's maximum
(:func:`max_pool2d`), mean (:func:`avg_pool2d`) or ``p``-norm
(:func:`lp_pool2d`). It has no parameters. The windows are cut out by the
same strided view as im2col (:func:`cnnlib.ops.window_view`); the output
size is the convolution formula, with the stride defaulting to the kernel
size, and ``ceil_mode`` rounding up instead of down::

    H_out = floor((H + 2P - D(K - 1) - 1) / S) + 1

Max pooling's backward pass is written out (:class:`MaxPoolFunction`): the
gradient of each output goes to the input cell that was the maximum of
its window, and nowhere else; where windows overlap, the gradients that
land on one cell add up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnlib.ops._args import _AXES
from cnnlib.ops._geometry import ConvArgumentError, IntOrTuple, as_tuple, kernel_span, output_length
from cnnlib.ops.activation import relu
from cnnlib.ops.conv_im2col import window_view

__all__ = [
    "MaxPoolFunction",
    "PoolArgs",
    "avg_pool1d",
    "avg_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d",
    "max_pool2d",
    "parse_pool_args",
]


@dataclass(frozen=True)
class PoolArgs:
    """Checked pooling arguments.

    Attributes:
        x: the input, batched ``(N, C, *spatial)``.
        kernel_size, stride, padding, dilation: one int per spatial axis.
        ceil_mode: round the output size up.
        unbatched: the caller gave ``(C, *spatial)``.
    """

    x: torch.Tensor
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    unbatched: bool

    @property
    def output_size(self) -> tuple[int, ...]:
        """Output size per spatial axis (:func:`cnnlib.ops._geometry.output_length`)."""
        return tuple(output_length(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in
                     zip(self.x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation))

    def padded(self, value: float) -> torch.Tensor:
        """The input padded with ``value``: ``P`` before, and after as much as the last window needs.

        With ``ceil_mode`` the last window may hang over the right padding; it
        is padded too (its cells are never counted as real). Cells no window
        reaches are cropped (a negative pad).
        """
        pads = []
        for n, k, s, p, d, o in zip(self.x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation,
                                    self.output_size):
            needed = (o - 1) * s + kernel_span(k, d)
            pads.append((p, needed - n - p))
        return F.pad(self.x, [v for pair in reversed(pads) for v in pair], value=value)

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        """Drop the batch axis again for unbatched input."""
        return out.squeeze(0) if self.unbatched else out


def parse_pool_args(
    x: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
    *,
    nd: int,
    name: str,
) -> PoolArgs:
    """Check pooling arguments as PyTorch does (padding at most half the kernel).

    Raises:
        TypeError: the input is not a tensor, or an argument has the wrong type.
        ConvArgumentError: wrong rank, padding above half the kernel, or no output.
    """
    axes = _AXES[nd]
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: the input must be a torch.Tensor; got {type(x).__name__}.")
    if x.dim() not in (nd + 1, nd + 2):
        raise ConvArgumentError(
            f"{name} expects (N, C, {', '.join(axes)}) or unbatched (C, {', '.join(axes)}); "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}."
        )
    if not x.is_floating_point():
        raise ConvArgumentError(f"{name}: input has dtype {x.dtype}; convert it with .float().")
    k = as_tuple(kernel_size, nd, "kernel_size", minimum=1)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else as_tuple(
        stride, nd, "stride", minimum=1)
    p = as_tuple(padding, nd, "padding", minimum=0)
    d = as_tuple(dilation, nd, "dilation", minimum=1)
    if any(pp > kk // 2 for pp, kk in zip(p, k)):
        raise ConvArgumentError(
            f"{name}: padding={padding!r} must be at most half the kernel size {k} (as in PyTorch), "
            f"so that every window holds at least one real cell."
        )
    unbatched = x.dim() == nd + 1
    args = PoolArgs(x[None] if unbatched else x, k, s, p, d, bool(ceil_mode), unbatched)
    for axis, size, o, kk, dd, pp in zip(axes, args.x.shape[2:], args.output_size, k, d, p):
        if o < 1:
            raise ConvArgumentError(
                f"{name}: the window spans {kernel_span(kk, dd)} along {axis} but the padded input has only "
                f"{size + 2 * pp}; use a smaller kernel or a larger input."
            )
    return args


def _windows(args: PoolArgs, value: float) -> torch.Tensor:
    """``(N, C, K, *out)``: the ``K = prod(kernel_size)`` values of every window."""
    view = window_view(args.padded(value), args.kernel_size, args.stride, args.dilation)
    n, c = view.shape[:2]
    return view.reshape((n, c, math.prod(args.kernel_size)) + args.output_size)


def _window_cells(args: PoolArgs, taps: list[torch.Tensor]) -> torch.Tensor:
    """Flat input index (``h * W + w``, as PyTorch's indices) of tap ``taps[axis]`` of every window.

    ``taps`` holds one tensor per spatial axis, broadcastable to ``(N, C, *out)``.
    Along an axis, tap ``t`` of window ``i`` is input cell ``i S + t D - P``.
    """
    nd = len(args.kernel_size)
    flat = torch.zeros((), dtype=torch.long, device=args.x.device)
    for axis in range(nd):
        flat = flat * args.x.shape[2 + axis] + _starts(args, axis) + taps[axis] * args.dilation[axis]
    return flat


def _starts(args: PoolArgs, axis: int) -> torch.Tensor:
    """``i S - P`` for every window ``i`` along ``axis``, shaped to broadcast over ``(N, C, *out)``."""
    nd = len(args.kernel_size)
    shape = [1] * (2 + nd)
    shape[2 + axis] = args.output_size[axis]
    pos = torch.arange(args.output_size[axis], device=args.x.device).view(shape)
    return pos * args.stride[axis] - args.padding[axis]


def _argmax_cells(args: PoolArgs, values: torch.Tensor, tap: torch.Tensor) -> torch.Tensor:
    """PyTorch's index of each window's maximum, from the flat tap index of the (first) maximum.

    PyTorch starts every window at its first tap inside the input (or, for
    a window wholly in the padding, the first tap at or after cell 0) and
    moves on only for a strictly larger value or a NaN; so a window whose
    maximum is ``-inf`` keeps that starting cell.
    """
    nd = len(args.kernel_size)
    taps, rest = [], tap
    for axis in reversed(range(nd)):  # unravel the flat tap index, last axis fastest
        taps.append(rest % args.kernel_size[axis])
        rest = rest // args.kernel_size[axis]
    cells = _window_cells(args, taps[::-1])
    first = [(-_starts(args, axis)).clamp(min=0).add(args.dilation[axis] - 1).div(
        args.dilation[axis], rounding_mode="floor") for axis in range(nd)]
    return torch.where(values == float("-inf"), _window_cells(args, first), cells)


class MaxPoolFunction(torch.autograd.Function):
    """Max pooling with its backward pass written out.

    Forward: the maximum of every window and where it was (the argmax).
    Backward: ``grad_input[argmax] += grad_output``, a scatter-add, since a
    cell that is the maximum of several overlapping windows collects all
    their gradients. Every other cell gets zero.

    Ties: the first maximum of the window in row-major order wins, as in
    PyTorch's CPU kernel; a NaN counts as the maximum (and propagates); a
    window whose maximum is ``-inf`` points at its first cell inside the
    input, as PyTorch's does.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, args: PoolArgs) -> tuple[torch.Tensor, torch.Tensor]:
        values, tap = _windows(args, float("-inf")).max(dim=2)
        indices = _argmax_cells(args, values, tap)
        ctx.save_for_backward(indices)
        ctx.input_shape = x.shape
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor, _grad_indices: torch.Tensor):
        (indices,) = ctx.saved_tensors
        n, c = ctx.input_shape[:2]
        cells = math.prod(ctx.input_shape[2:])
        # A window wholly in the padding (possible with dilation) points past the input: it gets no cell.
        inside = (indices >= 0) & (indices < cells)
        grad = grad_output.new_zeros(n, c, cells)
        grad = grad.scatter_add(2, torch.where(inside, indices, 0).reshape(n, c, -1),
                                (grad_output * inside).reshape(n, c, -1))
        return grad.view(ctx.input_shape), None


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    args = parse_pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, nd=nd, name=f"max_pool{nd}d")
    values, indices = MaxPoolFunction.apply(args.x, args)
    values, indices = args.finish(values), args.finish(indices)
    return (values, indices) if return_indices else values


def max_pool1d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-D max pooling, as :func:`torch.nn.functional.max_pool1d`; see :func:`max_pool2d`.

    Args:
        input: ``(N, C, L)`` or ``(C, L)``.

    Returns:
        ``(N, C, L_out)``, and with ``return_indices`` the argmax positions in ``L``.
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling, as :func:`torch.nn.functional.max_pool2d`.

    ``Y[n, c, i, j] = max_{a, b} X_pad[n, c, i S_h + a D_h, j S_w + b D_w]``, the
    padding being ``-inf`` (it never wins). The backward pass is
    :class:`MaxPoolFunction`'s.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: int or ``(kH, kW)``.
        stride: int or ``(S_h, S_w)``; default: ``kernel_size``.
        padding: int or tuple, at most half the kernel size.
        dilation: int or tuple, spacing between the window's cells.
        ceil_mode: round the output size up (a last, partial window).
        return_indices: also return, for each output, the flat index
            ``h * W + w`` of the input cell that was the maximum.

    Returns:
        ``(N, C, H_out, W_out)``, or ``(values, indices)`` with ``return_indices``.

    Example:
        >>> x = torch.tensor([[[1., 3., 2., 0.], [4., 2., 1., 5.], [0., 1., 7., 1.], [2., 3., 1., 6.]]])
        >>> max_pool2d(x, 2, return_indices=True)
        (tensor([[[4., 5.],
                 [3., 7.]]]), tensor([[[ 4,  7],
                 [13, 10]]]))
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd):
    name = f"avg_pool{nd}d"
    args = parse_pool_args(x, kernel_size, stride, padding, 1, ceil_mode, nd=nd, name=name)
    sums = _windows(args, 0.0).sum(dim=2)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) or divisor_override == 0:
            raise ConvArgumentError(f"{name}: divisor_override={divisor_override!r} must be a nonzero int or None.")
        return args.finish(sums / divisor_override)
    # The divisor is the number of cells a window covers inside the input (and, with
    # count_include_pad, inside the padding too, but never in ceil_mode's overhang).
    # It factorises over the axes, so count along each axis and multiply.
    divisor = torch.ones((), dtype=x.dtype, device=x.device)
    for axis in range(nd):
        size, k, s, p, o = (args.x.shape[2 + axis], args.kernel_size[axis], args.stride[axis], args.padding[axis],
                            args.output_size[axis])
        ones = x.new_ones(1, 1, size)
        if count_include_pad:
            ones = F.pad(ones, (p, p), value=1.0)
            lo = 0
        else:
            lo = p
        needed = (o - 1) * s + k
        ones = F.pad(ones, (lo, needed - ones.shape[-1] - lo))
        counts = window_view(ones, (k,), (s,), (1,)).sum(dim=2).reshape(o)
        shape = [1] * nd
        shape[axis] = o
        divisor = divisor * counts.view(shape)
    return args.finish(sums / divisor)


def avg_pool1d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> torch.Tensor:
    """1-D average pooling, as :func:`torch.nn.functional.avg_pool1d`; see :func:`avg_pool2d`."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """2-D average pooling, as :func:`torch.nn.functional.avg_pool2d`.

    ``Y[n, c, i, j] = sum_{a, b} X_pad[n, c, i S_h + a, j S_w + b] / divisor``.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: int or ``(kH, kW)``.
        stride: int or tuple; default: ``kernel_size``.
        padding: zeros on each side, at most half the kernel size.
        ceil_mode: round the output size up.
        count_include_pad: divide by the window's size including its padded
            cells (``kH kW`` away from ceil_mode's overhang); ``False``: by
            the number of real input cells in it.
        divisor_override: divide every sum by this number instead.

    Returns:
        ``(N, C, H_out, W_out)``.
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def _lp_pool(x, norm_type, kernel_size, stride, ceil_mode, nd):
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or norm_type == 0:
        raise ConvArgumentError(f"lp_pool{nd}d: norm_type={norm_type!r} must be a nonzero number (2 for L2 pooling).")
    k = as_tuple(kernel_size, nd, "kernel_size", minimum=1)
    mean = _avg_pool(x.pow(norm_type), k, stride, 0, ceil_mode, True, None, nd)
    # As PyTorch: sign(m) relu(|m|) = m, times the window size K, to the power 1/p.
    return (torch.sign(mean) * relu(torch.abs(mean))).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(
    input: torch.Tensor,
    norm_type: float,
    kernel_size: int,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """1-D power-average pooling, as :func:`torch.nn.functional.lp_pool1d`; see :func:`lp_pool2d`."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(
    input: torch.Tensor,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """2-D power-average pooling, as :func:`torch.nn.functional.lp_pool2d`.

    ``Y = (sum_window X^p)^(1/p)``: the window's ``p``-norm. ``p = 2`` is L2
    pooling; ``p -> inf`` approaches max pooling, ``p = 1`` is sum pooling.
    The root mean square of the window is ``Y / K^(1/p)`` with ``K = kH kW``.
    No padding (as in PyTorch); in ``ceil_mode`` the partial windows' sums are
    computed as PyTorch does (their mean times ``K``).

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        norm_type: ``p``.
        kernel_size: int or ``(kH, kW)``.
        stride: int or tuple; default: ``kernel_size``.
        ceil_mode: round the output size up.

    Returns:
        ``(N, C, H_out, W_out)``.
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)
