"""Keep every chapter notebook's first two cells in step with ``_config.yml``.

Each notebook starts with an Open-in-Colab badge and a set-up cell that, in
Colab only, installs ``cnnlib`` from the book's repository (keeping Colab's
own torch). Both are generated from ``repository.url`` and ``branch`` in
``_config.yml``, the one place the address is set::

    python -m cnnlib.notebooks sync    # rewrite the header cells
    python -m cnnlib.notebooks check   # fail if a header is stale or outputs are stored
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

__all__ = ["colab_url", "header_cells", "repository", "check_notebook", "sync_notebook"]

ROOT = Path(__file__).resolve().parent.parent
HEADER_TAG = "cnnlib-header"


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """``(url, branch)`` from ``_config.yml``'s ``repository`` section."""
    import yaml

    repo = yaml.safe_load(config.read_text())["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def colab_url(relpath: str, url: str, branch: str) -> str:
    """The address that opens the repository's notebook ``relpath`` in Google Colab."""
    github = url.rstrip("/").removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github}/blob/{branch}/{relpath}"


def header_cells(relpath: str, url: str, branch: str) -> list[nbformat.NotebookNode]:
    """The badge cell and the Colab set-up cell for the notebook at ``relpath``."""
    badge = nbformat.v4.new_markdown_cell(
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(relpath, url, branch)})"
    )
    setup = nbformat.v4.new_code_cell(
        "# Set-up. In Google Colab this installs cnnlib from the book's repository and\n"
        "# keeps Colab's own torch; anywhere else it does nothing.\n"
        "import subprocess, sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"cnnlib @ git+{url}@{branch}\"], check=True)"
    )
    # The badge image is remote, so the site hides this cell and draws its own
    # badge from a local copy of the image (book/_ext/book_chrome.py).
    badge.metadata["tags"] = [HEADER_TAG, "remove-cell"]
    setup.metadata["tags"] = [HEADER_TAG, "remove-cell"]
    badge["id"], setup["id"] = "colab-badge", "colab-setup"
    return [badge, setup]


def _is_header(cell) -> bool:
    return HEADER_TAG in cell.get("metadata", {}).get("tags", [])


def sync_notebook(path: Path, url: str, branch: str) -> bool:
    """Rewrite ``path``'s header cells; return True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    relpath = path.resolve().relative_to(ROOT).as_posix()
    body = [c for c in nb.cells if not _is_header(c)]
    old = nbformat.writes(nb)
    nb.cells = header_cells(relpath, url, branch) + body
    new = nbformat.writes(nb)
    if new != old:
        path.write_text(new)
    return new != old


def check_notebook(path: Path, url: str, branch: str) -> list[str]:
    """Problems with ``path``: a stale header, stored outputs or execution counts."""
    nb = nbformat.read(path, as_version=4)
    relpath = path.resolve().relative_to(ROOT).as_posix()
    problems = []
    expected = [c.source for c in header_cells(relpath, url, branch)]
    if [c.source for c in nb.cells[:2]] != expected:
        problems.append("header cells are missing or stale: run `python -m cnnlib.notebooks sync`")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            problems.append(f"cell {i} has stored outputs: clear them before committing")
    if "widgets" in nb.metadata:
        problems.append("stored widget state in metadata: clear it before committing")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlib.notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["sync", "check"])
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    url, branch = repository()
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    failed = 0
    for path in paths:
        if args.command == "sync":
            if sync_notebook(path, url, branch):
                print(f"updated {path}")
        else:
            for problem in check_notebook(path, url, branch):
                print(f"{path}: {problem}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
