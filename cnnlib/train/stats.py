"""How sure is a measured accuracy? Intervals for one test set and for several seeds.

* :func:`accuracy_interval`: the Wilson score interval of a proportion, for
  ``right`` correct answers out of ``total`` test examples.
* :func:`mean_interval`: the Student-t interval of the mean of a few
  measurements (one per seed), e.g. of a gain between two settings.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["accuracy_interval", "mean_interval"]


def accuracy_interval(right: int, total: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for an accuracy of ``right / total``.

    Args:
        right: correctly classified test examples.
        total: test examples (the interval narrows as ``1 / sqrt(total)``).
        confidence: the interval's coverage, e.g. 0.95.

    Returns:
        ``(low, high)`` in ``[0, 1]``.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f"accuracy_interval: total must be a positive int, got {total!r}.")
    if isinstance(right, bool) or not isinstance(right, int) or not 0 <= right <= total:
        raise ValueError(f"accuracy_interval: right must be an int from 0 to total={total}, got {right!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"accuracy_interval: confidence must be between 0 and 1, got {confidence!r}.")
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = right / total
    scale = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / scale
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of a few measurements and its Student-t interval.

    Args:
        values: at least two measurements (say one per seed).
        confidence: the interval's coverage.

    Returns:
        ``(mean, low, high)``.
    """
    values = [float(v) for v in values]
    n = len(values)
    if n < 2:
        raise ValueError(f"mean_interval: needs at least two values to measure their spread, got {n}.")
    if not 0 < confidence < 1:
        raise ValueError(f"mean_interval: confidence must be between 0 and 1, got {confidence!r}.")
    from scipy.stats import t

    mean = sum(values) / n
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * spread / math.sqrt(n)
    return mean, mean - half, mean + half
