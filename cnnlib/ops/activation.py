"""Activation functions, elementwise, twins of ``torch.nn.functional``'s.

=========== ================================================= ==============================
function    formula                                           derivative
=========== ================================================= ==============================
relu        ``max(0, x)``                                     ``1 if x > 0 else 0``
leaky_relu  ``x if x > 0 else a x``                           ``1 or a``
elu         ``x if x > 0 else a (e^x - 1)``                   ``1 or a e^x``
sigmoid     ``1 / (1 + e^-x)``                                ``s (1 - s)``
tanh        ``(e^x - e^-x) / (e^x + e^-x)``                   ``1 - t^2``
silu        ``x sigmoid(x)`` (also called swish)               ``s (1 + x (1 - s))``
gelu        ``x Phi(x)``, ``Phi`` the normal CDF               ``Phi(x) + x phi(x)``
=========== ================================================= ==============================

Each is written so that neither it nor its gradient overflows: the
exponentials only ever see ``-|x|`` (``e^x`` of a large ``x`` would be
``inf``, and ``inf / inf`` is ``nan``). Autograd differentiates them; at
the kinks the gradient is PyTorch's (0 for ReLU at 0, ``a`` for leaky ReLU
and ELU at 0). Gradients agree with PyTorch's to about ``1e-16`` absolute
(where ``e^x`` is below that, e.g. ELU at ``x < -37``, both round differently). ``inplace=True`` writes the result into ``input`` and
returns it.
"""
from __future__ import annotations

import math

import torch

__all__ = ["elu", "gelu", "leaky_relu", "relu", "sigmoid", "silu", "tanh"]


def _split(input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x if x >= 0 else 0, x if x < 0 else 0)``, each with gradient 1 where it is ``x``.

    (``clamp`` would do, but its gradient at the boundary is 0, which would
    zero the derivative at ``x = 0``.)
    """
    zero = torch.zeros((), dtype=input.dtype, device=input.device)
    # Written so that a NaN stays NaN in both parts.
    return torch.where(input < 0, zero, input), torch.where(input >= 0, zero, input)


def _out(input: torch.Tensor, result: torch.Tensor, inplace: bool) -> torch.Tensor:
    if inplace:
        return input.copy_(result)
    return result


def relu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Rectified linear unit, ``max(0, x)``, as :func:`torch.nn.functional.relu` (NaN stays NaN)."""
    return _out(input, input * (input > 0), inplace)


def leaky_relu(input: torch.Tensor, negative_slope: float = 0.01, inplace: bool = False) -> torch.Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``, as :func:`torch.nn.functional.leaky_relu`."""
    return _out(input, torch.where(input > 0, input, input * negative_slope), inplace)


def elu(input: torch.Tensor, alpha: float = 1.0, inplace: bool = False) -> torch.Tensor:
    """Exponential linear unit, as :func:`torch.nn.functional.elu`.

    ``x`` for ``x > 0``, else ``alpha (e^x - 1)``: smooth for ``alpha = 1``,
    with negative outputs that pull the mean activation towards zero.
    """
    zero = torch.zeros((), dtype=input.dtype, device=input.device)
    # Only the non-positive part enters the exponential: e^x of a large x would overflow.
    negative = alpha * torch.expm1(torch.where(input > 0, zero, input))
    return _out(input, torch.where(input > 0, input, negative), inplace)


def sigmoid(input: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid ``1 / (1 + e^-x)``, as :func:`torch.sigmoid`.

    For ``x >= 0`` it is computed as ``1 / (1 + e^-x)``, for ``x < 0`` as
    ``e^x / (1 + e^x)``: the same number, but the exponential never overflows.
    """
    pos, neg = _split(input)
    e_pos = torch.exp(-pos)
    e_neg = torch.exp(neg)
    return torch.where(input >= 0, 1 / (1 + e_pos), e_neg / (1 + e_neg))


def tanh(input: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent, as :func:`torch.tanh`: ``(1 - e^{-2x}) / (1 + e^{-2x})`` for ``x >= 0``.

    The mirror formula serves ``x < 0``; ``expm1`` keeps the precision near 0.
    Equal to ``2 sigmoid(2x) - 1``: a sigmoid stretched to ``(-1, 1)``.
    """
    pos, neg = _split(input)
    return torch.where(input >= 0, -torch.expm1(-2 * pos) / (1 + torch.exp(-2 * pos)),
                       torch.expm1(2 * neg) / (1 + torch.exp(2 * neg)))


def silu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Sigmoid linear unit (swish), ``x sigmoid(x)``, as :func:`torch.nn.functional.silu`."""
    return _out(input, input * sigmoid(input), inplace)


def gelu(input: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """Gaussian error linear unit, as :func:`torch.nn.functional.gelu`.

    ``x Phi(x) = x (1 + erf(x / sqrt 2)) / 2``, the input weighted by the
    probability that a standard normal variable is below it. With
    ``approximate="tanh"``: ``x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2``.

    Args:
        input: any shape.
        approximate: ``"none"`` (exact) or ``"tanh"``.
    """
    if approximate == "none":
        return 0.5 * input * (1 + torch.erf(input / math.sqrt(2.0)))
    if approximate == "tanh":
        return 0.5 * input * (1 + tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * input**3)))
    raise ValueError(f"gelu: approximate={approximate!r}; use 'none' (exact) or 'tanh'.")
