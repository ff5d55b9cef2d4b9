"""Exercise cells in notebooks: sync expands placeholders, is idempotent, and a
committed notebook that drifted from the registry fails here."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cnnlib.grading import get_exercise
from cnnlib.grading.feedback import run_visible
from cnnlib.grading.notebook import (
    exercise_ids,
    exercise_problems,
    placeholder_notebook,
    solution_notebook,
    sync_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "tests" / "grading_corpus" / "base.ipynb"


def _with_exercises(paths):
    return [p for p in paths if exercise_ids(nbformat.read(p, as_version=4))]


CHAPTERS = _with_exercises(sorted((ROOT / "notebooks").glob("*.ipynb")))


def _placeholder_notebook(path: Path, ids=("2.1", "3.1")) -> Path:
    return placeholder_notebook(path, ids)


def test_sync_expands_placeholders_and_is_idempotent(tmp_path):
    path = _placeholder_notebook(tmp_path / "a.ipynb")
    assert exercise_problems(path)
    assert sync_exercises(path)
    nb = nbformat.read(path, as_version=4)
    roles = [(c.metadata["cnnlib"]["exercise"], c.metadata["cnnlib"]["role"]) for c in nb.cells if "cnnlib" in c.metadata]
    assert roles == [("2.1", "stub"), ("2.1", "check"), ("3.1", "stub"), ("3.1", "check")]
    assert 'raise NotImplementedError("exercise 2.1' in nb.cells[2].source
    assert nb.cells[3].source.endswith('check(\'2.1\', corr2d)')
    assert not sync_exercises(path)
    assert exercise_problems(path) == []
    nbformat.validate(nb)


def test_drift_is_detected(tmp_path):
    path = _placeholder_notebook(tmp_path / "a.ipynb")
    sync_exercises(path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("Cross-correlate", "Correlate")
    nbformat.write(nb, path)
    assert "out of date" in exercise_problems(path)[0]
    sync_exercises(path)
    assert exercise_problems(path) == []


def test_unknown_exercise_is_reported(tmp_path):
    path = _placeholder_notebook(tmp_path / "a.ipynb", ids=("42.7",))
    assert "No exercise '42.7'" in exercise_problems(path)[0]


def test_solution_notebook_replaces_only_stubs():
    student = nbformat.read(BASE, as_version=4)
    solved = solution_notebook(student)
    changed = [i for i, (a, b) in enumerate(zip(student.cells, solved.cells)) if a.source != b.source]
    assert changed and all(student.cells[i].metadata["cnnlib"]["role"] == "stub" for i in changed)
    assert all("NotImplementedError" not in solved.cells[i].source for i in changed)


def _run_cells(nb) -> dict:
    namespace: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, "<cell>", "exec"), namespace)
    return namespace


def test_student_version_runs_and_every_check_says_not_attempted():
    nb = nbformat.read(BASE, as_version=4)
    namespace = _run_cells(nb)
    for ex_id in exercise_ids(nb):
        exercise = get_exercise(ex_id)
        assert not run_visible(exercise, namespace[exercise.function]).attempted


def test_solution_version_passes_every_visible_check():
    nb = solution_notebook(nbformat.read(BASE, as_version=4))
    namespace = _run_cells(nb)
    for ex_id in exercise_ids(nb):
        exercise = get_exercise(ex_id)
        report = run_visible(exercise, namespace[exercise.function])
        assert report.passed == len(report.results), str(report)


def test_corpus_base_notebook_is_current():
    assert exercise_problems(BASE) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_notebook_exercises_are_current(path):
    assert exercise_problems(path) == [], "run: python -m cnnlib.grading sync " + str(path.relative_to(ROOT))
