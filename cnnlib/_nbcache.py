"""Run the book's chapters into the build's jupyter-cache, several at a time.

``jupyter-book build`` executes the notebooks it finds out of date one after
another. On a machine with a few cores most of a chapter's time is
single-threaded Python (plotting, widget frames, small training loops), so
``make book`` first runs the stale chapters here, ``--jobs`` at a time, the
same way the build would (jupyter-cache's ``single_nb_execution``: nbclient,
the notebook's folder as working directory, the ``_config.yml`` time limit),
and stores them in ``_build/.jupyter_cache``. The build then finds every
chapter cached and only renders it::

    python -m cnnlib._nbcache --jobs 2

A chapter that fails here is not stored: the build runs it again and reports
the error as it always does. Chapters already cached with their current code
are skipped.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

__all__ = ["chapters", "config_timeout", "stale", "prerun", "main"]

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"


def chapters(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """The notebooks the table of contents lists, in its order."""
    files: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text()))
    paths = [ROOT / f"{name}.ipynb" for name in files]
    return [p for p in paths if p.is_file()]


def config_timeout(config: Path = ROOT / "_config.yml") -> int:
    """The per-cell time limit the book build uses (``execute.timeout`` in ``_config.yml``)."""
    return int((yaml.safe_load(config.read_text()).get("execute") or {}).get("timeout", 600))


def stale(paths: list[Path], cache_path: Path = CACHE) -> list[Path]:
    """Those of ``paths`` that the cache holds no run of (for their current code)."""
    from jupyter_cache import get_cache

    cache = get_cache(cache_path)
    out = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            out.append(path)
    return out


def _execute(path: Path, timeout: int) -> tuple[Path, nbformat.NotebookNode | None, float, str]:
    """In a worker process: run one notebook as the build would."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout, allow_errors=False,
                                 meta_override=True)
    if result.err is not None:
        return path, None, result.time, f"{type(result.err).__name__}: {str(result.err)[-500:]}"
    return path, result.nb, result.time, ""


def prerun(paths: list[Path], *, jobs: int = 2, timeout: int = 600, cache_path: Path = CACHE,
           log=print) -> int:
    """Execute ``paths`` ``jobs`` at a time and cache each success; returns the number that failed."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.main import CacheBundleIn

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}.")
    cache = get_cache(cache_path)
    failed = 0
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_execute, path, timeout) for path in paths]
        for future in as_completed(futures):
            path, nb, seconds, error = future.result()
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            if error:
                failed += 1
                log(f"{name}: failed after {seconds:.1f} s ({error.splitlines()[0] if error else ''}); "
                    "the book build runs it again and shows the error")
                continue
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(CacheBundleIn(nb, record.uri, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            log(f"{name}: executed in {seconds:.1f} s")
    log(f"{len(paths)} notebook(s), {jobs} at a time, in {time.perf_counter() - start:.1f} s")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlib._nbcache", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: _config.yml's)")
    args = parser.parse_args(argv)
    todo = stale(chapters())
    if not todo:
        print("every chapter is cached with its current code")
        return 0
    prerun(todo, jobs=args.jobs, timeout=args.timeout or config_timeout())
    return 0  # failures are reported by the build, which runs those chapters again


if __name__ == "__main__":
    sys.exit(main())
