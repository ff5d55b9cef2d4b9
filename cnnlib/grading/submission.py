"""Reading submissions (trusted parent, untrusted files): code cells, exercise markers, student ids.

The parent reads only JSON and metadata: IPython syntax is applied in the
child, under its limits. Whatever a file holds, reading it either succeeds
or raises ``ValueError`` with a reason for the student's feedback.
"""
from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Submission", "read_submission", "student_ids", "select_shard", "infer_exercises",
           "MAX_NOTEBOOK_BYTES", "MAX_CELL_CHARS"]

MAX_NOTEBOOK_BYTES = 20 * 2**20
#: A code cell longer than this is not run (the notebook's own cells are a few kB).
MAX_CELL_CHARS = 100_000
_ID_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}", re.ASCII)


@dataclass
class Submission:
    """A notebook as the parent sees it: ``cells`` ``[(index, source)]``, the exercise ids it marks."""

    cells: list[tuple[int, str]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read_plain(path: Path) -> bytes:
    """The bytes of ``path``, a regular file (a symbolic link is refused, not followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if os.path.islink(path):
            raise ValueError("the submission is a symbolic link, not a file of its own; not graded") from None
        raise ValueError(f"cannot open the file ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("the submission is not a regular file; not graded")
        if st.st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the file is {st.st_size / 2**20:.0f} MB; a notebook over 20 MB is not graded")
        return f.read(MAX_NOTEBOOK_BYTES + 1)


def _parse(raw: bytes):
    import nbformat

    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError("not a notebook: its JSON is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a notebook: the file is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a notebook: the JSON is not an object")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except RecursionError:
        raise ValueError("not a notebook: its JSON is nested too deeply") from None
    except Exception as exc:
        raise ValueError(f"not a notebook nbformat can read ({type(exc).__name__}: {str(exc)[:120]})") from None
    return nb, data.get("nbformat")


def read_submission(path: Path) -> Submission:
    """Read ``path``; raises ValueError (with the reason) if it cannot be graded."""
    nb, version = _parse(_read_plain(Path(path)))
    sub = Submission()
    if version != 4:
        sub.notes.append(f"converted from nbformat {version}")
    odd: list[str] = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("cnnlib", {})
        marker = meta.get("exercise") if isinstance(meta, dict) else None
        if isinstance(marker, str):
            (sub.ids if _ID_RE.fullmatch(marker) else odd).append(marker)
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        if len(source) > MAX_CELL_CHARS:
            sub.notes.append(f"cell {index} has {len(source):,} characters; cells over {MAX_CELL_CHARS:,} are not run")
            source = ""
        sub.cells.append((index, source))
    if odd:
        sub.notes.append(f"ignored exercise markers that are not ids like 2.1: {', '.join(map(repr, odd[:3]))}")
    sub.ids = list(dict.fromkeys(sub.ids))
    return sub


def student_ids(paths: list[Path]) -> dict[Path, str]:
    """Student id per file: the shortest trailing part of its path (relative to the folder
    all submissions share, without ``.ipynb``) that no other file has.

    Raises:
        ValueError: two files have the same relative path (the same file given twice).
    """
    absolute = [Path(os.path.abspath(p)) for p in paths]
    base = Path(os.path.commonpath([str(p.parent) for p in absolute])) if absolute else Path("/")
    rel = {p: a.relative_to(base).with_suffix("").parts for p, a in zip(paths, absolute)}
    seen = Counter(a.relative_to(base).with_suffix("").parts for a in absolute)
    twice = [Path(*parts) for parts, n in seen.items() if n > 1]
    if twice:
        raise ValueError(f"the same submission was given twice: {', '.join(map(str, twice[:3]))}")
    ids = {}
    for p, parts in rel.items():
        for k in range(1, len(parts) + 1):
            tail = parts[-k:]
            if sum(other[-k:] == tail for other in rel.values()) == 1:
                ids[p] = "/".join(tail)
                break
    return ids


def select_shard(paths: list[Path], shard: tuple[int, int] | None) -> list[Path]:
    """Shard ``i`` of ``n`` (1-based) of the sorted ``paths``: every n-th file."""
    ordered = sorted(paths, key=lambda p: str(p))
    if shard is None:
        return ordered
    i, n = shard
    return [p for k, p in enumerate(ordered) if k % n == i - 1]


def _chapters(ids: list[str]) -> tuple[int, ...]:
    return tuple(sorted({int(e.split(".")[0]) for e in ids if _ID_RE.fullmatch(e)}))


def infer_exercises(found: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """The assignment's exercises from what the submissions mark: every registered exercise
    of the chapters that most submissions mark. ``found``: student -> marked ids.

    Returns:
        ``(exercise_ids, outliers)``: the students whose notebooks mark other chapters.

    Raises:
        ValueError: no set of chapters has a majority (the instructor must say,
            with ``--exercises``).
    """
    from cnnlib.grading.registry import list_exercises

    marks = {student: _chapters(ids) for student, ids in found.items() if _chapters(ids)}
    if not marks:
        return [], []
    votes = Counter(marks.values())
    (chapters, n), *rest = votes.most_common()
    if n * 2 <= len(marks):
        groups = "; ".join(f"chapters {', '.join(map(str, c))}: {k} notebook(s)" for c, k in votes.most_common(4))
        raise ValueError(f"the submissions disagree on the assignment ({groups}); "
                         f"pass --exercises (e.g. --exercises 2 or --exercises 2.1,2.2)")
    outliers = sorted(s for s, c in marks.items() if c != chapters)
    return [e.id for c in chapters for e in list_exercises(c)], outliers
