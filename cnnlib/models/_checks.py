"""Argument checks shared by the builders, so every bad value gets the same clear message."""
from __future__ import annotations

__all__ = ["check_choice", "check_fraction", "check_positive_int", "check_positive_ints"]


def check_positive_int(builder: str, name: str, value) -> int:
    """Return ``value`` if it is an int >= 1, else raise a ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{builder}({name}={value!r}): {name} must be a positive int.")
    return value


def check_positive_ints(builder: str, name: str, values) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a sequence of positive ints."""
    if isinstance(values, (int, str)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{builder}({name}={values!r}): {name} must be a tuple of positive ints, e.g. (64, 32).")
    values = tuple(values)
    for v in values:
        check_positive_int(builder, name, v)
    return values


def check_fraction(builder: str, name: str, value) -> float:
    """Return ``value`` if it is a probability in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{builder}({name}={value!r}): {name} must be a number in [0, 1).")
    return float(value)


def check_choice(builder: str, name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{builder}({name}={value!r}): choose one of {', '.join(map(repr, choices))}.")
    return value
