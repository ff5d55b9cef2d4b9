"""Compare a returned value with the expected one and say how they differ.

Runs in the trusted process (the student's kernel for ``check``, the grader's
parent for grading), on plain values only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["Comparison", "compare", "describe"]


@dataclass
class Comparison:
    """The outcome of one comparison: ``passed``, and a short ``message`` if not."""

    passed: bool
    message: str = ""


def describe(value: Any, *, limit: int = 60) -> str:
    """A short description: tensors by dtype and shape (small ones by value too)."""
    if isinstance(value, torch.Tensor):
        text = f"tensor {str(value.dtype).removeprefix('torch.')} shape {tuple(value.shape)}"
        if value.numel() <= 9 and value.dim() <= 2:
            text += " " + _short(value.detach().cpu().tolist())
        return text
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} shape {value.shape}"
    if isinstance(value, dict):
        return f"dict with {len(value)} keys"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_short(v) for v in values) + "]"
    return f"{values:.4g}" if isinstance(values, float) else str(values)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def compare(expected: Any, got: Any, *, atol: float = 1e-4, rtol: float = 1e-4) -> Comparison:
    """Compare ``got`` with ``expected``.

    Tensors must match in shape; floating tensors up to ``|got - expected| <=
    atol + rtol * |expected|``, integer and boolean tensors exactly. Numbers:
    integers exactly, floats with the same tolerance. Tuples and lists element
    by element.
    """
    from cnnlib.grading.codec import Unsupported

    if isinstance(got, Unsupported):
        return Comparison(False, f"returned {got!r}")
    if isinstance(expected, torch.Tensor):
        if isinstance(got, np.ndarray):
            return Comparison(False, "returned a NumPy array; return a torch.Tensor")
        if not isinstance(got, torch.Tensor):
            return Comparison(False, f"returned {type(got).__name__}; expected a torch.Tensor")
        if tuple(got.shape) != tuple(expected.shape):
            return Comparison(False, f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
        if got.is_complex() != expected.is_complex():
            return Comparison(False, f"dtype {got.dtype}, expected {expected.dtype}")
        exp = expected.detach().cpu()
        val = got.detach().cpu()
        if exp.dtype.is_floating_point or val.dtype.is_floating_point or exp.is_complex():
            exp64, val64 = exp.to(torch.complex128 if exp.is_complex() else torch.float64), \
                val.to(torch.complex128 if val.is_complex() else torch.float64)
            if val64.numel() == 0:
                return Comparison(True)
            if torch.isnan(val64).any() and not torch.isnan(exp64).any():
                return Comparison(False, "contains NaN")
            both_nan = torch.isnan(exp64) & torch.isnan(val64)
            diff = torch.where(both_nan, torch.zeros_like(exp64.real if exp64.is_complex() else exp64),
                               (val64 - exp64).abs())
            ok = (diff <= atol + rtol * exp64.abs()) | both_nan
            if bool(ok.all()):
                return Comparison(True)
            worst = int(torch.nan_to_num(diff, nan=math.inf).flatten().argmax())
            index = tuple(int(i) for i in np.unravel_index(worst, tuple(exp.shape))) if exp.dim() else ()
            bad = int((~ok).sum())
            return Comparison(False, f"max difference {float(diff.flatten()[worst]):.3g} at index {index} "
                                     f"(got {val64.flatten()[worst].item():.4g}, expected {exp64.flatten()[worst].item():.4g}); "
                                     f"{bad} of {ok.numel()} values differ")
        if torch.equal(val.to(exp.dtype), exp):
            return Comparison(True)
        bad = int((val.to(exp.dtype) != exp).sum())
        return Comparison(False, f"{bad} of {exp.numel()} values differ")
    if isinstance(expected, bool):
        return Comparison(got is expected or (isinstance(got, (bool, np.bool_)) and bool(got) == expected),
                          f"got {describe(got)}, expected {expected}")
    if isinstance(expected, (int, np.integer)):
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if isinstance(got, float) and got == expected:
                return Comparison(False, f"got the float {got!r}; return an int (use // or int())")
            return Comparison(False, f"got {describe(got)}, expected the int {expected}")
        return Comparison(int(got) == int(expected), f"got {int(got)}, expected {int(expected)}")
    if isinstance(expected, (float, np.floating)):
        if not _is_number(got):
            return Comparison(False, f"got {describe(got)}, expected a number")
        ok = math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol)
        return Comparison(ok, f"got {float(got):.6g}, expected {float(expected):.6g}")
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return Comparison(False, f"got {describe(got)}, expected a {type(expected).__name__} of {len(expected)}")
        if len(got) != len(expected):
            return Comparison(False, f"got {len(got)} items, expected {len(expected)}")
        for i, (e, g) in enumerate(zip(expected, got)):
            sub = compare(e, g, atol=atol, rtol=rtol)
            if not sub.passed:
                return Comparison(False, f"item {i}: {sub.message}")
        return Comparison(True)
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return Comparison(False, f"got {describe(got)}, expected keys {sorted(expected)}")
        for key in expected:
            sub = compare(expected[key], got[key], atol=atol, rtol=rtol)
            if not sub.passed:
                return Comparison(False, f"[{key!r}]: {sub.message}")
        return Comparison(True)
    return Comparison(got == expected if type(got) is type(expected) else False,
                      f"got {describe(got)}, expected {describe(expected)}")
