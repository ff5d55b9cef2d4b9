"""Rebuild the corpus of the predict, choose and diagnose exercises:
``python tests/grading_corpus/make_kinds_corpus.py``.

Writes ``kinds/base.ipynb`` (exercises 1.5, 2.5, 2.6, 3.5, 3.6, 6.6 and 6.7, as
a chapter notebook holds them after ``sync``) and, under ``kinds/submissions/``,
one notebook per kind of answer: right, untouched, a wrong choice, the visible
answers copied, an answer of the wrong type, a diagnose stub left buggy and
one fixed another way. ``kinds/expected.json`` holds the score each must get
(computed here by judging each submitted function on the grader's own cases),
a phrase its feedback must contain, and which exercises must show an
explanation under their wrong answers.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import torch

from cnnlib.grading.evaluate import expected_value, judge_case
from cnnlib.grading.grader import DEFAULT_SEED
from cnnlib.grading.notebook import solution_notebook, sync_exercises
from cnnlib.grading.registry import get_exercise

HERE = Path(__file__).resolve().parent / "kinds"
SUBS = HERE / "submissions"
IDS = ["1.5", "2.5", "2.6", "3.5", "3.6", "6.6", "6.7"]
POINTS = {ex: get_exercise(ex).points for ex in IDS}


def base_notebook() -> Path:
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell("# Assignment: predict, choose, diagnose"),
             nbformat.v4.new_code_cell("import torch\nimport cnnlib\n\ncnnlib.seed_everything(0)")]
    for ex in IDS:
        cells.append(nbformat.v4.new_markdown_cell(f"### Exercise {ex}"))
        placeholder = nbformat.v4.new_code_cell(f"# exercise {ex}")
        placeholder.metadata["cnnlib"] = {"exercise": ex}
        cells.append(placeholder)
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    HERE.mkdir(exist_ok=True)
    path = HERE / "base.ipynb"
    nbformat.write(nb, path)
    sync_exercises(path)
    return path


def _stub_index(nb, ex: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("cnnlib", {}) == {"exercise": ex, "role": "stub"})


def points_for(ex_id: str, source: str) -> float:
    """The points the grader must give ``source`` for ``ex_id``: judged here, case by case."""
    exercise = get_exercise(ex_id)
    namespace: dict = {"torch": torch}  # what the notebook's first cell imports
    exec(compile(source, "<submission>", "exec"), namespace)
    fn = namespace[exercise.function]
    cases = exercise.cases(hidden_seed=DEFAULT_SEED)
    passed = 0
    for case in cases:
        try:
            value = fn(*case.args, **case.kwargs)
        except NotImplementedError:
            return 0.0
        except Exception:  # an error in one case fails that case only
            continue
        passed += judge_case(exercise, case, expected_value(exercise, case), status="ok", value=value).passed
    return round(exercise.points * passed / len(cases), 2)


# The misconception 3.5 is about: the layer with the most parameters costs the most.
MOST_PARAMETERS = '''def costliest_layer(input_shape, layers):
    c_in = input_shape[0]
    return max(layers, key=lambda letter: (layers[letter][1] ** 2 * c_in + 1) * layers[letter][0])'''

# The visible answers of 1.5, looked up; "A" for anything else.
COPIED = '''def survives_shift(shift, networks):
    seen = {(3, 1): "C", (2, -4): "D", (0, 6): "B"}
    return seen.get(tuple(shift), "A")'''

# Right reasoning, wrong type: the index of the letter instead of the letter.
INDEX_NOT_LETTER = '''def costliest_layer(input_shape, layers):
    c_in, h, w = input_shape
    costs = []
    for c_out, k, s, p in layers.values():
        out = (h + 2 * p - k) // s + 1
        costs.append(out * out * c_out * c_in * k * k)
    return costs.index(max(costs))'''

# A prediction of the wrong shape: three numbers instead of four.
THREE_NUMBERS = '''def conv_as_matrix(in_channels, out_channels, height, width, kernel_size):
    rows = out_channels * (height - kernel_size + 1) * (width - kernel_size + 1)
    return rows, in_channels * height * width, rows * in_channels * kernel_size ** 2'''

# 2.5 with right counts but floats: the wrong type, so no explanation either.
FLOATS = '''def conv_as_matrix(in_channels, out_channels, height, width, kernel_size):
    rows = out_channels * (height - kernel_size + 1) * (width - kernel_size + 1)
    return (float(rows), float(in_channels * height * width), float(rows * in_channels * kernel_size ** 2),
            float(out_channels * in_channels * kernel_size ** 2))'''

# 3.6 fixed another way than the reference: PyTorch's own "same" padding.
SAME_PADDING = '''def conv_same(x, weight, dilation):
    return torch.nn.functional.conv2d(x, weight, padding="same", dilation=dilation)'''

# 6.6 forgetting that PyTorch gives the true class a share of the smoothing too.
SMOOTHING_09 = '''import math


def smoothed_loss_floor(num_classes, smoothing):
    true_class, other = 1 - smoothing, smoothing / (num_classes - 1)
    return -(true_class * math.log(true_class) + smoothing * math.log(other)) if smoothing else 0.0'''


def _left_buggy(nb, ex: str) -> str:
    """The diagnose stub with only its guard line deleted: the bug is still there."""
    lines = nb.cells[_stub_index(nb, ex)].source.splitlines()
    return "\n".join(line for line in lines if "NotImplementedError" not in line)


def main() -> None:
    base = nbformat.read(base_notebook(), as_version=4)
    solved = solution_notebook(base)
    SUBS.mkdir(exist_ok=True)
    for old in SUBS.glob("*"):
        old.unlink()
    expected: dict[str, dict] = {}

    def save(name: str, edits: dict[str, str], contains: str = "", explained: tuple[str, ...] = (),
             untouched: bool = False) -> None:
        nb = nbformat.from_dict(base if untouched else solved)
        points = {ex: (0 if untouched else POINTS[ex]) for ex in IDS}
        for ex, src in edits.items():
            nb.cells[_stub_index(nb, ex)].source = src
            points[ex] = points_for(ex, src)
        nbformat.write(nb, SUBS / f"{name}.ipynb")
        expected[name] = {"points": points, "total": round(sum(points.values()), 2),
                          "feedback_contains": contains, "explained": list(explained)}

    save("right_answers", {})
    save("untouched", {}, "not attempted", untouched=True)
    save("wrong_choice", {"3.5": MOST_PARAMETERS}, "3.5:", explained=("3.5",))
    save("copied_answers", {"1.5": COPIED}, "1.5:", explained=("1.5",))
    save("wrong_type", {"3.5": INDEX_NOT_LETTER, "2.5": THREE_NUMBERS}, "answer with one of")
    save("wrong_type_floats", {"2.5": FLOATS}, "return an int")
    save("wrong_prediction", {"6.6": SMOOTHING_09}, "6.6:", explained=("6.6",))
    save("diagnose_left_buggy", {ex: _left_buggy(base, ex) for ex in ("2.6", "3.6", "6.7")}, "3.6:")
    save("diagnose_fixed_another_way", {"3.6": SAME_PADDING})
    assert expected["diagnose_left_buggy"]["total"] < expected["right_answers"]["total"]
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
