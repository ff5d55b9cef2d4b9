"""The exercise registry: one :class:`Exercise` per id, the single source of truth.

An exercise bundles the reference solution (a plain function whose source
becomes the solution cell), the visible checks (run in the student's notebook
by :func:`cnnlib.grading.check`) and the hidden checks (run only by the
grader, on inputs drawn from a seed the student never sees).

Every exercise has a *kind* (:data:`KINDS`), which says what the student hands
in. All kinds are graded by the same machinery: the student's function is
called on each case's arguments and the trusted side judges what it returns.

* ``"write"``: a function that computes something the chapter taught.
* ``"predict"``: a value (a number, a shape, a tuple of counts) for the
  question's parameters, reasoned out rather than measured (such exercises
  forbid ``torch``). The question's numbers are the function's arguments, so
  the grader asks variants the student never saw and an answer cannot be
  passed on as a number.
* ``"choose"``: one of :attr:`Exercise.choices` (e.g. ``"A"`` to ``"D"``), again
  for the question's parameters; an answer that is not one of the choices is
  reported as such.
* ``"diagnose"``: the stub is a given function with a bug
  (:attr:`Exercise.buggy`); the student hands back the fixed function, which
  is judged on visible and hidden inputs like any other.
* ``"train"``: the function returns a trained ``nn.Module``; trusted code
  measures it on held-out data.

For ``predict`` and ``choose``, :attr:`Exercise.explain` says why the right
answer is right for one case's parameters. It is shown only under a wrong
answer (never under a right one, nor under an answer of the wrong type).
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
    "KINDS",
    "SOLUTION",
    "Case",
    "Exercise",
    "get_exercise",
    "list_exercises",
    "register",
    "exercises_of_chapter",
]

_ID_RE = re.compile(r"^\d+\.\d+$")

#: The kinds of exercise and what the student hands in for each.
KINDS: dict[str, str] = {
    "write": "a function computing what the chapter taught",
    "predict": "a value for the question's parameters, reasoned out, not measured",
    "choose": "one of a fixed set of choices for the question's parameters",
    "diagnose": "the fixed version of a given buggy function",
    "train": "a trained model, measured on held-out data",
}

#: The line a diagnose stub holds above the buggy code until the student starts.
DIAGNOSE_GUARD = "exercise {id}: delete this line first"


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
        kind: one of :data:`KINDS`; ``"train"`` exactly when ``returns="state_dict"``
            (the default ``"write"`` becomes ``"train"`` there).
        choices: for ``kind="choose"``, the answers allowed (strings).
        explain: for ``predict`` and ``choose``, ``explain(*args, **kwargs) -> str``
            says why the right answer for those arguments is right; shown only
            after a wrong answer.
        buggy: for ``kind="diagnose"``, the given function with the bug, with the
            solution's parameters; its source (renamed to the solution's name)
            becomes the stub.
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
    kind: str = "write"
    choices: tuple[str, ...] = ()
    explain: Callable[..., str] | None = None
    buggy: Callable | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise ValueError(f"Exercise id {self.id!r} must look like 'chapter.number', e.g. '2.1'.")
        if self.returns not in ("value", "state_dict"):
            raise ValueError(f"Exercise {self.id}: returns={self.returns!r}; use 'value' or 'state_dict'.")
        if not callable(self.solution):
            raise TypeError(f"Exercise {self.id}: solution must be a function.")
        if self.points <= 0:
            raise ValueError(f"Exercise {self.id}: points must be positive, got {self.points}.")
        if self.kind == "write" and self.returns == "state_dict":
            self.kind = "train"  # a function that returns a model is a training exercise
        if self.kind not in KINDS:
            raise ValueError(f"Exercise {self.id}: kind={self.kind!r}; use one of {', '.join(KINDS)}.")
        if (self.kind == "train") != (self.returns == "state_dict"):
            raise ValueError(f"Exercise {self.id}: kind 'train' goes with returns='state_dict' and only with it.")
        self.choices = tuple(self.choices)
        if (self.kind == "choose") != bool(self.choices) or not all(isinstance(c, str) for c in self.choices):
            raise ValueError(f"Exercise {self.id}: a 'choose' exercise needs choices (strings), and only it has them.")
        if self.explain is not None and self.kind not in ("predict", "choose"):
            raise ValueError(f"Exercise {self.id}: explain is for 'predict' and 'choose' exercises.")
        if (self.kind == "diagnose") != (self.buggy is not None):
            raise ValueError(f"Exercise {self.id}: a 'diagnose' exercise needs buggy=, and only it has one.")
        if self.buggy is not None:
            if list(inspect.signature(self.buggy).parameters) != list(inspect.signature(self.solution).parameters):
                raise ValueError(f"Exercise {self.id}: buggy and solution must take the same parameters.")

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

    def buggy_source(self) -> str:
        """A diagnose exercise's buggy function, renamed to the solution's name, dedented."""
        if self.buggy is None:
            raise ValueError(f"Exercise {self.id} is a {self.kind!r} exercise; only 'diagnose' has buggy code.")
        src = textwrap.dedent(inspect.getsource(self.buggy))
        fn = ast.parse(src).body[0]
        lines = src.splitlines()[fn.lineno - 1:]
        lines[0] = re.sub(rf"^(\s*def\s+){re.escape(self.buggy.__name__)}\b", rf"\g<1>{self.function}", lines[0])
        return "\n".join(lines).rstrip() + "\n"

    def stub_source(self) -> str:
        """The function's signature and docstring, then the starter and a
        ``raise NotImplementedError`` naming the exercise. For a diagnose
        exercise: the buggy function, with that ``raise`` (which the student
        deletes) above its code."""
        if self.buggy is not None:
            src = self.buggy_source()
            fn = ast.parse(src).body[0]
            lines = src.splitlines()
            first = fn.body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                and isinstance(first.value.value, str)
            cut = first.end_lineno if has_doc else first.lineno - 1
            guard = f'    raise NotImplementedError("{DIAGNOSE_GUARD.format(id=self.id)}")'
            return "\n".join(lines[:cut] + [guard] + lines[cut:]) + "\n"
        src = self.solution_source()
        fn = ast.parse(src).body[0]
        lines = src.splitlines()
        first = fn.body[0]
        has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
            and isinstance(first.value.value, str)
        keep_until = first.end_lineno if has_doc else fn.body[0].lineno - 1
        head = lines[:keep_until]
        body = [f"    {line}" if line else "" for line in self.starter.strip("\n").splitlines()]
        body.append(f'    raise NotImplementedError("exercise {self.id}: write your code here")')
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
