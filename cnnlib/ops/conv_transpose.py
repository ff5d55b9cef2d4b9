"""Transposed convolution ("deconvolution"), built from convolution twice over.

A convolution with stride ``S`` maps ``L_out`` cells to ``L`` cells, and is
linear: ``y = C x`` for a (huge, sparse) matrix ``C``. The transposed
convolution is ``C^T``: it maps ``L`` cells back to ``L_out`` (the shape,
not the values; ``C^T`` is no inverse). Two ways to compute it, both here:

1. **As a gradient.** For ``y = conv(z, W)``, the gradient of
   ``<y, g>`` with respect to ``z`` is ``C^T g``. So a transposed
   convolution of ``g`` is the input-gradient of a convolution
   (:func:`conv_transpose_via_gradient`), which is exactly how PyTorch
   implements it.
2. **As a convolution of a zero-inserted input with the flipped kernel.**
   Put ``S - 1`` zeros between neighbouring input cells, pad
   ``D(K - 1) - P`` zeros on each side (``output_padding`` more after),
   and convolve with stride 1, dilation ``D``, and the kernel flipped in
   space with its input and output channels swapped
   (:func:`conv_transpose1d`, :func:`conv_transpose2d`). This is the
   picture behind "fractionally strided convolution".

Shapes follow :func:`torch.nn.functional.conv_transpose2d`: input
``(N, C_in, *L)``, weight ``(C_in, C_out / groups, *kernel_size)`` (the
layout of the convolution it transposes, which maps ``C_out`` channels to
``C_in``), bias ``(C_out,)``, and per axis::

    L_out = (L - 1) S - 2P + D (K - 1) + output_padding + 1
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnlib.ops._args import _AXES, check_tensors
from cnnlib.ops._geometry import ConvArgumentError, IntOrTuple, as_tuple, kernel_span, transposed_output_length
from cnnlib.ops.conv import METHODS, conv_nd

__all__ = [
    "TransposeArgs",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose_via_gradient",
    "insert_zeros",
    "parse_conv_transpose_args",
    "transpose_kernel",
]


@dataclass(frozen=True)
class TransposeArgs:
    """Checked, normalised arguments of a transposed convolution.

    Attributes:
        x: input, always batched ``(N, C_in, *L)``.
        weight: ``(C_in, C_out / groups, *kernel_size)``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, output_padding, dilation: one int per spatial axis.
        groups: channel groups.
        unbatched: the caller gave ``(C_in, *L)``.
    """

    x: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    unbatched: bool

    @property
    def nd(self) -> int:
        """Number of spatial axes."""
        return self.weight.dim() - 2

    @property
    def out_channels(self) -> int:
        """``C_out = weight.shape[1] * groups``."""
        return self.weight.shape[1] * self.groups

    @property
    def output_size(self) -> tuple[int, ...]:
        """``(L - 1) S - 2P + D(K - 1) + output_padding + 1`` per axis."""
        return tuple(
            transposed_output_length(size, k, s, p, op, d)
            for size, k, s, p, op, d in zip(self.x.shape[2:], self.weight.shape[2:], self.stride, self.padding,
                                            self.output_padding, self.dilation)
        )

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        """Drop the batch axis again for unbatched input."""
        return out.squeeze(0) if self.unbatched else out


def parse_conv_transpose_args(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
    *,
    nd: int,
    name: str,
) -> TransposeArgs:
    """Check the arguments of an ``nd``-D transposed convolution, as ``F.conv_transpose*d`` does.

    Raises:
        TypeError: an argument has the wrong type.
        ConvArgumentError: shapes, channels, groups, ``output_padding`` or sizes do not fit.
    """
    axes = _AXES[nd]
    check_tensors(x, weight, bias, nd=nd, name=name,
                  w_layout=f"(C_in, C_out / groups, {', '.join('k' + a for a in axes)})")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{name}: groups must be an int; got {type(groups).__name__} {groups!r}.")
    if groups < 1:
        raise ConvArgumentError(f"{name}: groups={groups} must be at least 1.")
    if isinstance(padding, str):
        raise ConvArgumentError(
            f"{name}: padding={padding!r}; a transposed convolution takes padding as an int or a tuple of ints "
            f"(it removes P cells from each side of the output)."
        )
    stride_t = as_tuple(stride, nd, "stride", minimum=1)
    padding_t = as_tuple(padding, nd, "padding", minimum=0)
    out_pad_t = as_tuple(output_padding, nd, "output_padding", minimum=0)
    dilation_t = as_tuple(dilation, nd, "dilation", minimum=1)
    for op, s, d in zip(out_pad_t, stride_t, dilation_t):
        if op >= s and op >= d:
            raise ConvArgumentError(
                f"{name}: output_padding={output_padding!r} must be smaller than the stride ({stride!r}) or the "
                f"dilation ({dilation!r}) on every axis; it only picks among the sizes a strided convolution maps "
                f"to the same input size."
            )
    unbatched = x.dim() == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    in_channels = x.shape[1]
    if weight.shape[0] != in_channels:
        raise ConvArgumentError(
            f"{name}: the input has {in_channels} channels but weight {tuple(weight.shape)} has "
            f"weight.shape[0] = {weight.shape[0]}; a transposed convolution's weight is "
            f"(C_in, C_out / groups, ...), so weight.shape[0] must equal C_in = {in_channels}."
        )
    if in_channels % groups != 0:
        raise ConvArgumentError(
            f"{name}: groups={groups} does not divide the input's {in_channels} channels; "
            f"pick groups among the divisors of {in_channels}."
        )
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ConvArgumentError(
            f"{name}: bias must have shape (C_out,) = ({out_channels},) (weight.shape[1] * groups); "
            f"got {tuple(bias.shape)}."
        )
    if any(k == 0 for k in weight.shape[2:]):
        raise ConvArgumentError(f"{name}: weight {tuple(weight.shape)} has an empty kernel axis.")
    args = TransposeArgs(x, weight, bias, stride_t, padding_t, out_pad_t, dilation_t, groups, unbatched)
    for axis, size, length in zip(axes, x.shape[2:], args.output_size):
        if length < 1:
            raise ConvArgumentError(
                f"{name}: along {axis} the output would have (L - 1) S - 2P + D(K - 1) + output_padding + 1 = "
                f"{length} cells (L={size}); use less padding, a larger kernel or a larger input."
            )
    return args


def insert_zeros(x: torch.Tensor, stride: IntOrTuple) -> torch.Tensor:
    """Put ``S - 1`` zeros between neighbouring cells along each spatial axis.

    Args:
        x: ``(N, C, *L)``.
        stride: ``S``, int or one per spatial axis.

    Returns:
        ``(N, C, *((L - 1) S + 1))`` with ``out[..., i S] = x[..., i]`` and zeros between.

    Example:
        >>> insert_zeros(torch.tensor([[[1., 2., 3.]]]), 2)
        tensor([[[1., 0., 2., 0., 3.]]])
    """
    nd = x.dim() - 2
    s = as_tuple(stride, nd, "stride", minimum=1)
    out = x.new_zeros(x.shape[:2] + tuple((size - 1) * st + 1 if size else 0 for size, st in zip(x.shape[2:], s)))
    out[(slice(None), slice(None)) + tuple(slice(None, None, st) for st in s)] = x
    return out


def transpose_kernel(weight: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """The convolution kernel that a transposed convolution's weight amounts to.

    Swap input and output channels within each group and flip every
    spatial axis: ``(C_in, C_out / G, *k)`` becomes ``(C_out, C_in / G, *k)`` with
    ``new[g C_out/G + o, i, t] = weight[g C_in/G + i, o, K - 1 - t]``.
    """
    c_in, c_out_g = weight.shape[:2]
    k = weight.shape[2:]
    w = weight.reshape((groups, c_in // groups, c_out_g) + k).transpose(1, 2)
    w = w.reshape((groups * c_out_g, c_in // groups) + k)
    return torch.flip(w, dims=tuple(range(2, weight.dim())))


def _conv_transpose(args: TransposeArgs, method: str) -> torch.Tensor:
    # Zero-insert, pad D(K-1) - P per side (+ output_padding after; negative pads crop),
    # then a stride-1 convolution with the flipped, channel-swapped kernel.
    z = insert_zeros(args.x, args.stride)
    pads = []
    for k, p, op, d in zip(args.weight.shape[2:], args.padding, args.output_padding, args.dilation):
        edge = kernel_span(k, d) - 1 - p
        pads.append((edge, edge + op))
    z = F.pad(z, [v for pair in reversed(pads) for v in pair])
    w = transpose_kernel(args.weight, args.groups)
    y = conv_nd(z, w, args.bias, 1, 0, args.dilation, args.groups, method, nd=args.nd)
    return args.finish(y)


def conv_transpose_via_gradient(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """Transposed convolution as the input-gradient of a convolution.

    Build the convolution ``y = conv(z, weight)`` (stride, padding, dilation,
    groups as given) on an input ``z`` of the transposed output's size; the
    gradient of ``<y, input>`` with respect to ``z`` is the transposed
    convolution of ``input``. Because ``y`` is linear in ``z``, the values of
    ``z`` (zeros here) do not matter. The result is differentiable with
    respect to ``input``, ``weight`` and ``bias`` (double backward).

    Args:
        input: ``(N, C_in, *L)`` or unbatched ``(C_in, *L)``; 1, 2 or 3 spatial axes.
        weight: ``(C_in, C_out / groups, *kernel_size)``.
        bias, stride, padding, output_padding, groups, dilation: as in :func:`conv_transpose2d`.

    Returns:
        The same tensor as :func:`conv_transpose2d` (up to rounding).
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() not in (3, 4, 5):
        raise ConvArgumentError("conv_transpose_via_gradient: weight must be a (C_in, C_out / groups, *kernel) "
                                "tensor with 1 to 3 spatial axes.")
    nd = weight.dim() - 2
    args = parse_conv_transpose_args(input, weight, bias, stride, padding, output_padding, groups, dilation,
                                     nd=nd, name="conv_transpose_via_gradient")
    z = args.x.new_zeros((args.x.shape[0], args.out_channels) + args.output_size, requires_grad=True)
    keep_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        y = conv_nd(z, args.weight, None, args.stride, args.padding, args.dilation, args.groups, nd=nd)
        # With output_padding >= S (allowed when it is below D) the convolution has a few more
        # outputs than the input has cells; they receive no gradient.
        extra = [o - i for o, i in zip(y.shape[2:], args.x.shape[2:])]
        g = F.pad(args.x, [v for e in reversed(extra) for v in (0, e)])
        (out,) = torch.autograd.grad(y, z, grad_outputs=g, create_graph=keep_graph)
    if args.bias is not None:
        out = out + args.bias.view((1, -1) + (1,) * nd)
    return args.finish(out)


def conv_transpose1d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """1-D transposed convolution, as :func:`torch.nn.functional.conv_transpose1d`.

    Args:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_in, C_out / groups, k)``.
        bias, stride, padding, output_padding, groups, dilation, method: as in
            :func:`conv_transpose2d`.

    Returns:
        ``(N, C_out, L_out)``, ``L_out = (L - 1) S - 2P + D(k - 1) + output_padding + 1``.
    """
    return _dispatch(input, weight, bias, stride, padding, output_padding, groups, dilation, method, 1)


def conv_transpose2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """2-D transposed convolution, as :func:`torch.nn.functional.conv_transpose2d`.

    Every input value scatters a copy of the kernel, scaled by itself, into
    the output, the copies ``S`` cells apart; overlaps add up. Computed as
    a stride-1 convolution of the zero-inserted, padded input with the
    flipped kernel (see the module docstring).

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out / groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride: int or ``(S_h, S_w)``: the spacing of the scattered copies.
        padding: int or ``(P_h, P_w)``: cells removed from each side of the output.
        output_padding: int or tuple, extra cells after the output (less than
            the stride or the dilation).
        groups: independent channel groups.
        dilation: int or tuple, spacing between kernel taps.
        method: the convolution underneath: ``"im2col"``, ``"fft"`` or ``"loops"``.

    Returns:
        ``(N, C_out, H_out, W_out)`` with
        ``H_out = (H - 1) S_h - 2P_h + D_h (kH - 1) + output_padding_h + 1``, likewise ``W_out``.

    Raises:
        ConvArgumentError: channels, groups or sizes that do not fit.

    Example (the lecture's 2x2 input, 3x3 kernel of ones, stride 2: overlaps add)::

        >>> x = torch.tensor([[[[1., 2.], [3., 4.]]]])
        >>> conv_transpose2d(x, torch.ones(1, 1, 3, 3), stride=2)
        tensor([[[[ 1.,  1.,  3.,  2.,  2.],
                  [ 1.,  1.,  3.,  2.,  2.],
                  [ 4.,  4., 10.,  6.,  6.],
                  [ 3.,  3.,  7.,  4.,  4.],
                  [ 3.,  3.,  7.,  4.,  4.]]]])
    """
    return _dispatch(input, weight, bias, stride, padding, output_padding, groups, dilation, method, 2)


def _dispatch(input, weight, bias, stride, padding, output_padding, groups, dilation, method, nd):
    name = f"conv_transpose{nd}d"
    if method not in METHODS:
        raise ConvArgumentError(f"{name}: method={method!r}; choose one of {', '.join(map(repr, METHODS))}.")
    args = parse_conv_transpose_args(input, weight, bias, stride, padding, output_padding, groups, dilation,
                                     nd=nd, name=name)
    return _conv_transpose(args, method)
