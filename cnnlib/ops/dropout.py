"""Dropout with inverted scaling, the twin of :func:`torch.nn.functional.dropout`.

In training every element is kept with probability ``1 - p`` and zeroed
otherwise; the kept ones are divided by ``1 - p`` so that the expected
value of every output equals its input. Because of that scaling at
training time ("inverted" dropout), evaluation needs nothing: the layer is
the identity.
"""
from __future__ import annotations

import torch

from cnnlib.ops._geometry import ConvArgumentError

__all__ = ["dropout"]


def dropout(input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> torch.Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        input: any shape.
        p: drop probability, from 0 to 1 (``p = 1`` zeroes everything).
        training: drop only in training; otherwise return ``input`` unchanged.
        inplace: write the result into ``input``.

    Returns:
        ``input * mask / (1 - p)`` with ``mask ~ Bernoulli(1 - p)`` elementwise
        (drawn from torch's global generator: seed it with ``torch.manual_seed``).

    Raises:
        ConvArgumentError: ``p`` outside ``[0, 1]``.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ConvArgumentError(f"dropout: p={p!r} is a probability and must be between 0 and 1.")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        result = input * 0.0
    else:
        keep = torch.empty_like(input).bernoulli_(1.0 - p)
        result = input * keep / (1.0 - p)
    return input.copy_(result) if inplace else result
