"""The trusted parent: grade notebooks into a gradebook (CSV) and per-check JSON.

For each submission it reads the notebook (:mod:`cnnlib.grading.submission`),
draws the visible and hidden inputs, computes the expected answers itself,
and runs the code in a sandboxed child (:mod:`cnnlib.grading.sandbox`) that
gets the inputs only after its cells have run and returns only what the
student's functions returned. Then it judges, scores and writes the gradebook.
One submission's failure, whatever it is, costs only its own row.
"""
from __future__ import annotations

import csv
import json
import os
import queue
import runpy
import secrets
import shutil
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from cnnlib.grading import codec
from cnnlib.grading.evaluate import CaseResult, expected_value, judge_case
from cnnlib.grading.forbid import scan_source
from cnnlib.grading.protocol import CallRecord, ChildReport, ExerciseReport, Inputs, Status, Task, TaskExercise
from cnnlib.grading.registry import Case, Exercise, get_exercise
from cnnlib.grading.sandbox import (ChildOutcome, ForkServer, Handoff, Limits, is_root, private_directory,
                                    release_directory, run_child)
from cnnlib.grading.submission import Submission, infer_exercises, read_submission, select_shard, student_ids

__all__ = ["GradeConfig", "HiddenTests", "load_hidden_tests", "grade", "grade_one", "csv_text", "write_csv", "write_json",
           "merge", "student_ids", "select_shard"]

DEFAULT_SEED = 20_260_917


@dataclass
class HiddenTests:
    """The instructor's private additions: a seed for the hidden inputs and extra cases."""

    seed: int = DEFAULT_SEED
    extra: dict[str, list[Callable]] = field(default_factory=dict)
    directory: Path | None = None


def load_hidden_tests(directory: Path | None) -> HiddenTests:
    """Read ``directory``'s ``*.py`` files (run in the trusted parent only).

    Each may set ``SEED = <int>`` (the seed of every exercise's hidden inputs)
    and ``CASES = {"2.1": fn, ...}`` with ``fn(rng) -> list[Case]`` adding
    hidden cases. The directory must not be readable by other users.
    """
    tests = HiddenTests()
    if directory is None:
        return tests
    directory = Path(directory)
    tests.directory = directory.resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"--tests {directory}: no such directory.")
    mode = directory.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(f"--tests {directory} is readable by other users, so submissions could read it. "
                              f"Run `chmod -R go-rwx {directory}` and grade again.")
    for path in sorted(directory.glob("*.py")):
        data = runpy.run_path(str(path))
        if "SEED" in data:
            tests.seed = int(data["SEED"])
        for ex_id, fn in dict(data.get("CASES", {})).items():
            get_exercise(ex_id)  # a typo in the id is an error, not a silent no-op
            tests.extra.setdefault(str(ex_id), []).append(fn)
    return tests


@dataclass
class GradeConfig:
    """Options of one grading run (see ``python -m cnnlib.grading grade --help``)."""

    exercises: list[str] | None = None
    limits: Limits = field(default_factory=Limits)
    cell_timeout: float | None = None
    call_timeout: float | None = None
    hidden: HiddenTests = field(default_factory=HiddenTests)
    jobs: int = 1
    workdir: Path | None = None

    @property
    def cell_time_limit(self) -> float:
        return self.cell_timeout if self.cell_timeout is not None else max(5.0, min(60.0, self.limits.timeout / 3))


# ------------------------------------------------------------------ one submission
@dataclass
class _Prepared:
    exercise: Exercise
    cases: list[Case]
    expected: list[Any]


def _prepare(ids: list[str], hidden: HiddenTests) -> list[_Prepared]:
    import numpy as np

    prepared = []
    for ex_id in ids:
        exercise = get_exercise(ex_id)
        cases = exercise.cases(hidden_seed=hidden.seed)
        for k, fn in enumerate(hidden.extra.get(ex_id, [])):
            cases += list(fn(np.random.default_rng([hidden.seed, 7919, k, *map(int, ex_id.split("."))])))
        prepared.append(_Prepared(exercise, cases, [expected_value(exercise, c) for c in cases]))
    return prepared


def _score(points: float, results: list[CaseResult]) -> float:
    if not results or any(r.status == Status.FORBIDDEN for r in results):
        return 0.0
    return round(points * sum(r.passed for r in results) / len(results), 2)


def _exercise_note(ex_id: str, status: str, results: list[CaseResult], function: str) -> str:
    if status == Status.MISSING:
        return f"{ex_id}: no function named {function} (renamed or deleted?)"
    if status == Status.NOT_CALLABLE:
        return f"{ex_id}: {function} is not a function"
    if status == Status.NOT_RUN:
        return ""
    if any(r.status == Status.FORBIDDEN for r in results):
        r = next(r for r in results if r.status == Status.FORBIDDEN)
        return f"{ex_id}: forbidden: {r.message}"
    if results and all(r.status == Status.NOT_ATTEMPTED for r in results):
        return f"{ex_id}: not attempted"
    failed = [r for r in results if not r.passed]
    if not failed:
        return ""
    first = failed[0]
    return f"{ex_id}: {len(results) - len(failed)}/{len(results)} checks ({first.message or first.status})"


def _new_record(student: str, file: str) -> dict[str, Any]:
    return {"student": student, "file": file, "notes": [], "exercises": {}}


def _fail_all(record: dict, prepared: list[_Prepared], reason: str) -> dict:
    """Every exercise 0 and not run, with ``reason`` in the feedback."""
    record["notes"].append(reason)
    for p in prepared:
        record["exercises"][p.exercise.id] = {"points": 0.0, "max": p.exercise.points, "status": Status.NOT_RUN.value,
                                             "cases": []}
    return _finish(record, prepared)


def _task(sub: Submission, prepared: list[_Prepared], config: GradeConfig) -> tuple[Task, Handoff]:
    """What the child runs first (cells, exercise names) and what it gets after (inputs)."""
    import io

    import numpy as np

    arrays: dict = {}
    cases, exercises = {}, []
    for p in prepared:
        ex = p.exercise
        limit = ex.time_limit if config.call_timeout is None else config.call_timeout
        exercises.append(asdict(TaskExercise(ex.id, ex.function, ex.returns, list(ex.forbidden), limit, len(p.cases))))
        cases[ex.id] = [[codec.encode(list(c.args), arrays), codec.encode(dict(c.kwargs), arrays)] for c in p.cases]
    npz = io.BytesIO()
    np.savez(npz, **arrays)
    task = Task([list(c) for c in sub.cells], config.cell_time_limit, exercises)
    return task, Handoff(Inputs(cases).to_json().encode(), npz.getvalue())


def _run(sub: Submission, prepared: list[_Prepared], config: GradeConfig, slot: int, server: ForkServer,
         stage: str | None) -> tuple[ChildOutcome, ChildReport | None, dict, str]:
    """Run the child in a fresh directory; ``(outcome, report, arrays, problem)``."""
    task, handoff = _task(sub, prepared, config)
    slot_dir = os.path.join(stage, f"slot{slot}") if stage else None
    base = tempfile.mkdtemp(prefix="cnnlib-grade-", dir=slot_dir if slot_dir and os.path.isdir(slot_dir)
                            else stage or config.workdir)
    try:
        os.chmod(base, 0o711)  # the child may pass through to its own directory, not list this one
        workdir = os.path.join(base, "work")
        os.mkdir(workdir, 0o700)
        with open(os.path.join(workdir, "task.json"), "w", encoding="utf-8") as f:
            f.write(task.to_json())
        nonce = secrets.token_hex(16)
        outcome = run_child(server, workdir, nonce, config.limits, handoff, slot=slot,
                            stderr_path=os.path.join(base, "stderr"))
        if outcome.killed_for:
            return outcome, None, {}, outcome.killed_for
        try:
            data, values = codec.load(os.path.join(workdir, "out", "result.json"),
                                      os.path.join(workdir, "out", "arrays.npz"))
        except (OSError, ValueError):
            return outcome, None, {}, _no_results(outcome)
        report = ChildReport.from_dict(data)
        if report.nonce != nonce:
            return outcome, None, {}, "the result file was not written by the grader (forged output)"
        return outcome, report, values, ""
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _no_results(outcome: ChildOutcome) -> str:
    why = "the notebook ended the grading process early (os._exit, a crash, or out of memory)"
    if outcome.returncode and outcome.returncode < 0:
        why += f"; signal {-outcome.returncode}"
    last = [line for line in outcome.stderr_tail.splitlines() if line.strip()][-1:]
    return f"{why}; no results" + (f" (last error: {last[0][:150]})" if last else "")


def _judge_exercise(p: _Prepared, entry: ExerciseReport, values: dict, tampering: list[str]) -> dict:
    """The gradebook entry of one exercise from the child's report of it."""
    ex = p.exercise
    results: list[CaseResult] = []
    calls = entry.calls() if entry.status == Status.OK else []
    for k, (case, expected) in enumerate(zip(p.cases, p.expected)) if entry.status == Status.OK else ():
        call = calls[k] if k < len(calls) else CallRecord(Status.ERROR, error="no result for this case")
        violations = call.violations or (["uses names that tamper with the grader"] if tampering and ex.forbid else [])
        try:
            value = codec.decode(call.value, values) if call.status == Status.OK else None
            results.append(judge_case(ex, case, expected, status=call.status, value=value, error=call.error,
                                      violations=violations))
        except (ValueError, KeyError, TypeError) as exc:
            results.append(judge_case(ex, case, expected, status=Status.ERROR, error=f"unreadable result: {exc}"))
    return {"points": _score(ex.points, results), "max": ex.points, "status": str(entry.status),
            "cases": [r.as_dict() for r in results], "note": _exercise_note(ex.id, entry.status, results, ex.function)}


def grade_one(path: Path, student: str, ids: list[str], prepared: list[_Prepared], config: GradeConfig,
              slot: int, server: ForkServer, stage: str | None = None, file: str | None = None) -> dict:
    """Grade one notebook; never raises for anything the submission does."""
    record = _new_record(student, file or Path(path).name)
    try:
        sub = read_submission(path)
    except (OSError, ValueError) as exc:
        return _fail_all(record, prepared, str(exc))
    record["notes"] += sub.notes
    tampering = scan_source("\n".join(src for _, src in sub.cells))
    outcome, report, values, problem = _run(sub, prepared, config, slot, server, stage)
    record["seconds"] = round(outcome.seconds, 2)
    if report is None:
        if problem.startswith("the notebook ended"):
            record["stderr"] = outcome.stderr_tail[-1000:]
        return _fail_all(record, prepared, problem)
    record["child_seconds"] = {str(k): float(v) for k, v in report.seconds.items() if isinstance(v, (int, float))}
    if report.n_cell_errors:
        errors = [str(e) for e in report.cell_errors][:3]
        record["notes"].append(f"{report.n_cell_errors} cell(s) failed: " + "; ".join(errors))
    if tampering:
        record["notes"].append("uses names that tamper with the grader (" + ", ".join(tampering) +
                               "): 0 points for exercises with forbid rules; review by hand")
    for p in prepared:
        record["exercises"][p.exercise.id] = _judge_exercise(p, report.exercise(p.exercise.id), values, tampering)
    return _finish(record, prepared)


def _finish(record: dict, prepared: list[_Prepared]) -> dict:
    record["total"] = round(sum(e["points"] for e in record["exercises"].values()), 2)
    record["max"] = round(sum(p.exercise.points for p in prepared), 2)
    grouped: dict[str, list[str]] = {}  # the same reason for several exercises: said once
    for ex_id, e in record["exercises"].items():
        note = e.get("note", "")
        if note:
            grouped.setdefault(note.split(": ", 1)[1], []).append(ex_id)
    notes = [f"{', '.join(ids)}: {reason}" for reason, ids in grouped.items()]
    record["feedback"] = "; ".join([n for n in record["notes"] + notes if n])[:500]
    return record


# ------------------------------------------------------------------ many submissions
def _assignment(paths: list[Path], names: dict[Path, str], config: GradeConfig,
                progress: Callable[[str], None] | None) -> tuple[list[str], list[str]]:
    """The exercise ids to grade, and the students whose notebooks mark other chapters."""
    if config.exercises:
        return list(config.exercises), []
    found = {}
    for p in paths:
        try:
            found[names[p]] = read_submission(p).ids
        except Exception:  # an unreadable notebook gets its 0 when graded
            pass
    ids, outliers = infer_exercises(found)
    if not ids:
        raise ValueError("No exercises to grade: none of the submissions marks an exercise. "
                         "Pass --exercises 2.1,2.2 (or the chapter: --exercises 2).")
    if outliers and progress:
        progress(f"note: graded on the chapters most notebooks mark; these mark others: {', '.join(outliers[:10])}")
    return ids, outliers


def _make_stage(config: GradeConfig) -> tuple[str, list[str]]:
    """The grader's private directory, with one size-limited file system per job slot (as root),
    mounted before the sandbox server starts so that its mount namespace shares them."""
    # As root, outside the shared /tmp, which the children get an empty private copy of.
    root_dir = config.workdir or ("/run" if is_root() and os.path.isdir("/run") else None)
    stage = tempfile.mkdtemp(prefix="cnnlib-grader-", dir=root_dir)
    os.chmod(stage, 0o711)
    slot_dirs = []
    for k in range(max(1, config.jobs)):
        slot_dir = os.path.join(stage, f"slot{k}")
        os.mkdir(slot_dir, 0o711)
        if private_directory(slot_dir, config.limits):
            os.chmod(slot_dir, 0o711)
            slot_dirs.append(slot_dir)
    return stage, slot_dirs


def grade(paths: list[Path], config: GradeConfig, *, progress: Callable[[str], None] | None = None,
          names: dict[Path, str] | None = None) -> dict:
    """Grade ``paths`` with ``config.jobs`` children at a time; return the gradebook dict.

    ``names``: student ids per path (default :func:`student_ids` of ``paths``; a
    sharded run passes those of the whole class).
    """
    paths = [Path(p) for p in paths]
    names = names or student_ids(paths)
    ids, outliers = _assignment(paths, names, config, progress)
    prepared = _prepare(ids, config.hidden)
    slots: queue.Queue[int] = queue.Queue()
    for s in range(max(1, config.jobs)):
        slots.put(s)

    def work(path: Path) -> dict:
        slot = slots.get()
        try:
            rec = grade_one(path, names[path], ids, prepared, config, slot, server, stage, file=names[path] + ".ipynb")
        except BaseException as exc:  # a grader bug must not lose the other students' grades
            rec = _fail_all(_new_record(names[path], names[path] + ".ipynb"), prepared,
                            f"internal grader error, grade by hand: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            slots.put(slot)
        if names[path] in outliers:
            rec["notes"].insert(0, "the notebook marks exercises of chapters this assignment does not have")
            rec = _finish(rec, prepared)
        if progress:
            progress(f"{rec['student']}: {rec['total']:g}/{rec['max']:g}")
        return rec

    stage, slot_dirs = _make_stage(config)
    try:
        with ForkServer(stage, _private_dirs(config, paths, stage)) as server, \
                ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
            isolation = server.isolation
            records = list(pool.map(work, paths))
    finally:
        for slot_dir in slot_dirs:
            release_directory(slot_dir)
        shutil.rmtree(stage, ignore_errors=True)
    return {
        "exercises": {p.exercise.id: {"title": p.exercise.title, "points": p.exercise.points,
                                      "cases": len(p.cases)} for p in prepared},
        "isolation": isolation,
        "submissions": sorted(records, key=lambda r: r["student"]),
    }


def _private_dirs(config: GradeConfig, paths: list[Path], stage: str) -> tuple[str, ...]:
    """Directories the children must not see: the hidden tests, and the folders of the
    submissions (other students' work), unless a folder also holds what the children need."""
    import sys

    import cnnlib

    needed = [Path(stage).resolve(), Path(tempfile.gettempdir()).resolve(), Path(sys.prefix).resolve(),
              Path(sys.base_prefix).resolve(), Path(cnnlib.__file__).resolve().parent]
    if os.environ.get("CNNLIB_DATA"):
        needed.append(Path(os.environ["CNNLIB_DATA"]).resolve())
    hide = [config.hidden.directory] if config.hidden.directory else []
    for folder in sorted({p.resolve().parent for p in paths}):
        if not any(n == folder or folder in n.parents for n in needed) and folder != Path("/"):
            hide.append(folder)
    return tuple(str(h) for h in hide)


def csv_text(text: str) -> str:
    """``text`` safe in a spreadsheet: a cell that begins like a formula gets a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(book: dict, path: Path) -> None:
    """One row per student: id, file, one column per exercise, total, max, feedback."""
    ids = list(book["exercises"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "file", *ids, "total", "max", "feedback"])
        for rec in book["submissions"]:
            writer.writerow([csv_text(rec["student"]), csv_text(rec["file"]),
                             *[f"{rec['exercises'].get(i, {}).get('points', 0):g}" for i in ids],
                             f"{rec['total']:g}", f"{rec['max']:g}", csv_text(rec["feedback"])])


def write_json(book: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(book, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def merge(books: list[dict]) -> dict:
    """One gradebook from the shards' JSON gradebooks."""
    exercises: dict = {}
    seen: dict[str, dict] = {}
    for book in books:
        exercises.update(book.get("exercises", {}))
        for rec in book.get("submissions", []):
            if rec["student"] in seen:
                raise ValueError(f"student {rec['student']!r} appears in two shards; "
                                 f"grade each submission in exactly one shard.")
            seen[rec["student"]] = rec
    isolation = sorted({b.get("isolation", "") for b in books})
    return {"exercises": dict(sorted(exercises.items(), key=lambda kv: tuple(map(int, kv[0].split("."))))),
            "isolation": "; ".join(isolation), "submissions": sorted(seen.values(), key=lambda r: r["student"])}
