"""The exercise registry: one :class:`Exercise` per id, the single source of truth.

An exercise bundles the reference solution (a plain function whose source
becomes the solution cell), the visible checks (run in the student's notebook
by :func:`cnnlib.grading.check`) and the hidden checks (run only by the
grader, on inputs drawn from a seed the student never sees).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = [
    "SOLUTION",
    "Case",
    "Exercise",
    "get_exercise",
    "list_exercises",
    "register",
    "exercises_of_chapter",
]

_ID_RE = re.compile(r"^\d+\.\d+$")


class _Solution:
    """Sentinel: the expected value is the reference solution's output."""

    def __repr__(self) -> str:
        return "SOLUTION"


SOLUTION = _Solution()


@dataclass
class Case:
    """One check: call the student's function on ``args`` and judge the result.

    Args:
        args: positional arguments (tensors, arrays, numbers, tuples, strings).
        kwargs: keyword arguments.
        label: what this case tests, shown to the student ("stride 2 with padding").
        expected: the right answer; by default the reference solution's output
            on the same arguments, computed by the trusted grader.
        judge: instead of comparing with ``expected``, a function
            ``judge(got) -> (passed, message)`` (for training exercises: build
            the model from the returned ``state_dict`` and measure accuracy).
        atol, rtol: tolerances for floating-point tensors.
        hint: what to look at when this case fails (overrides the exercise hint).
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    expected: Any = SOLUTION
    judge: Callable[[Any], Any] | None = None
    atol: float = 1e-4
    rtol: float = 1e-4
    hint: str = ""


@dataclass
class Exercise:
    """An exercise: id, title, points, reference solution and checks.

    Args:
        id: ``"chapter.number"``, e.g. ``"2.1"``.
        title: a few words, shown in feedback and in the gradebook's JSON.
        solution: the reference solution. Its name is the function the student
            writes; its signature and docstring become the stub; its source
            (without decorators) becomes the solution cell.
        visible: ``visible() -> list[Case]``; shown to students.
        hidden: ``hidden(rng) -> list[Case]`` with ``rng`` a
            ``numpy.random.Generator`` seeded by the grader; never shown.
        points: points for the exercise, shared equally by its cases.
        hint: shown under a failed case.
        forbid: what the student's function may not call. Each entry is a
            dotted name of a module (``"cnnlib"``, ``"scipy.signal"``) or a
            function (``"numpy.convolve"``), or ``"aten::REGEX"`` matching
            PyTorch operator names (``"aten::conv"`` catches
            ``F.conv2d``, ``nn.Conv2d``, ``torch.ops.aten.convolution`` ...).
            ``cnnlib.grading`` is always forbidden.
        setup: code placed above the function in the stub and solution cells
            (usually imports, e.g. ``"import torch"``).
        starter: lines placed in the stub before ``raise NotImplementedError``.
        returns: ``"value"`` (default) or ``"state_dict"`` (the function returns
            an ``nn.Module``; the grader receives its ``state_dict`` as arrays).
        time_limit: seconds one call of the student's function may take when graded.
    """

    id: str
    title: str
    solution: Callable
    visible: Callable[[], list[Case]]
    hidden: Callable[[np.random.Generator], list[Case]] | None = None
    points: float = 1.0
    hint: str = ""
    forbid: tuple[str, ...] = ()
    setup: str = "import torch"
    starter: str = ""
    returns: str = "value"
    time_limit: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise ValueError(f"Exercise id {self.id!r} must look like 'chapter.number', e.g. '2.1'.")
        if self.returns not in ("value", "state_dict"):
            raise ValueError(f"Exercise {self.id}: returns={self.returns!r}; use 'value' or 'state_dict'.")
        if not callable(self.solution):
            raise TypeError(f"Exercise {self.id}: solution must be a function.")
        if self.points <= 0:
            raise ValueError(f"Exercise {self.id}: points must be positive, got {self.points}.")

    @property
    def chapter(self) -> int:
        return int(self.id.split(".")[0])

    @property
    def function(self) -> str:
        """The name of the function the student writes."""
        return self.solution.__name__

    @property
    def forbidden(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("cnnlib.grading",) + tuple(self.forbid)))

    def cases(self, *, hidden_seed: int | None = None) -> list[Case]:
        """The visible cases, then (if ``hidden_seed`` is given) the hidden ones."""
        cases = list(self.visible())
        if hidden_seed is not None and self.hidden is not None:
            cases += list(self.hidden(np.random.default_rng([hidden_seed, *map(int, self.id.split("."))])))
        return cases

    def solution_source(self) -> str:
        """The solution function's source, without decorators, dedented."""
        src = textwrap.dedent(inspect.getsource(self.solution))
        tree = ast.parse(src)
        fn = tree.body[0]
        lines = src.splitlines()
        return "\n".join(lines[fn.lineno - 1 :]).rstrip() + "\n"

    def stub_source(self) -> str:
        """The function's signature and docstring, then the starter and a
        ``raise NotImplementedError`` naming the exercise."""
        src = self.solution_source()
        fn = ast.parse(src).body[0]
        lines = src.splitlines()
        first = fn.body[0]
        has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
            and isinstance(first.value.value, str)
        keep_until = first.end_lineno if has_doc else fn.body[0].lineno - 1
        head = lines[:keep_until]
        body = [f"    {line}" if line else "" for line in self.starter.strip("\n").splitlines()]
        body.append(f'    raise NotImplementedError("exercise {self.id}: replace this line with your code")')
        return "\n".join(head + body) + "\n"


_REGISTRY: dict[str, Exercise] = {}
_LOADED = False


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to the registry (re-registering the same id replaces it)."""
    if not isinstance(exercise, Exercise):
        raise TypeError(f"register() takes an Exercise, got {type(exercise).__name__}.")
    _REGISTRY[exercise.id] = exercise
    return exercise


def _load_all() -> None:
    """Import every ``cnnlib.grading.exercises.chNN`` module once."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from cnnlib.grading import exercises

    for info in sorted(pkgutil.iter_modules(exercises.__path__), key=lambda m: m.name):
        if re.fullmatch(r"ch\d+", info.name):
            importlib.import_module(f"cnnlib.grading.exercises.{info.name}")


def _sort_key(exercise_id: str) -> tuple[int, int]:
    a, b = exercise_id.split(".")
    return int(a), int(b)


def list_exercises(chapter: int | None = None) -> list[Exercise]:
    """Every registered exercise (of one ``chapter`` if given), in id order."""
    _load_all()
    found = [e for e in _REGISTRY.values() if chapter is None or e.chapter == chapter]
    return sorted(found, key=lambda e: _sort_key(e.id))


def exercises_of_chapter(chapter: int) -> list[str]:
    """The ids of chapter ``chapter``'s exercises."""
    return [e.id for e in list_exercises(chapter)]


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise with id ``exercise_id`` (e.g. ``"2.1"``)."""
    _load_all()
    try:
        return _REGISTRY[str(exercise_id)]
    except KeyError:
        known = ", ".join(e.id for e in list_exercises()) or "none"
        raise KeyError(f"No exercise {exercise_id!r}. Registered exercises: {known}.") from None
