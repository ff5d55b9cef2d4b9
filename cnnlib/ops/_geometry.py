"""Sizes along one axis: the one implementation of the window arithmetic.

Every convolution and pooling in :mod:`cnnlib.ops`, the formulas of
:mod:`cnnlib.arith`, the receptive-field figure and the sliding-window
widget take their numbers from here, so the formulas are written once:

* a kernel of ``K`` taps with dilation ``D`` spans ``D(K - 1) + 1`` cells,
* a window sliding in steps of ``S`` over ``L`` cells padded by
  ``P_lo + P_hi`` fits ``floor((L + P_lo + P_hi - D(K - 1) - 1) / S) + 1``
  times (``ceil`` instead of ``floor`` with pooling's ``ceil_mode``),
* a transposed convolution makes
  ``(L - 1) S - 2P + D(K - 1) + output_padding + 1`` outputs from ``L`` inputs.
"""
from __future__ import annotations

from typing import Sequence, Union

from cnnlib.errors import CnnlibError

__all__ = [
    "ConvArgumentError",
    "IntOrTuple",
    "as_tuple",
    "kernel_span",
    "output_length",
    "transposed_output_length",
]

IntOrTuple = Union[int, Sequence[int]]


class ConvArgumentError(CnnlibError, ValueError):
    """A convolution got arguments that do not fit together.

    The message says which argument was wrong, what was expected, and how to
    fix it.
    """


def as_tuple(value: IntOrTuple, n: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """Turn an int or a sequence of ``n`` ints into a tuple of ``n`` ints.

    Args:
        value: an int (used for every axis) or one int per axis.
        n: the number of spatial axes.
        name: the argument's name, for the error message.
        minimum: the smallest allowed value (1 for stride, 0 for padding).

    Returns:
        A tuple of ``n`` Python ints.

    Raises:
        TypeError: ``value`` is not an int or a sequence of ints.
        ConvArgumentError: wrong length, or a value below ``minimum``.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, not a bool ({value!r}).")
    if isinstance(value, int):
        values = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        values = tuple(value)
        if len(values) != n:
            raise ConvArgumentError(
                f"{name}={value!r} has {len(values)} entries but this is a {n}-D convolution: "
                f"give one int or a tuple of {n} ints (one per spatial axis)."
            )
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name}={value!r} must contain only ints; got {type(v).__name__} {v!r}.")
    else:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints; got {type(value).__name__} {value!r}.")
    if any(v < minimum for v in values):
        raise ConvArgumentError(f"{name}={value!r}: every entry must be at least {minimum}.")
    return tuple(int(v) for v in values)


def kernel_span(kernel_size: int, dilation: int = 1) -> int:
    """Cells a dilated kernel covers along one axis: ``D(K - 1) + 1``."""
    return dilation * (kernel_size - 1) + 1


def output_length(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of window positions along one axis (0 when the kernel fits nowhere).

    ``floor((L + P_lo + P_hi - D(K - 1) - 1) / S) + 1``. With ``ceil_mode``
    (pooling) the division rounds up, so a last, partial window is kept, but
    as in PyTorch only if it starts inside the input or its left padding.

    Args:
        size: input length ``L``.
        kernel_size: ``K``.
        stride: ``S``.
        padding: ``P`` on both sides, or ``(P_lo, P_hi)``.
        dilation: ``D``.
        ceil_mode: round up instead of down.

    Returns:
        The output length, or 0 if the padded input is shorter than the kernel span.
    """
    lo, hi = (padding, padding) if isinstance(padding, int) else padding
    room = size + lo + hi - kernel_span(kernel_size, dilation)
    if room < 0:
        return 0
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + lo:  # the last window would start in the right padding
        out -= 1
    return out


def transposed_output_length(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution along one axis.

    ``(L - 1) S - 2P + D(K - 1) + output_padding + 1``: the length ``L_out``
    whose convolution (same ``K, S, P, D``) has ``L`` outputs;
    ``output_padding`` picks among the ``S`` lengths that all do.
    """
    return (size - 1) * stride - 2 * padding + kernel_span(kernel_size, dilation) + output_padding
