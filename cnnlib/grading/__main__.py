"""Command line: ``python -m cnnlib.grading {list,sync,solutions,grade,merge,bench}``.

    python -m cnnlib.grading list                      # exercise ids, titles, points
    python -m cnnlib.grading sync [NOTEBOOK...]        # expand exercise placeholders (--check: only report)
    python -m cnnlib.grading solutions [NOTEBOOK...]   # solution notebooks into _build/solutions
    python -m cnnlib.grading grade SUBMISSION... --out grades.csv [--json grades.json]
          [--jobs N] [--timeout S] [--tests DIR] [--shard i/n] [--exercises 2.1,2.2]
    python -m cnnlib.grading grade --list FILE ...     # the submissions' paths in FILE (- for stdin)
    python -m cnnlib.grading merge shard*.json --out grades.csv [--json grades.json]
    python -m cnnlib.grading bench                     # grader throughput and overhead
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _notebooks(paths: list[Path]) -> list[Path]:
    return paths or sorted((ROOT / "notebooks").glob("*.ipynb"))


def _listed(path: Path | None) -> list[Path]:
    """The paths named in ``path`` (one a line; ``-``: standard input), which keeps them off
    the command line that every process on the machine can read."""
    if path is None:
        return []
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    return [Path(line) for line in text.splitlines() if line.strip()]


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: write it as i/n, e.g. 2/8") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: need 1 <= i <= n")
    return i, n


def _exercise_list(text: str) -> list[str]:
    from cnnlib.grading.registry import exercises_of_chapter, get_exercise

    ids: list[str] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        if item.isascii() and item.isdigit():
            found = exercises_of_chapter(int(item))
            if not found:
                raise argparse.ArgumentTypeError(f"--exercises: chapter {item} has no exercises")
            ids += found
        else:
            try:
                ids.append(get_exercise(item).id)
            except KeyError as exc:
                raise argparse.ArgumentTypeError(str(exc.args[0])) from None
    return list(dict.fromkeys(ids))


def _save(book: dict, args: argparse.Namespace, verb: str) -> int:
    """Write the gradebook as CSV (and JSON when asked) and say where it went."""
    from cnnlib.grading.grader import write_csv, write_json

    write_csv(book, args.out)
    if args.json:
        write_json(book, args.json)
    print(f"{verb} {len(book['submissions'])} submissions into {args.out}")
    return 0


# What `pip install "cnnlib[grading]"` adds: the grader reads and runs notebooks.
GRADING_EXTRA = {"nbformat": "nbformat", "nbclient": "nbclient", "jupyter_client": "jupyter_client",
                 "yaml": "pyyaml"}


def missing_grading_packages() -> list[str]:
    """The packages of the ``cnnlib[grading]`` extra that do not import here."""
    from importlib import import_module

    missing = []
    for module, package in GRADING_EXTRA.items():
        try:
            import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def _isolation_note() -> None:
    from cnnlib.grading.sandbox import is_root, user_namespaces_work

    if is_root():
        return
    if user_namespaces_work():
        print("note: not running as root, so submissions run as your own user, in a user namespace and a PID "
              "namespace of their own: no network, the hidden tests and submission folders unmounted, every file "
              "read-only outside the submission's own directory, no other process visible. As root, each job "
              "slot also gets a user of its own.", file=sys.stderr)
    else:
        print("warning: not running as root and user namespaces are not available here, so "
              "submissions run as your own user and can read (and change) your files, hidden tests "
              "included, and signal your processes; grade as root (e.g. in a container) to isolate them.",
              file=sys.stderr)


def _grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grade``: check the arguments, grade, save."""
    from cnnlib.grading.grader import GradeConfig, grade, load_hidden_tests, select_shard, student_ids
    from cnnlib.grading.sandbox import Limits

    submissions = list(args.submissions) + _listed(args.list)
    if not submissions:
        parser.error("no submissions: name them, or pass --list FILE")
    missing = [str(p) for p in submissions if not os.path.lexists(p)]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    try:
        names = student_ids(submissions)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        hidden = load_hidden_tests(args.tests)
    except (OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _isolation_note()
    config = GradeConfig(exercises=args.exercises, limits=Limits(timeout=args.timeout, memory_mb=args.memory_mb),
                         cell_timeout=args.cell_timeout, call_timeout=args.call_timeout, hidden=hidden, jobs=args.jobs)
    paths = select_shard(submissions, args.shard)
    try:
        book = grade(paths, config, progress=None if args.quiet else (lambda s: print(s, file=sys.stderr)),
                     names=names)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _save(book, args, "graded")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlib.grading", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered exercises")
    p = sub.add_parser("sync", help="expand or refresh the exercise cells of chapter notebooks")
    p.add_argument("notebooks", nargs="*", type=Path)
    p.add_argument("--check", action="store_true", help="only report notebooks that are out of date (exit 1)")
    p = sub.add_parser("solutions", help="write solution notebooks")
    p.add_argument("notebooks", nargs="*", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "solutions")
    p = sub.add_parser("grade", help="grade submitted notebooks")
    p.add_argument("submissions", nargs="*", type=Path)
    p.add_argument("--list", type=Path, help="a file naming the submissions, one path a line ('-': stdin)")
    p.add_argument("--out", type=Path, required=True, help="gradebook CSV")
    p.add_argument("--json", type=Path, help="per-check detail (also the input of `merge`)")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    p.add_argument("--timeout", type=float, default=300, help="seconds per submission (default 300)")
    p.add_argument("--cell-timeout", type=float, help="seconds per cell (default: a third of --timeout, at most 60)")
    p.add_argument("--call-timeout", type=float, help="seconds per call of a student's function "
                   "(default: each exercise's own limit)")
    p.add_argument("--memory-mb", type=int, default=6144, help="address space per submission (default 6144)")
    p.add_argument("--tests", type=Path, help="private directory of hidden tests (chmod 700)")
    p.add_argument("--shard", type=_shard, help="grade only shard i of n, e.g. 2/8")
    p.add_argument("--exercises", type=_exercise_list, help="ids or chapters, e.g. 2.1,2.2 or 2 (default: inferred)")
    p.add_argument("--quiet", action="store_true")
    p = sub.add_parser("merge", help="merge the JSON gradebooks of several shards")
    p.add_argument("books", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--json", type=Path)
    p = sub.add_parser("bench", help="measure the grader's throughput and overhead")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--notebook", type=Path, help="a student notebook to benchmark (default: exercises 2.1-3.4)")
    args = parser.parse_args(argv)
    missing = missing_grading_packages()
    if missing:
        print(f"error: the grader needs {', '.join(missing)}, which cnnlib's extra `grading` installs: "
              f"pip install \"cnnlib[grading]\" (from a clone: pip install -e \".[grading]\")", file=sys.stderr)
        return 2

    if args.command == "list":
        from cnnlib.grading.registry import list_exercises

        for e in list_exercises():
            print(f"{e.id:>5}  {e.points:g} pt  {e.function:<20} {e.title}")
        return 0
    if args.command == "sync":
        from cnnlib.grading.notebook import exercise_problems, sync_exercises

        failed = 0
        for path in _notebooks(args.notebooks):
            if args.check:
                for problem in exercise_problems(path):
                    print(f"{path}: {problem}")
                    failed += 1
            elif sync_exercises(path):
                print(f"updated {path}")
        return 1 if failed else 0
    if args.command == "solutions":
        from cnnlib.grading.notebook import write_solutions

        for target in write_solutions(_notebooks(args.notebooks), args.out):
            print(f"wrote {target}")
        return 0
    if args.command == "grade":
        return _grade(args, parser)
    if args.command == "merge":
        from cnnlib.grading.grader import merge

        book = merge([json.loads(p.read_text()) for p in args.books])
        return _save(book, args, "merged")
    if args.command == "bench":
        from cnnlib.grading.bench import main as bench_main

        return bench_main(n=args.n, jobs=args.jobs, notebook=args.notebook)
    return 2


if __name__ == "__main__":
    sys.exit(main())
