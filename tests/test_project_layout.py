"""Project rules that are cheap to check: notebooks, table of contents, dependencies."""
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from cnnlib import notebooks as nbtools

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_has_a_current_colab_header(path):
    url, branch = nbtools.repository()
    assert nbtools.check_notebook(path, url, branch) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_cnnlib_and_defines_no_library_code(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(re.search(r"^import cnnlib|^from cnnlib", s, re.M) for s in code)
    exercise_cells = {i for i, c in enumerate(nb.cells) if "cnnlib" in c.get("metadata", {})}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and i not in exercise_cells:
            assert not re.search(r"^(def|class) ", cell.source, re.M), f"cell {i} defines library code"


def test_header_check_detects_a_stale_url(tmp_path):
    nb_path = NOTEBOOKS[0]
    assert nbtools.check_notebook(nb_path, "https://github.com/someone/else", "main") != []


def test_sync_is_idempotent(tmp_path, monkeypatch):
    copy = ROOT / "notebooks" / "_sync_test.ipynb"
    try:
        nb = nbformat.read(NOTEBOOKS[0], as_version=4)
        nb.cells = nb.cells[2:]  # drop the header
        nbformat.write(nb, copy)
        url, branch = nbtools.repository()
        assert nbtools.sync_notebook(copy, url, branch) is True
        assert nbtools.check_notebook(copy, url, branch) == []
        assert nbtools.sync_notebook(copy, url, branch) is False
        text = copy.read_text()
        assert f"colab.research.google.com/github/{url.removeprefix('https://github.com/')}/blob/{branch}/notebooks/_sync_test.ipynb" in text
    finally:
        copy.unlink(missing_ok=True)


def test_every_notebook_is_in_the_table_of_contents_and_every_entry_exists():
    toc = _toc_files()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc, f"{path.name} is missing from _toc.yml"
    for entry in toc:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml lists missing {entry}"


def test_repository_url_is_set_in_one_place():
    url, _ = nbtools.repository()
    hits = [p for p in ROOT.rglob("*") if p.suffix in {".py", ".md", ".yml", ".toml", ".txt"}
            and ".venv" not in p.parts and "_build" not in p.parts and "node_modules" not in p.parts
            and p.is_file() and url in p.read_text(errors="ignore")]
    assert [p.relative_to(ROOT).as_posix() for p in hits] == ["_config.yml"]


def test_runtime_dependencies_are_in_requirements_with_lower_bounds_only():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    reqs = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert set(deps) <= set(reqs)
    for req in reqs:
        assert "==" not in req, f"requirements.txt pins {req}; exact pins belong in constraints.txt"
    pins = (ROOT / "constraints.txt").read_text()
    assert "torch==2.14.1" in pins and "torchvision==0.29.1" in pins
