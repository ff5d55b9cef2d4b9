'''Self-checking exercises and a batch grader that runs each submission in a sandbox.

For students: under every exercise a check cell runs the visible checks and
prints, per case, pass or fail, the input, what was expected and what your
function returned (shapes and the largest difference for tensors)::

    from cnnlib.grading import check
    check("2.1", corr2d)

For instructors: ``python -m cnnlib.grading grade submissions/*.ipynb --out
grades.csv --json grades.json`` (see the instructor guide in the book).

For chapter authors
-------------------
An exercise lives in ``cnnlib/grading/exercises/chNN.py`` (one module per
chapter, imported automatically). Write the reference solution as an ordinary
function: its name is the function the student writes, its signature and
docstring become the student's stub, its source becomes the solution. Only
use names the notebook has (``torch``, imported by ``setup``); never call
``cnnlib`` in a solution, since the forbid rules stop students from doing so.
Then register it with its checks::

    import torch
    from cnnlib.grading.registry import Case, Exercise, register

    def corr2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Cross-correlate ``x`` of shape (H, W) with ``k`` of shape (kH, kW).

        Returns ``y`` of shape (H - kH + 1, W - kW + 1) with
        y[i, j] = sum_a sum_b x[i + a, j + b] * k[a, b].
        """
        kh, kw = k.shape
        y = torch.zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1, dtype=x.dtype)
        for i in range(y.shape[0]):
            for j in range(y.shape[1]):
                y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
        return y

    def _visible():                      # shown to students, run by check()
        x, k = torch.arange(9.).reshape(3, 3), torch.arange(4.).reshape(2, 2)
        return [Case((x, k), expected=torch.tensor([[19., 25.], [37., 43.]]),
                     label="the 3x3 input and 2x2 kernel from the text")]

    def _hidden(rng):                    # grader only; rng: numpy Generator
        x = torch.from_numpy(rng.standard_normal((7, 6)).astype("float32"))
        k = torch.from_numpy(rng.standard_normal((3, 2)).astype("float32"))
        return [Case((x, k), label="random 7x6 input, 3x2 kernel")]  # expected: solution's output

    register(Exercise("2.1", "Cross-correlation of one channel", solution=corr2d,
                      visible=_visible, hidden=_hidden, points=2,
                      forbid=("aten::conv", "cnnlib", "scipy"),
                      hint="Slide the kernel: output (i, j) sums x[i:i+kH, j:j+kW] * k."))

``Case(args, kwargs, label, expected=..., atol, rtol, hint)``: the expected
value defaults to the reference solution's output, computed by the grader.
``Case(args, judge=fn)`` judges the returned value itself: ``fn(got) ->
(passed, message)``; for training exercises use ``Exercise(returns="state_dict")``
so the student's function returns an ``nn.Module`` and ``fn`` receives its
``state_dict`` (a dict of tensors) to load into a fresh model and evaluate on
held-out data the student's function never receives (``judge_lenet`` in
``exercises/ch06.py`` is an example). ``forbid`` names modules,
functions or ``"aten::REGEX"`` PyTorch operators the function must not call;
the check reports such a call and the grader gives the exercise 0 points.

Exercises that test understanding use the same registry with a ``kind``
(see :mod:`cnnlib.grading.registry`): ``kind="predict"`` or ``"choose"``
(with ``choices=("A", "B", "C", "D")``) for a question whose parameters are
the function's arguments, with ``explain=fn`` saying why an answer is right
(shown only under a wrong one); ``kind="diagnose"`` with ``buggy=fn``, a
function with a bug whose source becomes the stub (behind a guard line the
student deletes); ``3.5``, ``2.5`` and ``3.6`` in ``exercises/`` are examples.

In the notebook, put a markdown cell with the task, then a code cell whose
metadata is ``{"cnnlib": {"exercise": "2.1"}}`` (source: ``# exercise 2.1``),
and run ``python -m cnnlib.grading sync notebooks/02_convolution.ipynb``: the
placeholder becomes the stub cell and the check cell (re-run it after editing
the registry; a test fails when a notebook is out of date).
``python -m cnnlib.grading list`` (or :func:`list_exercises`) shows the ids.
'''
from __future__ import annotations

from cnnlib.grading.feedback import CheckReport, check
from cnnlib.grading.registry import SOLUTION, Case, Exercise, exercises_of_chapter, get_exercise, list_exercises, register

__all__ = [
    "SOLUTION",
    "Case",
    "CheckReport",
    "Exercise",
    "check",
    "exercises_of_chapter",
    "get_exercise",
    "list_exercises",
    "register",
]
