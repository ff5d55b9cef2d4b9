"""Exercise cells in notebooks: expand placeholders, detect drift, make solutions.

A chapter notebook marks each exercise with a code cell whose metadata is
``{"cnnlib": {"exercise": "2.1"}}``. :func:`sync_exercises` turns it into two
generated cells, both keeping that metadata plus a ``role``:

* ``stub``: the setup imports and the function's signature and docstring,
  raising ``NotImplementedError("exercise 2.1: ...")``;
* ``check``: ``check("2.1", corr2d)``.

The committed notebooks are the student versions; :func:`solution_notebook`
derives the solution version by putting the reference solution into each stub.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from cnnlib.grading.registry import Exercise, get_exercise

__all__ = [
    "exercise_cells",
    "exercise_ids",
    "exercise_problems",
    "placeholder_notebook",
    "solution_notebook",
    "sync_exercises",
    "write_solutions",
]

_KEY = "cnnlib"


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get(_KEY, {})
    return meta if isinstance(meta, dict) else {}


def _stub_text(exercise: Exercise, body: str) -> str:
    setup = exercise.setup.strip()
    return (setup + "\n\n\n" if setup else "") + body.rstrip() + "\n"


def exercise_cells(exercise: Exercise) -> list[nbformat.NotebookNode]:
    """The stub cell and the check cell for ``exercise``."""
    slug = exercise.id.replace(".", "-")
    stub = nbformat.v4.new_code_cell(_stub_text(exercise, exercise.stub_source()).rstrip("\n"))
    stub.metadata[_KEY] = {"exercise": exercise.id, "role": "stub"}
    stub["id"] = f"exercise-{slug}"
    check = nbformat.v4.new_code_cell(
        f"# Run this cell to check your {exercise.function} (exercise {exercise.id}).\n"
        f"from cnnlib.grading import check\n\n"
        f"check({exercise.id!r}, {exercise.function})"
    )
    check.metadata[_KEY] = {"exercise": exercise.id, "role": "check"}
    check["id"] = f"exercise-{slug}-check"
    return [stub, check]


def exercise_ids(nb) -> list[str]:
    """The exercise ids marked in ``nb``, in order, each once."""
    seen: dict[str, None] = {}
    for cell in nb.cells:
        ex = _meta(cell).get("exercise")
        if isinstance(ex, str):
            seen.setdefault(ex, None)
    return list(seen)


def _synced_cells(nb) -> list:
    cells = []
    for cell in nb.cells:
        meta = _meta(cell)
        ex = meta.get("exercise")
        if ex is None or cell.cell_type != "code":
            cells.append(cell)
        elif meta.get("role") == "check":
            continue  # regenerated after its stub
        else:
            cells += exercise_cells(get_exercise(ex))
    return cells


def placeholder_notebook(path: Path, ids, first_cell: str = "import cnnlib") -> Path:
    """Write an assignment notebook: ``first_cell``, then for each exercise id a
    heading and the placeholder cell that :func:`sync_exercises` expands."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(first_cell)]
    for ex in ids:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"### Exercise {ex}"))
        cell = nbformat.v4.new_code_cell(f"# exercise {ex}")
        cell.metadata[_KEY] = {"exercise": ex}
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def sync_exercises(path: Path) -> bool:
    """Expand or refresh ``path``'s exercise cells from the registry; True if it changed."""
    nb = nbformat.read(path, as_version=4)
    old = nbformat.writes(nb)
    nb.cells = _synced_cells(nb)
    new = nbformat.writes(nb)
    if new != old:
        Path(path).write_text(new)
    return new != old


def exercise_problems(path: Path) -> list[str]:
    """Why ``path``'s exercise cells differ from what ``sync`` would write (empty if current)."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    try:
        expected = _synced_cells(nb)
    except KeyError as exc:
        return [str(exc.args[0])]
    actual = nb.cells
    if [c.source for c in actual] != [c.source for c in expected] or \
            [_meta(c) for c in actual] != [_meta(c) for c in expected]:
        ids = exercise_ids(nb)
        problems.append(f"exercise cells ({', '.join(ids)}) are out of date with cnnlib.grading: "
                        f"run `python -m cnnlib.grading sync {path}`")
    return problems


def solution_notebook(nb) -> nbformat.NotebookNode:
    """A copy of the student notebook ``nb`` with every stub replaced by its solution."""
    out = nbformat.from_dict(nb)
    for cell in out.cells:
        meta = _meta(cell)
        if cell.cell_type == "code" and meta.get("role") == "stub":
            exercise = get_exercise(meta["exercise"])
            cell.source = _stub_text(exercise, exercise.solution_source()).rstrip("\n")
    return out


def write_solutions(paths: list[Path], out_dir: Path) -> list[Path]:
    """Write the solution version of each notebook in ``paths`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        target = out_dir / Path(path).name
        nbformat.write(solution_notebook(nb), target)
        written.append(target)
    return written
