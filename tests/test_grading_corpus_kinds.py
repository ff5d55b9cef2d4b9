"""The grader on the predict, choose and diagnose corpus: right answers, an
untouched notebook, a wrong choice, copied visible answers, answers of the
wrong type, a diagnose stub left buggy and one fixed another way each get
exactly their expected score, and explanations appear only under wrong answers.

The corpus is rebuilt by ``tests/grading_corpus/make_kinds_corpus.py``.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnnlib.grading.notebook import exercise_problems, solution_notebook

pytestmark = pytest.mark.xdist_group("grading corpus kinds")  # one worker: its module fixtures are costly

CORPUS = Path(__file__).parent / "grading_corpus" / "kinds"
SUBMISSIONS = sorted((CORPUS / "submissions").glob("*.ipynb"))
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
IDS = "1.5,2.5,2.6,3.5,3.6,6.6,6.7"


def test_corpus_is_complete_and_current():
    assert {p.stem for p in SUBMISSIONS} == set(EXPECTED) >= {
        "right_answers", "untouched", "wrong_choice", "wrong_type", "diagnose_left_buggy",
        "diagnose_fixed_another_way"}
    assert exercise_problems(CORPUS / "base.ipynb") == []
    solved = solution_notebook(nbformat.read(CORPUS / "base.ipynb", as_version=4))
    right = nbformat.read(CORPUS / "submissions" / "right_answers.ipynb", as_version=4)
    assert [c.source for c in solved.cells] == [c.source for c in right.cells]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinds")
    cmd = [sys.executable, "-m", "cnnlib.grading", "grade", *map(str, SUBMISSIONS), "--out", str(tmp / "g.csv"),
           "--json", str(tmp / "g.json"), "--exercises", IDS, "--jobs", "2", "--timeout", "120", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp / "g.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return rows, json.loads((tmp / "g.json").read_text())


@pytest.mark.slow
def test_every_submission_gets_its_expected_score(graded):
    rows, _ = graded
    problems = []
    for name, want in EXPECTED.items():
        row = rows[name]
        for ex_id, points in want["points"].items():
            if abs(float(row[ex_id]) - points) > 1e-9:
                problems.append(f"{name}: {ex_id} got {row[ex_id]}, expected {points} ({row['feedback']})")
        if abs(float(row["total"]) - want["total"]) > 1e-9:
            problems.append(f"{name}: total {row['total']}, expected {want['total']}")
        if want["feedback_contains"] not in row["feedback"]:
            problems.append(f"{name}: feedback {row['feedback']!r} lacks {want['feedback_contains']!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_explanations_only_under_wrong_answers(graded):
    _, book = graded
    for record in book["submissions"]:
        want = EXPECTED[record["student"]]
        for ex_id, entry in record["exercises"].items():
            for case in entry["cases"]:
                if case["status"] != "fail":
                    assert not case["explanation"], (record["student"], ex_id, case)
            explained = [c for c in entry["cases"] if c["explanation"]]
            assert bool(explained) == (ex_id in want["explained"]), (record["student"], ex_id)
    wrong_type = next(r for r in book["submissions"] if r["student"] == "wrong_type")
    assert all("answer with one of 'A', 'B', 'C', 'D'" in c["message"] for c in wrong_type["exercises"]["3.5"]["cases"])
    untouched = next(r for r in book["submissions"] if r["student"] == "untouched")
    assert all(c["status"] == "not attempted" for e in untouched["exercises"].values() for c in e["cases"])
