"""Judge one case: expected answer (trusted side) against what the student's function did."""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from cnnlib.grading.compare import compare, describe
from cnnlib.grading.registry import SOLUTION, Case, Exercise

__all__ = ["CaseResult", "expected_value", "judge_case", "describe_args", "to_plain_state_dict", "NOT_ATTEMPTED"]

NOT_ATTEMPTED = "not attempted yet"


@dataclass
class CaseResult:
    """The verdict on one case, ready to print or store as JSON.

    ``status`` is one of ``"pass"``, ``"fail"``, ``"error"``, ``"not attempted"``,
    ``"forbidden"``.
    """

    label: str
    status: str
    input: str = ""
    expected: str = ""
    got: str = ""
    message: str = ""
    hint: str = ""
    explanation: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def as_dict(self) -> dict:
        return asdict(self)


def describe_args(case: Case) -> str:
    parts = [describe(a) for a in case.args] + [f"{k}={describe(v)}" for k, v in case.kwargs.items()]
    return ", ".join(parts)


def _same_kind(expected: Any, got: Any) -> bool:
    """Whether ``got`` is an answer of the right type for ``expected`` (its value may still be wrong)."""
    if isinstance(expected, bool):
        return isinstance(got, bool)
    if isinstance(expected, (int, np.integer)):
        return isinstance(got, (int, np.integer)) and not isinstance(got, bool)
    if isinstance(expected, (float, np.floating)):
        return isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(got, bool)
    if isinstance(expected, str):
        return isinstance(got, str)
    if isinstance(expected, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(expected) and \
            all(_same_kind(e, g) for e, g in zip(expected, got))
    if isinstance(expected, torch.Tensor):
        return isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(expected.shape)
    return type(got) is type(expected)


def _explanation(exercise: Exercise, case: Case) -> str:
    """Why the right answer is right (trusted side; only called after a wrong answer)."""
    try:
        return str(exercise.explain(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)))
    except Exception as exc:  # an explanation must never hide the verdict
        return f"(no explanation: {type(exc).__name__})"


def expected_value(exercise: Exercise, case: Case) -> Any:
    """The expected answer: ``case.expected``, or the reference solution's output."""
    if case.judge is not None:
        return None
    if case.expected is not SOLUTION:
        return case.expected
    return exercise.solution(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))


def to_plain_state_dict(value: Any) -> Any:
    """A returned ``nn.Module`` as a dict of CPU tensors (its ``state_dict``)."""
    if isinstance(value, torch.nn.Module):
        return {k: v.detach().cpu().clone() for k, v in value.state_dict().items()}
    return value


def judge_case(exercise: Exercise, case: Case, expected: Any, *, status: str, value: Any = None,
               error: str = "", violations: list[str] | None = None) -> CaseResult:
    """The verdict for ``case``.

    Args:
        exercise, case: what was checked.
        expected: from :func:`expected_value` (ignored when the case has a judge).
        status: how the call ended: ``"ok"``, ``"error"`` (``error`` says why),
            ``"not attempted"``.
        value: the returned value (plain: tensors, numbers, tuples, dicts).
        violations: forbidden calls made during the call.
    """
    hint = case.hint or exercise.hint
    result = CaseResult(label=case.label, status="fail", input=describe_args(case), hint=hint,
                        expected=describe(expected) if case.judge is None else "")
    if violations:
        more = f" (and {len(violations) - 2} more)" if len(violations) > 2 else ""
        result.status, result.message = "forbidden", "; ".join(violations[:2]) + more
        result.hint = "This exercise asks you to write the computation yourself."
        return result
    if status == "not attempted":
        result.status, result.message, result.hint = "not attempted", NOT_ATTEMPTED, ""
        return result
    if status != "ok":
        result.status, result.message = "error", error
        return result
    result.got = describe(value)
    if case.judge is not None:
        try:
            outcome = case.judge(value)
        except Exception as exc:  # a judge failing on a malformed value is the submission's problem
            outcome = (False, f"could not evaluate the result: {type(exc).__name__}: {exc}")
        passed, message = (outcome, "") if isinstance(outcome, bool) else outcome
        result.status, result.message = ("pass" if passed else "fail"), message
        return result
    if exercise.kind == "choose" and not (isinstance(value, str) and value in exercise.choices):
        allowed = ", ".join(repr(c) for c in exercise.choices)
        result.message = f"answer with one of {allowed} (a str); got {describe(value)}"
        return result
    verdict = compare(expected, value, atol=case.atol, rtol=case.rtol)
    result.status = "pass" if verdict.passed else "fail"
    result.message = "" if verdict.passed else verdict.message
    if not verdict.passed and exercise.explain is not None and _same_kind(expected, value):
        result.explanation = _explanation(exercise, case)
    return result
