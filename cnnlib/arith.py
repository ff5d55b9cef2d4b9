"""Convolution arithmetic: output size, parameters, multiply-adds, receptive field.

The four numbers every convolutional layer comes with, computed from its
hyperparameters alone (no tensors needed):

* output size per spatial axis: ``H_out = floor((H + 2P - D(K - 1) - 1) / S) + 1``
* learnable parameters: ``C_out * (C_in / groups) * kH * kW (+ C_out for the bias)``
* multiply-adds per image: ``C_out * H_out * W_out * (C_in / groups) * kH * kW``
* transposed convolution: ``H_out = (H - 1) S - 2P + D(K - 1) + output_padding + 1``,
  ``C_in H W (C_out / groups) kH kW`` multiply-adds (one per input value and weight)
* depthwise separable convolution: ``1 / C_out + 1 / K^2`` of a standard one's cost
* pooling: the output-size formula, no parameters, ``C H_out W_out kH kW`` window reads
* receptive field of a stack: ``r_l = r_{l-1} + D_l (K_l - 1) j_{l-1}`` with
  ``j_l = j_{l-1} S_l`` the distance between neighbouring outputs of layer
  ``l`` in input pixels (``1 + L(K - 1)`` for ``L`` stride-1 layers).

An int kernel or output size means a square (two spatial axes); give a
tuple for anything else, e.g. ``(5,)`` for a 1-D kernel.

Example (a lecture's layer: 10 filters of 5x5 on a 3 x 32 x 32 input, pad 2)::

    >>> conv_output_size(32, 5, padding=2)
    32
    >>> conv_params(3, 10, 5)
    760
    >>> conv_macs(3, 10, 5, 32)
    768000
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from cnnlib.ops._geometry import (
    ConvArgumentError,
    IntOrTuple,
    as_tuple,
    kernel_span,
    output_length,
    transposed_output_length,
)

__all__ = [
    "ReceptiveFieldRow",
    "conv_macs",
    "conv_output_size",
    "conv_params",
    "conv_transpose_macs",
    "conv_transpose_output_size",
    "conv_transpose_params",
    "pool_ops",
    "pool_output_size",
    "receptive_field",
    "receptive_field_table",
    "separable_conv_macs",
    "separable_conv_params",
    "separable_cost_ratio",
]



def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _axes(*values: object) -> int | None:
    """Number of spatial axes implied by the tuple arguments (None if all are ints)."""
    lengths = {len(v) for v in values if isinstance(v, Sequence) and not isinstance(v, str)}
    if len(lengths) > 1:
        raise ConvArgumentError(f"the tuple arguments have different lengths {sorted(lengths)}; give one entry per axis.")
    return lengths.pop() if lengths else None


def conv_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
) -> int | tuple[int, ...]:
    """Output size of a convolution (or pooling) layer along each spatial axis.

    ``H_out = floor((H + 2P - D(K - 1) - 1) / S) + 1``

    Args:
        size: input size ``H``, or one per axis, e.g. ``(H, W)``.
        kernel_size: ``K``, int or one per axis.
        stride: ``S``, int or one per axis.
        padding: ``P`` zeros on each side, int or one per axis; ``"valid"``
            (no padding) or ``"same"`` (stride 1 only: output = input size).
        dilation: ``D``, spacing between kernel taps, int or one per axis.
        ceil_mode: pooling's option: round up, keeping a last partial window
            if it starts inside the input or its left padding.

    Returns:
        An int if every argument is an int, else a tuple with one size per axis.

    Raises:
        ConvArgumentError: the kernel does not fit in the padded input (the
            output would be empty), or ``"same"`` with a stride above 1.

    Example:
        >>> conv_output_size(32, 5, padding=2)
        32
        >>> conv_output_size((224, 224), 11, stride=4, padding=2)
        (55, 55)
    """
    n = _axes(size, kernel_size, stride, padding, dilation)
    axes = n or 1
    sizes = as_tuple(size, axes, "size", minimum=1)
    ks = as_tuple(kernel_size, axes, "kernel_size", minimum=1)
    ss = as_tuple(stride, axes, "stride", minimum=1)
    ds = as_tuple(dilation, axes, "dilation", minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            ps = (0,) * axes
        elif padding == "same":
            if any(s != 1 for s in ss):
                raise ConvArgumentError(f"padding='same' needs stride 1 (got stride={stride!r}); give padding as numbers.")
            out = sizes
            return out if n else out[0]
        else:
            raise ConvArgumentError(f"padding={padding!r}; use an int, a tuple of ints, 'valid' or 'same'.")
    else:
        ps = as_tuple(padding, axes, "padding", minimum=0)
    out = []
    for h, k, s, p, d in zip(sizes, ks, ss, ps, ds):
        span = kernel_span(k, d)
        numerator = h + 2 * p - span
        if output_length(h, k, s, p, d) == 0:
            raise ConvArgumentError(
                f"the kernel spans D(K - 1) + 1 = {span} pixels but the padded input has only "
                f"H + 2P = {h} + 2*{p} = {h + 2 * p}, so (H + 2P - D(K - 1) - 1) / S + 1 = "
                f"{numerator} / {s} + 1 would give no valid output position. "
                f"Use more padding, a smaller kernel or dilation, or a larger input."
            )
        out.append(output_length(h, k, s, p, d, ceil_mode))
    return tuple(out) if n else out[0]


def _square_or_tuple(value: IntOrTuple, name: str) -> tuple[int, ...]:
    """An int means a square (two equal axes); a tuple gives one size per axis."""
    if _is_int(value):
        return as_tuple(value, 2, name, minimum=1)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0:
        return as_tuple(value, len(value), name, minimum=1)
    raise TypeError(f"{name} must be an int or a non-empty tuple of ints; got {value!r}.")


def _check_channels(in_channels: int, out_channels: int, groups: int) -> None:
    for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not _is_int(v) or v < 1:
            raise ConvArgumentError(f"{name}={v!r} must be a positive int.")
    if in_channels % groups or out_channels % groups:
        raise ConvArgumentError(
            f"groups={groups} must divide both in_channels={in_channels} and out_channels={out_channels}."
        )


def conv_params(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    bias: bool = True,
    groups: int = 1,
) -> int:
    """Number of learnable parameters of a convolutional layer.

    ``C_out * (C_in / groups) * kH * kW`` weights, plus ``C_out`` biases;
    ``(K * K * C_in + 1) * C_out`` for an ordinary layer.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out`` (the number of filters).
        kernel_size: int (square 2-D kernel) or one size per axis.
        bias: count one bias per output channel.
        groups: channel groups; each filter sees ``C_in / groups`` channels.

    Returns:
        The parameter count, equal to ``sum(p.numel() for p in layer.parameters())``
        for the matching ``nn.Conv2d``.

    Example:
        >>> conv_params(3, 10, 5)   # (5*5*3 + 1) * 10
        760
    """
    _check_channels(in_channels, out_channels, groups)
    weights = out_channels * (in_channels // groups) * math.prod(_square_or_tuple(kernel_size, "kernel_size"))
    return weights + (out_channels if bias else 0)


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple,
    groups: int = 1,
) -> int:
    """Multiply-adds of a convolutional layer for one image.

    Each of the ``C_out * H_out * W_out`` outputs is the dot product of a
    filter with a window of ``(C_in / groups) * kH * kW`` inputs. Bias
    additions are not counted. Multiply by the batch size for a batch; a
    FLOP count is usually ``2 * MACs``.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: int (square) or one size per axis.
        output_size: ``H_out`` (int: square output) or one size per axis.
        groups: channel groups.

    Returns:
        The number of multiply-adds.

    Example:
        >>> conv_macs(3, 10, 5, 32)   # 10*32*32 outputs, 75 each
        768000
    """
    _check_channels(in_channels, out_channels, groups)
    positions = math.prod(_square_or_tuple(output_size, "output_size"))
    taps = math.prod(_square_or_tuple(kernel_size, "kernel_size"))
    return out_channels * positions * (in_channels // groups) * taps


def pool_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
) -> int | tuple[int, ...]:
    """Output size of a pooling layer: :func:`conv_output_size` with pooling's defaults.

    The stride defaults to the kernel size (non-overlapping windows), as in
    ``nn.MaxPool2d``; with ``ceil_mode`` the division rounds up. A pooling
    layer has no parameters.

    Example:
        >>> pool_output_size(7, 2), pool_output_size(7, 2, ceil_mode=True)
        (3, 4)
    """
    return conv_output_size(size, kernel_size, kernel_size if stride is None else stride, padding, dilation,
                            ceil_mode)


def conv_transpose_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> int | tuple[int, ...]:
    """Output size of a transposed convolution along each spatial axis.

    ``H_out = (H - 1) S - 2P + D(K - 1) + output_padding + 1``, the size a
    convolution with the same ``K, S, P, D`` maps back to ``H``.

    Args:
        size: input size ``H``, or one per axis.
        kernel_size, stride, padding, dilation: as in :func:`conv_output_size`
            (no string padding).
        output_padding: extra cells on one side (less than ``S`` or ``D``),
            choosing among the ``S`` sizes a strided convolution maps to ``H``.

    Returns:
        An int if every argument is an int, else a tuple.

    Raises:
        ConvArgumentError: ``output_padding`` too large, or an output of size 0 or less.

    Example:
        >>> conv_transpose_output_size(2, 3, stride=1), conv_transpose_output_size(2, 3, stride=2)
        (4, 5)
    """
    n = _axes(size, kernel_size, stride, padding, output_padding, dilation)
    axes = n or 1
    sizes = as_tuple(size, axes, "size", minimum=1)
    ks = as_tuple(kernel_size, axes, "kernel_size", minimum=1)
    ss = as_tuple(stride, axes, "stride", minimum=1)
    ps = as_tuple(padding, axes, "padding", minimum=0)
    ops = as_tuple(output_padding, axes, "output_padding", minimum=0)
    ds = as_tuple(dilation, axes, "dilation", minimum=1)
    out = []
    for h, k, s, p, op, d in zip(sizes, ks, ss, ps, ops, ds):
        if op >= s and op >= d:
            raise ConvArgumentError(
                f"output_padding={op} must be smaller than the stride ({s}) or the dilation ({d}); "
                f"larger values would add outputs no input reaches."
            )
        length = transposed_output_length(h, k, s, p, op, d)
        if length < 1:
            raise ConvArgumentError(
                f"(H - 1) S - 2P + D(K - 1) + output_padding + 1 = ({h} - 1)*{s} - 2*{p} + {d}*({k} - 1) + {op} + 1 "
                f"= {length}: no output. Use less padding or a larger input."
            )
        out.append(length)
    return tuple(out) if n else out[0]


def conv_transpose_params(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    bias: bool = True,
    groups: int = 1,
) -> int:
    """Parameters of a transposed convolution: as many as the convolution it transposes.

    Its weight is ``(C_in, C_out / groups, kH, kW)``: ``C_in (C_out / groups) kH kW``
    weights plus ``C_out`` biases.

    Example:
        >>> conv_transpose_params(512, 256, 4, bias=False)   # a DCGAN generator layer
        2097152
    """
    # Its weight, (C_in, C_out / G, K, K), holds as many numbers as the matching
    # convolution's (C_out, C_in / G, K, K): both are C_in * C_out / G * K^2.
    return conv_params(in_channels, out_channels, kernel_size, bias=bias, groups=groups)


def conv_transpose_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    input_size: IntOrTuple,
    groups: int = 1,
) -> int:
    """Multiply-adds of a transposed convolution for one image.

    Every one of the ``C_in H W`` *input* values is multiplied by the
    ``(C_out / groups) kH kW`` weights it scatters to, so the count is
    ``C_in H W (C_out / groups) kH kW``, the same as the convolution that
    maps the output back to the input. (Computed as a convolution of a
    zero-inserted input, about ``S^2`` times as many multiplications are
    done, most of them by zero.)

    Example:
        >>> conv_transpose_macs(512, 256, 4, 4)   # 4x4 -> 8x8
        33554432
    """
    _check_channels(in_channels, out_channels, groups)
    positions = math.prod(_square_or_tuple(input_size, "input_size"))
    taps = math.prod(_square_or_tuple(kernel_size, "kernel_size"))
    return in_channels * positions * (out_channels // groups) * taps


def separable_conv_params(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    bias: bool = True,
    depth_multiplier: int = 1,
) -> int:
    """Parameters of a depthwise separable convolution (depthwise ``K x K``, then pointwise ``1 x 1``).

    ``C_in M kH kW`` depthwise weights plus ``C_in M C_out`` pointwise
    weights (``M`` the depth multiplier), plus ``C_in M + C_out`` biases
    when both layers have one.

    Example:
        >>> separable_conv_params(256, 256, 3, bias=False), conv_params(256, 256, 3, bias=False)
        (67840, 589824)
    """
    _check_channels(in_channels, out_channels, 1)
    _check_channels(in_channels * depth_multiplier, in_channels * depth_multiplier, 1)
    mid = in_channels * depth_multiplier
    depthwise = conv_params(in_channels, mid, kernel_size, bias, groups=in_channels)
    pointwise = conv_params(mid, out_channels, (1,) * len(_square_or_tuple(kernel_size, "kernel_size")), bias)
    return depthwise + pointwise


def separable_conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple,
    depth_multiplier: int = 1,
) -> int:
    """Multiply-adds of a depthwise separable convolution for one image.

    ``C_in M H_out W_out kH kW`` (depthwise) ``+ C_in M C_out H_out W_out``
    (pointwise); with ``M = 1`` the ratio to a standard convolution is
    :func:`separable_cost_ratio`.

    Example:
        >>> separable_conv_macs(256, 256, 3, 14), conv_macs(256, 256, 3, 14)
        (13296640, 115605504)
    """
    _check_channels(in_channels, out_channels, 1)
    _check_channels(in_channels * depth_multiplier, in_channels * depth_multiplier, 1)
    mid = in_channels * depth_multiplier
    ones = (1,) * len(_square_or_tuple(kernel_size, "kernel_size"))
    return conv_macs(in_channels, mid, kernel_size, output_size, groups=in_channels) + conv_macs(
        mid, out_channels, ones, output_size
    )


def separable_cost_ratio(out_channels: int, kernel_size: IntOrTuple) -> float:
    """Cost of a depthwise separable convolution relative to a standard one.

    ``(C_in H W K^2 + C_in C_out H W) / (C_in C_out H W K^2) = 1 / C_out + 1 / K^2``,
    the same for parameters (without biases) and multiply-adds.

    Example:
        >>> round(separable_cost_ratio(256, 3), 4)   # about 8.7 times cheaper
        0.115
    """
    _check_channels(1, out_channels, 1)
    taps = math.prod(_square_or_tuple(kernel_size, "kernel_size"))
    return 1 / out_channels + 1 / taps


def pool_ops(channels: int, kernel_size: IntOrTuple, output_size: IntOrTuple) -> int:
    """Window reads of a pooling layer for one image: ``C H_out W_out kH kW``.

    Each read is a comparison (max pooling) or an addition (average
    pooling); there are no multiplications by weights and no parameters.
    Average pooling done as a depthwise convolution with a ``1/K^2`` kernel
    costs exactly this many multiply-adds.

    Example:
        >>> pool_ops(64, 2, 56)   # 2x2 pooling of 64 x 112 x 112 feature maps
        802816
    """
    _check_channels(channels, channels, 1)
    return channels * math.prod(_square_or_tuple(output_size, "output_size")) * math.prod(
        _square_or_tuple(kernel_size, "kernel_size")
    )


@dataclass(frozen=True)
class ReceptiveFieldRow:
    """One layer of a receptive-field table.

    Attributes:
        layer: 1-based position in the stack.
        kernel_size: ``K`` of this layer.
        stride: ``S`` of this layer.
        dilation: ``D`` of this layer.
        jump: distance in input pixels between neighbouring outputs of this
            layer, ``j_l = j_{l-1} * S_l``.
        size: receptive field after this layer, ``r_l = r_{l-1} + D_l (K_l - 1) j_{l-1}``.
    """

    layer: int
    kernel_size: int
    stride: int
    dilation: int
    jump: int
    size: int


def receptive_field_table(layers: Sequence[Sequence[int]]) -> list[ReceptiveFieldRow]:
    """Receptive field, layer by layer, of a stack of convolutions or poolings.

    Args:
        layers: one ``(kernel_size, stride)`` or ``(kernel_size, stride, dilation)``
            tuple of ints per layer, input first, along one spatial axis.

    Returns:
        One :class:`ReceptiveFieldRow` per layer.

    Example:
        >>> [row.size for row in receptive_field_table([(3, 1)] * 3)]
        [3, 5, 7]
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError("layers must be a sequence of (kernel_size, stride[, dilation]) tuples.")
    rows = []
    size, jump = 1, 1
    for i, layer in enumerate(layers, start=1):
        if not isinstance(layer, Sequence) or len(layer) not in (2, 3) or not all(_is_int(v) for v in layer):
            raise ConvArgumentError(
                f"layer {i} is {layer!r}; give (kernel_size, stride) or (kernel_size, stride, dilation) as ints."
            )
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) == 3 else 1
        if k < 1 or s < 1 or d < 1:
            raise ConvArgumentError(f"layer {i} is {tuple(layer)!r}; kernel_size, stride and dilation must be >= 1.")
        size += (kernel_span(k, d) - 1) * jump
        jump *= s
        rows.append(ReceptiveFieldRow(i, k, s, d, jump, size))
    return rows


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    """Receptive field (in input pixels, along one axis) of a stack of layers.

    ``r = 1 + sum_l D_l (K_l - 1) prod_{m < l} S_m``; for ``L`` layers with
    kernel ``K``, stride 1 and no dilation this is ``1 + L(K - 1)``.

    Args:
        layers: ``(kernel_size, stride)`` or ``(kernel_size, stride, dilation)``
            per layer, input first.

    Returns:
        The number of input pixels along one axis that one output of the last
        layer depends on (1 for an empty stack).

    Example:
        >>> receptive_field([(3, 1), (3, 1), (3, 1)])   # same as one 7x7
        7
    """
    rows = receptive_field_table(layers)
    return rows[-1].size if rows else 1
