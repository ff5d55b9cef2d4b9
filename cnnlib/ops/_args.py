"""Argument checking shared by every convolution in :mod:`cnnlib.ops`.

The three implementations (loops, im2col, FFT) all start from the same
normalised arguments, so each one only has to compute; the checks and the
error messages live here, once.

Shapes use PyTorch's conventions, for ``nd`` spatial dimensions:

* input ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``,
* weight ``(C_out, C_in / groups, *kernel_size)``,
* bias ``(C_out,)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import torch
import torch.nn.functional as F

from cnnlib.ops._geometry import ConvArgumentError, IntOrTuple, as_tuple, kernel_span, output_length

__all__ = [
    "ConvArgs",
    "ConvArgumentError",
    "IntOrTuple",
    "PaddingArg",
    "as_tuple",
    "check_tensors",
    "pad_input",
    "parse_conv_args",
]

PaddingArg = Union[int, Sequence[int], str]

_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True)
class ConvArgs:
    """Checked, normalised arguments of an ``nd``-dimensional convolution.

    Attributes:
        x: the input, always batched: ``(N, C_in, *spatial)``.
        weight: ``(C_out, C_in / groups, *kernel_size)``.
        bias: ``(C_out,)`` or ``None``.
        stride: one int per spatial axis.
        padding: ``(before, after)`` zero padding per spatial axis (they differ
            only for ``padding="same"`` with an even dilated kernel extent).
        dilation: one int per spatial axis.
        groups: number of channel groups.
        unbatched: the caller passed ``(C_in, *spatial)``; the result loses
            its batch axis again.
    """

    x: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int
    unbatched: bool

    @property
    def nd(self) -> int:
        """Number of spatial axes (1, 2 or 3)."""
        return self.weight.dim() - 2

    @property
    def kernel_size(self) -> tuple[int, ...]:
        """Kernel size per spatial axis, ``weight.shape[2:]``."""
        return tuple(self.weight.shape[2:])

    @property
    def extent(self) -> tuple[int, ...]:
        """Span of the dilated kernel per axis: ``D * (K - 1) + 1``."""
        return tuple(kernel_span(k, d) for d, k in zip(self.dilation, self.kernel_size))

    @property
    def padded_size(self) -> tuple[int, ...]:
        """Spatial size after zero padding: ``H + P_before + P_after``."""
        return tuple(s + lo + hi for s, (lo, hi) in zip(self.x.shape[2:], self.padding))

    @property
    def output_size(self) -> tuple[int, ...]:
        """Spatial output size: ``(H + 2P - D(K - 1) - 1) // S + 1`` per axis."""
        return tuple(
            output_length(size, k, s, pad, d)
            for size, k, s, pad, d in zip(self.x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation)
        )

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        """Drop the batch axis again if the caller gave an unbatched input."""
        return out.squeeze(0) if self.unbatched else out


def _same_padding(kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    # Like PyTorch: the total D * (K - 1) is split evenly, the odd pixel goes after.
    pads = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def check_tensors(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    nd: int,
    name: str,
    w_layout: str,
) -> None:
    """Check types, ranks, dtypes and devices of a convolution's tensors.

    Args:
        x: input, ``nd + 2`` dims (batched) or ``nd + 1`` (unbatched).
        weight: ``nd + 2`` dims, laid out as ``w_layout`` says.
        bias: ``None`` or a tensor.
        nd: number of spatial axes.
        name: the public function's name, for the messages.
        w_layout: the weight's expected layout, e.g. ``"(C_out, C_in / groups, kH, kW)"``.

    Raises:
        TypeError: a tensor argument is not a tensor.
        ConvArgumentError: wrong rank, integer dtype, mixed dtypes or devices.
    """
    axes = _AXES[nd]
    layout = f"(N, C_in, {', '.join(axes)})"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: the input must be a torch.Tensor; got {type(x).__name__}. Use torch.as_tensor(x).")
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{name}: weight must be a torch.Tensor; got {type(weight).__name__}.")
    if bias is not None and not isinstance(bias, torch.Tensor):
        raise TypeError(f"{name}: bias must be a torch.Tensor or None; got {type(bias).__name__}.")

    if x.dim() not in (nd + 1, nd + 2):
        hint = ""
        if x.dim() == nd:
            hint = " For a single-channel signal add the channel axis with x[None] (or x[None, None] for a batch of one)."
        raise ConvArgumentError(
            f"{name} expects an input of shape {layout} or unbatched (C_in, {', '.join(axes)}); "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}.{hint}"
        )
    if weight.dim() != nd + 2:
        raise ConvArgumentError(
            f"{name}: weight must have shape {w_layout} ({nd + 2} dims); "
            f"got a {weight.dim()}-D tensor of shape {tuple(weight.shape)}."
        )
    for label, t in (("input", x), ("weight", weight)) + ((("bias", bias),) if bias is not None else ()):
        if not t.is_floating_point():
            raise ConvArgumentError(
                f"{name}: {label} has dtype {t.dtype}; convolution needs floating-point tensors. "
                f"Convert it with .float() (or .double())."
            )
    if weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        got = f"input {x.dtype}, weight {weight.dtype}" + (f", bias {bias.dtype}" if bias is not None else "")
        raise ConvArgumentError(f"{name}: dtypes differ ({got}); convert them to one dtype, e.g. weight.to(x.dtype).")
    if weight.device != x.device or (bias is not None and bias.device != x.device):
        raise ConvArgumentError(
            f"{name}: input is on {x.device} but weight/bias are on {weight.device}; move them with .to(x.device)."
        )


def parse_conv_args(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntOrTuple,
    padding: PaddingArg,
    dilation: IntOrTuple,
    groups: int,
    *,
    nd: int,
    name: str,
) -> ConvArgs:
    """Check the arguments of an ``nd``-D convolution and normalise them.

    Follows :func:`torch.nn.functional.conv2d` (and its 1-D and 3-D twins):
    ints or tuples, ``padding`` an int, a tuple, ``"valid"`` (no padding) or
    ``"same"`` (output as large as the input; stride 1 only).

    Args:
        x: input ``(N, C_in, *spatial)`` or ``(C_in, *spatial)``.
        weight: ``(C_out, C_in / groups, *kernel_size)``.
        bias: ``(C_out,)`` or ``None``.
        stride: step of the window, int or one per axis, at least 1.
        padding: zeros added on both sides, int, tuple, ``"valid"`` or ``"same"``.
        dilation: spacing between kernel taps, int or one per axis, at least 1.
        groups: split the channels into this many independent groups.
        nd: number of spatial axes (1, 2 or 3).
        name: the public function's name, for the error messages.

    Returns:
        The checked arguments as a :class:`ConvArgs`.

    Raises:
        TypeError: an argument has the wrong type.
        ConvArgumentError: shapes, channels, groups or sizes do not fit.
    """
    axes = _AXES[nd]
    check_tensors(x, weight, bias, nd=nd, name=name,
                  w_layout=f"(C_out, C_in / groups, {', '.join('k' + a for a in axes)})")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{name}: groups must be an int; got {type(groups).__name__} {groups!r}.")
    if groups < 1:
        raise ConvArgumentError(f"{name}: groups={groups} must be at least 1.")
    stride_t = as_tuple(stride, nd, "stride", minimum=1)
    dilation_t = as_tuple(dilation, nd, "dilation", minimum=1)
    kernel_size = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pad_pairs = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride_t):
                raise ConvArgumentError(
                    f"{name}: padding='same' needs stride 1 (got stride={stride!r}), as in PyTorch: "
                    f"with a larger stride the output cannot keep the input's size. Give padding as numbers instead."
                )
            pad_pairs = _same_padding(kernel_size, dilation_t)
        else:
            raise ConvArgumentError(f"{name}: padding={padding!r}; use an int, a tuple of ints, 'valid' or 'same'.")
    else:
        pad_pairs = tuple((p, p) for p in as_tuple(padding, nd, "padding", minimum=0))

    unbatched = x.dim() == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    in_channels = x.shape[1]
    out_channels, group_in = weight.shape[0], weight.shape[1]
    if in_channels % groups != 0:
        raise ConvArgumentError(
            f"{name}: groups={groups} does not divide the input's {in_channels} channels; "
            f"pick groups among the divisors of {in_channels}."
        )
    if out_channels % groups != 0:
        raise ConvArgumentError(
            f"{name}: groups={groups} does not divide weight.shape[0] = {out_channels} output channels; "
            f"C_out must be a multiple of groups."
        )
    if group_in * groups != in_channels:
        raise ConvArgumentError(
            f"{name}: the input has {in_channels} channels but weight {tuple(weight.shape)} with groups={groups} "
            f"expects weight.shape[1] * groups = {group_in} * {groups} = {group_in * groups}. "
            f"weight must have shape (C_out, {in_channels // groups}, ...) for this input."
        )
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ConvArgumentError(
            f"{name}: bias must have shape (C_out,) = ({out_channels},), one value per output channel; "
            f"got {tuple(bias.shape)}."
        )

    if any(k == 0 for k in kernel_size):
        raise ConvArgumentError(f"{name}: weight {tuple(weight.shape)} has an empty kernel axis.")
    for axis, size, (lo, hi), k, d in zip(axes, x.shape[2:], pad_pairs, kernel_size, dilation_t):
        span = kernel_span(k, d)
        if output_length(size, k, 1, (lo, hi), d) == 0:
            dil = f" with dilation {d}" if d > 1 else ""
            raise ConvArgumentError(
                f"{name}: the kernel{dil} spans {span} along {axis} but the padded input has only "
                f"{size + lo + hi} ({axis}={size} + padding {lo}+{hi}), so there is no valid position for it. "
                f"Use a smaller kernel or dilation, more padding, or a larger input."
            )
    return ConvArgs(x, weight, bias, stride_t, pad_pairs, dilation_t, groups, unbatched)


def pad_input(args: ConvArgs) -> torch.Tensor:
    """Zero-pad the input of ``args`` on every spatial axis.

    Returns:
        ``(N, C_in, *padded_size)``; the input itself when there is no padding.
    """
    if all(lo == 0 and hi == 0 for lo, hi in args.padding):
        return args.x
    # F.pad lists the last axis first: (W_before, W_after, H_before, H_after, ...).
    flat = [p for pair in reversed(args.padding) for p in pair]
    return F.pad(args.x, flat)

