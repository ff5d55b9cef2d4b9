"""Every notebook shows the same outputs each time it runs.

The first run is the one the book build stored in its jupyter-cache (what a
reader sees on the site); the second is a fresh kernel here. Without a built
book, or when ``cnnlib`` changed after it was built, the notebook runs twice.
Text, tables, figures and the widgets' figures are compared exactly, with two
marked exceptions:

- a cell tagged ``wall-clock`` reports how long something took besides what it
  computed: its durations are masked and its figures are left out;
- a cell tagged ``benchmark`` prints nothing but measurements (times, speed
  ratios, GFLOP/s): every number in it is masked and its figures are left out,
  so only its layout is compared.

Every other cell must be reproducible.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from cnnlib._nbcache import CACHE, config_timeout  # the book build's jupyter-cache and cell time limit
from cnnlib._nbrun import execute, visible_outputs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BUILT = ROOT / "_build" / ".built-with-cnnlib"  # the Makefile touches it when a build starts
CELL_TIMEOUT = config_timeout()  # the build's: generous, so a busy machine does not fail the test
WALL_CLOCK, BENCHMARK = "wall-clock", "benchmark"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")

# "6.5 s", "12 ms", "0.3 min", "1.2e-03 s", a tqdm-style "00:07"; also rates.
_DURATION = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?\s?(?:ms|µs|us|s|min|sec|seconds)\b|\b\d+:\d\d\b"
                       r"|\d+(?:\.\d+)?\s?(?:it/s|GFLOP/s)")


def _cached_run(path: Path) -> nbformat.NotebookNode | None:
    """The outputs the book build stored for this exact notebook source, if they
    are current: jupyter-cache keys on the notebook's code only, so they are
    not once a cnnlib file is newer than the build (the Makefile's rule too)."""
    if not BUILT.is_file() or any(p.stat().st_mtime > BUILT.stat().st_mtime for p in (ROOT / "cnnlib").rglob("*.py")):
        return None
    from jupyter_cache import get_cache

    cache = get_cache(CACHE)
    try:
        record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return None
    return cache.get_cache_bundle(record.pk).nb


def _mask(cell: nbformat.NotebookNode, lines: list[str]) -> list[str]:
    """Mask what a ``wall-clock`` or ``benchmark`` cell measured (see the module's docstring)."""
    tags = cell.metadata.get("tags", [])
    if WALL_CLOCK not in tags and BENCHMARK not in tags:
        return lines
    if BENCHMARK in tags:  # numbers, and the column padding that depends on their widths
        lines = [re.sub(r"[ \t]+", " ", _NUMBER.sub("<n>", line)) for line in lines]
    return [_DURATION.sub("<time>", line) for line in lines if not line.startswith("image/")]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_gives_identical_outputs_twice(path):
    first = _cached_run(path) or execute(path, timeout=CELL_TIMEOUT)
    second = execute(path, timeout=CELL_TIMEOUT)
    a, b = visible_outputs(first, _mask), visible_outputs(second, _mask)
    assert len(a) > 0
    assert any("image/png" in line or "image/jpeg" in line for line in a), "figures are part of the comparison"
    differ = [f"{x!r}\n    != {y!r}" for x, y in zip(a, b) if x != y]
    assert not differ and len(a) == len(b), (
        f"{path.name} differs between runs ({len(a)} vs {len(b)} output lines); seed it, or tag a cell that "
        f"reports timings '{WALL_CLOCK}' (or '{BENCHMARK}' if it only measures speed):\n" + "\n".join(differ[:10]))


def test_masks():
    assert _NUMBER.sub("<n>", "LeNet-5 conv1  16x1x32x32  0.44  8.5  1.13x; median 1,234.5") == \
        "LeNet-<n> conv<n>  <n>x<n>x<n>x<n>  <n>  <n>  <n>x; median <n>"
    assert _DURATION.sub("<t>", "LeNet-5: 0.9833 (353/359) in 6.5 s; 12 ms per batch; 3 it/s") == \
        "LeNet-5: 0.9833 (353/359) in <t>; <t> per batch; <t>"
    assert _DURATION.sub("<t>", "accuracy 0.978 at shift 2, 16x16 canvas") == "accuracy 0.978 at shift 2, 16x16 canvas"
