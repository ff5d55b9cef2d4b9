"""The grader against its adversarial corpus: every bad or cheating submission
gets exactly its expected score, twice in a row with two jobs, no file is
written outside a submission's directory, no process outlives the run, and
sharded grading merges into the same gradebook. Run it as root and as an
ordinary user: the fixture grades the corpus in whichever mode it runs.

The corpus is rebuilt by ``tests/grading_corpus/make_corpus.py``.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlib.grading.submission import student_ids

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "grading_corpus"
SUBMISSIONS = sorted((CORPUS / "submissions").rglob("*.ipynb"))
EXPECTED = json.loads((CORPUS / "expected.json").read_text())

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading corpus")]  # one worker: its module fixtures are costly

HIDDEN = '''
import torch
from cnnlib.grading import Case

SECRET = "instructor-only"

def _more_3_3(rng):
    return [Case((2, 3, 3, 5, 5), expected=1350, label="a case only the instructor knows")]

CASES = {"3.3": _more_3_3}
'''


# The memory bomb writes to every page it allocates until the address-space
# limit stops it, so its cell takes time in proportion to (limit - what the
# child has mapped already, about 3.3 GB with torch). At the default 6144 MB that
# is 2.8 GB of page faults: 1.7 s on one machine, more than 5 s on another. At
# 4096 MB it is about 0.8 GB, well inside the 8 s cell timeout, and every honest
# submission in the corpus still fits.
LIMITS = ("--timeout", "20", "--cell-timeout", "8", "--call-timeout", "4", "--memory-mb", "4096")


def _command(tmp: Path, name: str, *extra: str, paths=SUBMISSIONS) -> list[str]:
    out = tmp / f"{name}.csv"
    cmd = [sys.executable, "-m", "cnnlib.grading", "grade", *map(str, paths), "--out", str(out),
           "--json", str(tmp / f"{name}.json"), *LIMITS, "--quiet", *extra]
    return cmd


def _leftovers() -> list[int]:
    """Processes started by a grading run whose directory is gone: what a run left behind.
    (Every process of the sandbox inherits the server's environment, whose HOME is the
    run's private directory.)"""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        home = next((v[5:].decode(errors="replace") for v in env if v.startswith(b"HOME=")), "")
        if "cnnlib-grader-" in home and not os.path.exists(home):
            found.append(int(pid))
    return found


def _no_leftovers() -> list[int]:
    for _ in range(50):
        left = _leftovers()
        if not left:
            return []
        time.sleep(0.1)
    return left


def _grade(tmp: Path, name: str, *extra: str, paths=SUBMISSIONS, env=None) -> Path:
    """Grade, with the paths passed through a file (off the command line)."""
    listing = tmp / f"{name}.list"
    listing.write_text("".join(f"{p}\n" for p in paths))
    done = subprocess.run(_command(tmp, name, "--jobs", "2", "--list", str(listing), *extra, paths=[]),
                          capture_output=True, text=True,
                          env={**os.environ, "CNNLIB_TEST_SECRET": "SECRET", **(env or {})}, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not _no_leftovers(), f"processes left behind: {_leftovers()}"
    return tmp / f"{name}.csv"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    hidden = tmp / "hidden_tests"
    hidden.mkdir()
    (hidden / "tests.py").write_text(HIDDEN)
    hidden.chmod(0o700)
    first = _grade(tmp, "first", "--tests", str(hidden))
    second = _grade(tmp, "second", "--tests", str(hidden))
    return tmp, hidden, first, second


def _unescape(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {_unescape(row["student"]): row for row in csv.DictReader(f)}


def test_corpus_is_large_and_distinct():
    assert len(SUBMISSIONS) >= 40
    assert set(EXPECTED) == set(student_ids(SUBMISSIONS).values())


def _problems(csv_path: Path, names) -> list[str]:
    rows = _rows(csv_path)
    problems = []
    for name in names:
        want, row = EXPECTED[name], rows[name]
        for ex_id, points in want["points"].items():
            if abs(float(row[ex_id]) - points) > 1e-9:
                problems.append(f"{name}: exercise {ex_id} got {row[ex_id]}, expected {points} ({row['feedback']})")
        if abs(float(row["total"]) - want["total"]) > 1e-9:
            problems.append(f"{name}: total {row['total']}, expected {want['total']}")
        if want["feedback_contains"] and want["feedback_contains"] not in row["feedback"]:
            problems.append(f"{name}: feedback {row['feedback']!r} lacks {want['feedback_contains']!r}")
    return problems


# Where the vandal submission tries to drop a file; none may appear.
MARKER_PLACES = [ROOT / "cnnlib", ROOT, Path("/tmp"), Path("/var/tmp")]


def _markers() -> list[Path]:
    return [place / "VANDALIZED" for place in MARKER_PLACES if (place / "VANDALIZED").exists()]


def test_every_submission_gets_its_expected_score(graded):
    _, _, first, _ = graded
    problems = _problems(first, EXPECTED)
    assert not problems, "\n".join(problems)


def test_no_submission_wrote_outside_its_directory(graded):
    assert not _markers()


def test_gradebook_cells_cannot_run_as_formulas(graded):
    _, _, first, _ = graded
    text = first.read_text()
    assert "\n'=2+5+cmd|' -C calc'!A0,'=2+5+cmd|' -C calc'!A0.ipynb," in text
    assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())


def test_rows_are_named_by_their_relative_paths(graded):
    _, _, first, _ = graded
    rows = _rows(first)
    assert rows["dupA/x/alice"]["file"] == "dupA/x/alice.ipynb" and rows["dupA/x/alice"]["total"] == "15"
    assert rows["dupB/x/alice"]["total"] == "0"


def test_grades_are_identical_on_a_second_run(graded):
    _, _, first, second = graded
    assert first.read_text() == second.read_text()


def test_json_has_per_check_detail(graded):
    tmp, _, _, _ = graded
    book = json.loads((tmp / "first.json").read_text())
    assert book["exercises"]["3.3"]["cases"] == 2 + 5 + 1  # visible, hidden, the instructor's extra case
    correct = next(s for s in book["submissions"] if s["student"] == "correct")
    cases = correct["exercises"]["2.1"]["cases"]
    assert cases and all(c["status"] == "pass" for c in cases)
    assert "no network" in book["isolation"] or os.geteuid() != 0


def test_shards_merge_into_the_same_gradebook(graded, tmp_path):
    """Two shards graded at the same time (as a CI matrix would), then merged."""
    _, hidden, first, _ = graded
    few = [p for p in SUBMISSIONS if p.stem in ("correct", "untouched", "crash_in_function", "wrong_formula")]
    env = {**os.environ, "CNNLIB_TEST_SECRET": "SECRET"}
    shards = [subprocess.Popen(_command(tmp_path, f"shard{i}", "--tests", str(hidden), "--shard", f"{i}/2",
                                        paths=few), stderr=subprocess.PIPE, text=True, env=env) for i in (1, 2)]
    for proc in shards:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    assert len(_rows(tmp_path / "shard1.csv")) == len(_rows(tmp_path / "shard2.csv")) == 2
    merged = tmp_path / "merged.csv"
    done = subprocess.run([sys.executable, "-m", "cnnlib.grading", "merge", str(tmp_path / "shard1.json"),
                           str(tmp_path / "shard2.json"), "--out", str(merged)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    full = _rows(first)
    rows = _rows(merged)
    assert sorted(rows) == sorted(p.stem for p in few)
    for name, row in rows.items():
        assert row == full[name]


def test_hidden_tests_readable_by_others_are_refused(tmp_path):
    hidden = tmp_path / "open_tests"
    hidden.mkdir()
    hidden.chmod(0o755)
    done = subprocess.run([sys.executable, "-m", "cnnlib.grading", "grade", str(CORPUS / "submissions" / "correct.ipynb"), "--out",
                           str(tmp_path / "g.csv"), "--tests", str(hidden)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "chmod" in done.stderr


# The submissions that attack the sandbox itself, plus a correct and a wrong one.
ATTACKS = ["correct", "wrong_formula", "read_hidden_tests", "vandal", "disk_flood", "fork_bomb", "forge_results",
           "memory_bomb", "os_exit", "infinite_loop_unstoppable", "kill_the_grader", "read_command_lines",
           "thread_helper", "request_inputs_early", "fill_after_return", "zip_bomb_result"]


def _user_namespaces_work() -> bool:
    from cnnlib.grading.sandbox import user_namespaces_work

    return user_namespaces_work()


@pytest.mark.skipif(not _user_namespaces_work(), reason="this kernel or container refuses user namespaces or read-only remounts in them")
def test_without_root_the_attacks_fail_too(tmp_path):
    """The grader as an ordinary user (simulated from root with CNNLIB_GRADER_AS_USER=1,
    which sandboxes exactly as a user's grader would): same grades, no file written
    outside the submission's directory, hidden tests out of reach."""
    hidden = tmp_path / "hidden_tests"
    hidden.mkdir()
    (hidden / "tests.py").write_text(HIDDEN)
    hidden.chmod(0o700)
    paths = [CORPUS / "submissions" / f"{name}.ipynb" for name in ATTACKS]
    _grade(tmp_path, "user", "--tests", str(hidden), paths=paths, env={"CNNLIB_GRADER_AS_USER": "1"})
    book = json.loads((tmp_path / "user.json").read_text())
    assert "user namespace" in book["isolation"] and "read-only" in book["isolation"]
    problems = _problems(tmp_path / "user.csv", ATTACKS)
    assert not problems, "\n".join(problems)
    assert not _markers()
