"""``check(exercise_id, fn)``: instant feedback in the student's notebook.

Runs the exercise's visible cases on the student's function in the notebook's
own process (it is the student's machine: nothing to protect), compares with
the reference solution and shows one line per case, with input, expected,
got, the difference and a hint for the failures.
"""
from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field

from cnnlib.grading.evaluate import CaseResult, expected_value, judge_case, to_plain_state_dict
from cnnlib.grading.forbid import guarded_call
from cnnlib.grading.registry import Exercise, get_exercise

__all__ = ["CheckReport", "check", "run_visible"]

# Set by the grader's child process: check cells then do nothing.
GRADING = False

# What to do next, by kind of exercise, when the check finds an untouched stub.
_TODO = {
    "write": "Write your code in the cell above, run it, then run this cell.",
    "predict": "Work out your answer, write it in the cell above, run it, then run this cell.",
    "choose": "Work out your answer, write it in the cell above, run it, then run this cell.",
    "diagnose": "In the cell above, delete the line that raises, find and fix the bug, run it, "
                "then run this cell.",
}

_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "forbidden": "FORBIDDEN", "not attempted": "TODO"}
_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#cf222e", "forbidden": "#cf222e", "not attempted": "#9a6700"}


@dataclass
class CheckReport:
    """The feedback for one exercise: shown as HTML in notebooks, text elsewhere."""

    exercise_id: str
    title: str
    results: list[CaseResult] = field(default_factory=list)
    problem: str = ""
    kind: str = "write"

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def attempted(self) -> bool:
        return not self.problem and all(r.status != "not attempted" for r in self.results)

    def summary(self) -> str:
        head = f"Exercise {self.exercise_id} ({self.title}): "
        if self.problem:
            return head + self.problem
        if not self.attempted:
            return head + "not attempted yet. " + _TODO.get(self.kind, _TODO["write"])
        n = len(self.results)
        if self.passed == n:
            return head + f"all {n} checks pass."
        return head + f"{self.passed} of {n} checks pass."

    def _details(self, r: CaseResult) -> list[tuple[str, str]]:
        rows = [("input", r.input)]
        if r.expected:
            rows.append(("expected", r.expected))
        if r.got:
            rows.append(("got", r.got))
        if r.message:
            rows.append(("problem", r.message))
        if r.explanation:
            rows.append(("why", r.explanation))
        if r.hint:
            rows.append(("hint", r.hint))
        return rows

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.problem or not self.attempted:
            return lines[0]
        for r in self.results:
            lines.append(f"  {_MARK[r.status]:<9} {r.label}")
            if not r.passed:
                lines += [f"            {k + ':':<9} {v}" for k, v in self._details(r)]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        state = "pass" if self.attempted and self.passed == len(self.results) and not self.problem else \
            ("not attempted" if not self.attempted and not self.problem else "fail")
        out = [f'<div style="font-family:sans-serif;line-height:1.4">'
               f'<b style="color:{_COLOUR[state]}">{esc(self.summary())}</b>']
        if self.attempted and not self.problem:
            out.append('<ul style="list-style:none;padding-left:0.5em;margin:0.3em 0">')
            for r in self.results:
                out.append(f'<li><b style="color:{_COLOUR[r.status]};font-family:monospace">{_MARK[r.status]}</b> '
                           f'{esc(r.label)}')
                if not r.passed:
                    out.append('<table style="margin-left:2em;font-size:90%">')
                    out += [f'<tr><td style="text-align:right;padding-right:0.6em"><i>{esc(k)}</i></td>'
                            f'<td style="text-align:left;font-family:monospace">{esc(v)}</td></tr>'
                            for k, v in self._details(r)]
                    out.append("</table>")
                out.append("</li>")
            out.append("</ul>")
        out.append("</div>")
        return "".join(out)


def _is_stub_error(exc: BaseException, exercise: Exercise) -> bool:
    return isinstance(exc, NotImplementedError) and f"exercise {exercise.id}" in str(exc)


def run_visible(exercise: Exercise, fn) -> CheckReport:
    """Run ``exercise``'s visible cases on ``fn``; return the report."""
    report = CheckReport(exercise.id, exercise.title, kind=exercise.kind)
    if not callable(fn):
        report.problem = (f"pass your function itself, e.g. check({exercise.id!r}, {exercise.function}); "
                          f"got {type(fn).__name__}.")
        return report
    for case in exercise.visible():
        expected = expected_value(exercise, case)
        guard = guarded_call(fn, copy.deepcopy(case.args), copy.deepcopy(case.kwargs), exercise.forbidden)
        if guard.error is not None and _is_stub_error(guard.error, exercise) and not guard.violations:
            report.results.append(judge_case(exercise, case, expected, status="not attempted"))
            continue
        if guard.error is not None:
            err = guard.error
            where = ""
            tb = err.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename.startswith("<"):
                    where = f" (line {tb.tb_lineno} of your cell)"
                tb = tb.tb_next
            report.results.append(judge_case(exercise, case, expected, status="error",
                                             error=f"{type(err).__name__}: {err}{where}",
                                             violations=guard.violations))
            continue
        value = to_plain_state_dict(guard.value) if exercise.returns == "state_dict" else guard.value
        report.results.append(judge_case(exercise, case, expected, status="ok", value=value,
                                         violations=guard.violations))
    return report


def check(exercise_id: str, fn) -> CheckReport | None:
    """Check ``fn`` against exercise ``exercise_id``'s visible cases.

    Args:
        exercise_id: e.g. ``"2.1"``.
        fn: your function, e.g. ``corr2d`` (not ``corr2d(...)``).

    Returns:
        A :class:`CheckReport`; as a cell's last line, the notebook shows it
        (PASS/FAIL per case; for failures the input, expected, got and a hint).
        An untouched stub gives "not attempted yet". Returns None inside the
        grader, which runs its own checks in a separate process.
    """
    if GRADING:
        return None
    return run_visible(get_exercise(exercise_id), fn)
