"""Convolution arithmetic: output size, parameters, multiply-adds, receptive field.

The four numbers every convolutional layer comes with, computed from its
hyperparameters alone (no tensors needed):

* output size per spatial axis: ``H_out = floor((H + 2P - D(K - 1) - 1) / S) + 1``
* learnable parameters: ``C_out * (C_in / groups) * kH * kW (+ C_out for the bias)``
* multiply-adds per image: ``C_out * H_out * W_out * (C_in / groups) * kH * kW``
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
from typing import Sequence, Union

from cnnlib.ops._args import ConvArgumentError

__all__ = [
    "ReceptiveFieldRow",
    "conv_macs",
    "conv_output_size",
    "conv_params",
    "receptive_field",
    "receptive_field_table",
]

IntOrTuple = Union[int, Sequence[int]]


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _tuple(value: IntOrTuple, n: int, name: str, minimum: int) -> tuple[int, ...]:
    if _is_int(value):
        values = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str) and all(_is_int(v) for v in value):
        values = tuple(value)
        if len(values) != n:
            raise ConvArgumentError(f"{name}={value!r} has {len(values)} entries; expected {n} (one per spatial axis).")
    else:
        raise TypeError(f"{name} must be an int or a tuple of ints; got {value!r}.")
    if any(v < minimum for v in values):
        raise ConvArgumentError(f"{name}={value!r}: every entry must be at least {minimum}.")
    return values


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
    sizes = _tuple(size, axes, "size", 1)
    ks = _tuple(kernel_size, axes, "kernel_size", 1)
    ss = _tuple(stride, axes, "stride", 1)
    ds = _tuple(dilation, axes, "dilation", 1)
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
        ps = _tuple(padding, axes, "padding", 0)
    out = []
    for h, k, s, p, d in zip(sizes, ks, ss, ps, ds):
        span = d * (k - 1) + 1
        numerator = h + 2 * p - span
        if numerator < 0:
            raise ConvArgumentError(
                f"the kernel spans D(K - 1) + 1 = {span} pixels but the padded input has only "
                f"H + 2P = {h} + 2*{p} = {h + 2 * p}, so (H + 2P - D(K - 1) - 1) / S + 1 = "
                f"{numerator} / {s} + 1 would give no valid output position. "
                f"Use more padding, a smaller kernel or dilation, or a larger input."
            )
        out.append(numerator // s + 1)
    return tuple(out) if n else out[0]


def _square_or_tuple(value: IntOrTuple, name: str) -> tuple[int, ...]:
    """An int means a square (two equal axes); a tuple gives one size per axis."""
    if _is_int(value):
        return _tuple(value, 2, name, 1)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0:
        return _tuple(value, len(value), name, 1)
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
        size += d * (k - 1) * jump
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
