"""Grader throughput and overhead: ``python -m cnnlib.grading bench``.

Makes ``n`` correct submissions (the solution version of a notebook), times
one execution of that notebook with nbclient (a fresh Jupyter kernel, as a
student's run would be), then grades the ``n`` copies with ``jobs`` children
at a time, and prints submissions per minute and the grader's overhead per
submission: the grading run's wall time times ``jobs`` divided by ``n``,
minus the nbclient time. Both are measured in the same run, on this machine.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from cnnlib.grading.grader import GradeConfig, grade
from cnnlib.grading.notebook import exercise_ids, placeholder_notebook, solution_notebook, sync_exercises
from cnnlib.grading.sandbox import Limits

__all__ = ["bench_notebook", "run_bench", "main"]

DEFAULT_IDS = ("2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3", "3.4")


def bench_notebook(path: Path, ids=DEFAULT_IDS) -> Path:
    """A small student notebook with exercises ``ids``, written to ``path``."""
    placeholder_notebook(path, ids, first_cell="import torch\nimport cnnlib\n\ncnnlib.seed_everything(0)")
    sync_exercises(path)
    return path


def _nbclient_seconds(path: Path, repeats: int) -> list[float]:
    from nbclient import NotebookClient

    times = []
    for _ in range(repeats):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        times.append(time.perf_counter() - start)
    return times


def run_bench(n: int = 20, jobs: int = 2, notebook: Path | None = None, repeats: int = 3) -> dict:
    """Measure; return the numbers (also printed by :func:`main`)."""
    with tempfile.TemporaryDirectory(prefix="cnnlib-bench-") as tmp:
        tmp_path = Path(tmp)
        student = Path(notebook) if notebook else bench_notebook(tmp_path / "assignment.ipynb")
        solved = solution_notebook(nbformat.read(student, as_version=4))
        solved_path = tmp_path / "solution.ipynb"
        nbformat.write(solved, solved_path)
        nb_times = _nbclient_seconds(solved_path, repeats)
        subs = tmp_path / "submissions"
        subs.mkdir()
        paths = []
        for i in range(n):
            target = subs / f"student{i:03d}.ipynb"
            nbformat.write(solved, target)
            paths.append(target)
        config = GradeConfig(exercises=exercise_ids(solved), limits=Limits(timeout=300), jobs=jobs)
        start = time.perf_counter()
        book = grade(paths, config)
        seconds = time.perf_counter() - start
    full = sum(r["total"] == r["max"] for r in book["submissions"])
    nb_median = statistics.median(nb_times)
    per_submission = seconds * jobs / n
    return {
        "submissions": n, "jobs": jobs, "full_marks": full, "grading_seconds": seconds,
        "per_minute": 60 * n / seconds, "nbclient_seconds": nb_median, "nbclient_runs": nb_times,
        "slot_seconds_per_submission": per_submission, "overhead_seconds": per_submission - nb_median,
        "child_seconds_median": statistics.median(r.get("seconds", 0.0) for r in book["submissions"]),
        "isolation": book["isolation"],
    }


def main(n: int = 20, jobs: int = 2, notebook: Path | None = None) -> int:
    r = run_bench(n, jobs, notebook)
    print(f"grader benchmark: {r['submissions']} correct submissions, --jobs {r['jobs']} ({r['isolation']})")
    print(f"  full marks:                         {r['full_marks']} of {r['submissions']}")
    print(f"  grading wall time:                  {r['grading_seconds']:.1f} s "
          f"(including the sandbox server's start)")
    print(f"  throughput:                         {r['per_minute']:.1f} submissions per minute")
    print(f"  one nbclient run of the notebook:   {r['nbclient_seconds']:.2f} s "
          f"(median of {', '.join(f'{t:.2f}' for t in r['nbclient_runs'])})")
    print(f"  grader time per submission and job: {r['slot_seconds_per_submission']:.2f} s "
          f"(child alone, median: {r['child_seconds_median']:.2f} s)")
    print(f"  overhead beyond nbclient:           {r['overhead_seconds']:+.2f} s per submission")
    return 0 if r["full_marks"] == r["submissions"] else 1
