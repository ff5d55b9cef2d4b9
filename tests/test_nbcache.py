"""The chapters run into the build's cache before the book build (cnnlib._nbcache)."""
from pathlib import Path

import nbformat
import pytest

from cnnlib._nbcache import ROOT, chapters, config_timeout, prerun, stale


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_chapters_follow_the_table_of_contents():
    found = chapters()
    assert found and all(p.suffix == ".ipynb" and p.is_file() for p in found)
    assert [p.name for p in found] == sorted(p.name for p in found)  # the parts list chapters in order
    assert ROOT / "notebooks" / "00_setup.ipynb" in found


def test_the_time_limit_is_the_builds():
    import yaml

    assert config_timeout() == yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]


@pytest.mark.slow
def test_prerun_caches_successes_only_and_a_code_change_makes_a_notebook_stale(tmp_path):
    from jupyter_cache import get_cache

    cache_path = tmp_path / "cache"
    good = _notebook(tmp_path / "good.ipynb", "print(6 * 7)")
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken on purpose')")
    assert stale([good, bad], cache_path) == [good, bad]
    lines: list[str] = []
    assert prerun([good, bad], jobs=2, timeout=60, cache_path=cache_path, log=lines.append) == 1
    assert stale([good, bad], cache_path) == [bad]  # the failure is left to the build
    assert any("bad.ipynb" in line and "failed" in line for line in lines)
    record = get_cache(cache_path).match_cache_notebook(nbformat.read(good, as_version=4))
    cached = get_cache(cache_path).get_cache_bundle(record.pk).nb
    assert cached.cells[0].outputs[0]["text"] == "42\n"
    _notebook(good, "print(6 * 8)")
    assert stale([good], cache_path) == [good]


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        prerun([], jobs=0, cache_path=tmp_path / "cache")
