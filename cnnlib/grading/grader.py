"""The trusted parent: grade notebooks into a gradebook (CSV) and per-check JSON.

For each submission it reads the notebook (converting old formats), extracts
the code, draws the visible and hidden inputs, computes the expected answers
itself, and runs the code in a sandboxed child (:mod:`cnnlib.grading.sandbox`)
that only returns what the student's functions returned. Then it judges,
scores and writes the gradebook.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cnnlib.grading import codec
from cnnlib.grading.evaluate import CaseResult, expected_value, judge_case
from cnnlib.grading.forbid import scan_source
from cnnlib.grading.registry import Case, Exercise, get_exercise, list_exercises
from cnnlib.grading.sandbox import ForkServer, Limits, is_root, private_directory, release_directory, run_child

__all__ = ["GradeConfig", "HiddenTests", "load_hidden_tests", "grade", "grade_one", "write_csv", "write_json",
           "merge", "student_ids", "select_shard"]

DEFAULT_SEED = 20_260_917
MAX_NOTEBOOK_BYTES = 20 * 2**20


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


# ------------------------------------------------------------------ reading submissions
def read_submission(path: Path) -> tuple[list[tuple[int, str]], list[str], list[str]]:
    """``(code_cells, exercise_ids_found, notes)`` from a notebook; raises ValueError if unreadable."""
    import nbformat

    raw = Path(path).read_bytes()
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the file is {len(raw) / 2**20:.0f} MB; a notebook over 20 MB is not graded")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a notebook: the file is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a notebook: the JSON is not an object")
    notes = []
    version = data.get("nbformat")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:
        raise ValueError(f"not a notebook nbformat can read ({type(exc).__name__}: {str(exc)[:120]})") from None
    if version != 4:
        notes.append(f"converted from nbformat {version}")
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    cells, ids = [], []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("cnnlib", {})
        if isinstance(meta, dict) and isinstance(meta.get("exercise"), str):
            ids.append(meta["exercise"])
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        try:
            source = transform(source)
        except Exception:
            pass  # the child reports the syntax error
        cells.append((index, source))
    return cells, list(dict.fromkeys(ids)), notes


def student_ids(paths: list[Path]) -> dict[Path, str]:
    """Student id per file: the file name without ``.ipynb``, or ``folder/name``
    when several files share a name (one folder per student)."""
    stems: dict[str, int] = {}
    for p in paths:
        stems[p.stem] = stems.get(p.stem, 0) + 1
    return {p: (p.stem if stems[p.stem] == 1 else f"{p.parent.name}/{p.stem}") for p in paths}


def select_shard(paths: list[Path], shard: tuple[int, int] | None) -> list[Path]:
    """Shard ``i`` of ``n`` (1-based) of the sorted ``paths``: every n-th file."""
    ordered = sorted(paths, key=lambda p: str(p))
    if shard is None:
        return ordered
    i, n = shard
    return [p for k, p in enumerate(ordered) if k % n == i - 1]


def infer_exercises(found: list[list[str]]) -> list[str]:
    """All registered exercises of every chapter that any submission marks."""
    chapters = sorted({int(e.split(".")[0]) for ids in found for e in ids if e.split(".")[0].isdigit()})
    return [e.id for c in chapters for e in list_exercises(c)]


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
    if not results or any(r.status == "forbidden" for r in results):
        return 0.0
    return round(points * sum(r.passed for r in results) / len(results), 2)


def _exercise_note(ex_id: str, status: str, results: list[CaseResult], function: str) -> str:
    if status == "missing":
        return f"{ex_id}: no function named {function} (renamed or deleted?)"
    if status == "not callable":
        return f"{ex_id}: {function} is not a function"
    if status == "not run":
        return ""
    if any(r.status == "forbidden" for r in results):
        r = next(r for r in results if r.status == "forbidden")
        return f"{ex_id}: forbidden: {r.message}"
    if results and all(r.status == "not attempted" for r in results):
        return f"{ex_id}: not attempted"
    failed = [r for r in results if not r.passed]
    if not failed:
        return ""
    first = failed[0]
    return f"{ex_id}: {len(results) - len(failed)}/{len(results)} checks ({first.message or first.status})"


def grade_one(path: Path, student: str, ids: list[str], prepared: list[_Prepared], config: GradeConfig,
              slot: int, server: ForkServer, stage: str | None = None) -> dict:
    """Grade one notebook; never raises for anything the submission does."""
    record: dict[str, Any] = {"student": student, "file": Path(path).name, "notes": [], "exercises": {}}

    def fail_all(reason: str, status: str = "not run") -> dict:
        record["notes"].append(reason)
        for p in prepared:
            record["exercises"][p.exercise.id] = {"points": 0.0, "max": p.exercise.points, "status": status,
                                                 "cases": []}
        return _finish(record, prepared)

    try:
        cells, _, notes = read_submission(path)
    except (OSError, ValueError) as exc:
        return fail_all(str(exc))
    record["notes"] += notes
    tampering = scan_source("\n".join(src for _, src in cells))
    arrays: dict = {}
    task = {"cells": cells, "cell_time_limit": config.cell_time_limit, "exercises": []}
    for p in prepared:
        task["exercises"].append({
            "id": p.exercise.id, "function": p.exercise.function, "returns": p.exercise.returns,
            "forbid": list(p.exercise.forbidden),
            "time_limit": p.exercise.time_limit if config.call_timeout is None else config.call_timeout,
            "cases": [{"args": codec.encode(list(c.args), arrays), "kwargs": codec.encode(dict(c.kwargs), arrays)}
                      for c in p.cases],
        })
    slot_dir = os.path.join(stage, f"slot{slot}") if stage else None
    base = tempfile.mkdtemp(prefix="cnnlib-grade-", dir=slot_dir if slot_dir and os.path.isdir(slot_dir)
                            else stage or config.workdir)
    try:
        os.chmod(base, 0o711)  # the child may pass through to its own directory, not list this one
        workdir = os.path.join(base, "work")
        os.mkdir(workdir, 0o700)
        codec.dump(task, arrays, os.path.join(workdir, "task.json"), os.path.join(workdir, "inputs.npz"))
        nonce = secrets.token_hex(16)
        outcome = run_child(server, workdir, nonce, config.limits, slot=slot, stderr_path=os.path.join(base, "stderr"))
        record["seconds"] = round(outcome.seconds, 2)
        if outcome.killed_for:
            return fail_all(outcome.killed_for)
        try:
            report, values = codec.load(os.path.join(workdir, "out", "result.json"),
                                        os.path.join(workdir, "out", "arrays.npz"))
        except (OSError, ValueError) as exc:
            why = "the notebook ended the grading process early (os._exit, a crash, or out of memory)"
            if outcome.returncode and outcome.returncode < 0:
                why += f"; signal {-outcome.returncode}"
            last = [line for line in outcome.stderr_tail.splitlines() if line.strip()][-1:]
            record["stderr"] = outcome.stderr_tail[-1000:]
            return fail_all(f"{why}; no results" + (f" (last error: {last[0][:150]})" if last else ""))
        if not isinstance(report, dict) or report.get("nonce") != nonce:
            return fail_all("the result file was not written by the grader (forged output)")
    finally:
        shutil.rmtree(base, ignore_errors=True)

    if isinstance(report.get("seconds"), dict):
        record["child_seconds"] = {str(k): float(v) for k, v in report["seconds"].items()
                                   if isinstance(v, (int, float))}
    if report.get("n_cell_errors"):
        errors = [str(e) for e in report.get("cell_errors", [])][:3]
        record["notes"].append(f"{report['n_cell_errors']} cell(s) failed: " + "; ".join(errors))
    if tampering:
        record["notes"].append("uses names that tamper with the grader (" + ", ".join(tampering) +
                               "): 0 points for exercises with forbid rules; review by hand")
    exercises = report.get("exercises") if isinstance(report.get("exercises"), dict) else {}
    for p in prepared:
        ex = p.exercise
        entry = exercises.get(ex.id) if isinstance(exercises.get(ex.id), dict) else {"status": "missing"}
        status = entry.get("status") if entry.get("status") in ("ok", "missing", "not callable") else "missing"
        results: list[CaseResult] = []
        raw_cases = entry.get("cases") if isinstance(entry.get("cases"), list) else []
        if status == "ok":
            for k, (case, expected) in enumerate(zip(p.cases, p.expected)):
                raw = raw_cases[k] if k < len(raw_cases) and isinstance(raw_cases[k], dict) else \
                    {"status": "error", "error": "no result for this case"}
                violations = [str(v)[:200] for v in raw.get("violations", [])][:5] if isinstance(
                    raw.get("violations"), list) else []
                if tampering and ex.forbid:
                    violations = violations or ["uses names that tamper with the grader"]
                try:
                    value = codec.decode(raw.get("value"), values) if raw.get("status") == "ok" else None
                    st = raw.get("status") if raw.get("status") in ("ok", "error", "not attempted") else "error"
                    results.append(judge_case(ex, case, expected, status=st, value=value,
                                              error=str(raw.get("error", ""))[:300], violations=violations))
                except (ValueError, KeyError, TypeError) as exc:
                    results.append(judge_case(ex, case, expected, status="error",
                                              error=f"unreadable result: {exc}"))
        record["exercises"][ex.id] = {
            "points": _score(ex.points, results), "max": ex.points, "status": status,
            "cases": [r.as_dict() for r in results],
            "note": _exercise_note(ex.id, status, results, ex.function),
        }
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
def grade(paths: list[Path], config: GradeConfig, *, progress: Callable[[str], None] | None = None) -> dict:
    """Grade ``paths`` with ``config.jobs`` children at a time; return the gradebook dict."""
    paths = [Path(p) for p in paths]
    ids = config.exercises
    if not ids:
        found = []
        for p in paths:
            try:
                found.append(read_submission(p)[1])
            except (OSError, ValueError):
                pass
        ids = infer_exercises(found)
    if not ids:
        raise ValueError("No exercises to grade: none of the submissions marks an exercise. "
                         "Pass --exercises 2.1,2.2 (or the chapter: --exercises 2).")
    prepared = _prepare(ids, config.hidden)
    names = student_ids(paths)
    slots: queue.Queue[int] = queue.Queue()
    for s in range(max(1, config.jobs)):
        slots.put(s)

    def work(path: Path) -> dict:
        slot = slots.get()
        try:
            rec = grade_one(path, names[path], ids, prepared, config, slot, server, stage)
        except Exception as exc:  # a grader bug must not lose the other students' grades
            rec = _finish({"student": names[path], "file": path.name, "exercises": {
                p.exercise.id: {"points": 0.0, "max": p.exercise.points, "status": "not run", "cases": []}
                for p in prepared}, "notes": [f"internal grader error, grade by hand: {type(exc).__name__}: {exc}"]},
                prepared)
        finally:
            slots.put(slot)
        if progress:
            progress(f"{rec['student']}: {rec['total']:g}/{rec['max']:g}")
        return rec

    # As root, outside the shared /tmp, which the children get an empty private copy of.
    root_dir = config.workdir or ("/run" if is_root() and os.path.isdir("/run") else None)
    stage = tempfile.mkdtemp(prefix="cnnlib-grader-", dir=root_dir)
    os.chmod(stage, 0o711)
    # One size-limited file system per job slot, mounted before the sandbox server
    # starts so that its mount namespace shares it: a submission can fill only its own.
    slot_dirs = []
    for k in range(max(1, config.jobs)):
        slot_dir = os.path.join(stage, f"slot{k}")
        os.mkdir(slot_dir, 0o711)
        if private_directory(slot_dir, config.limits):
            os.chmod(slot_dir, 0o711)
            slot_dirs.append(slot_dir)
    try:
        hide = _private_dirs(config, paths, stage)
        with ForkServer(stage, hide) as server, ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
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


def write_csv(book: dict, path: Path) -> None:
    """One row per student: id, file, one column per exercise, total, max, feedback."""
    ids = list(book["exercises"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "file", *ids, "total", "max", "feedback"])
        for rec in book["submissions"]:
            writer.writerow([rec["student"], rec["file"],
                             *[f"{rec['exercises'].get(i, {}).get('points', 0):g}" for i in ids],
                             f"{rec['total']:g}", f"{rec['max']:g}", rec["feedback"]])


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
