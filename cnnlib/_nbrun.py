"""Execute a notebook and reduce its outputs to what a reader sees (for tests)."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat

__all__ = ["execute", "visible_outputs"]

_MODEL_ID = re.compile(r"[0-9a-f]{32}")


def execute(path: str | Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel (cwd = its folder) and return it."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def visible_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Each code cell's outputs as text, then what Output widgets captured.

    Images become digests; widget ids are numbered by first use, since the
    kernel draws them at random, and widget outputs are sorted for the same reason.
    """
    ids: dict[str, str] = {}

    def stable(text: str) -> str:
        return _MODEL_ID.sub(lambda m: ids.setdefault(m.group(), f"model-{len(ids)}"), text)

    def render(out) -> list[str]:
        out = nbformat.from_dict(out)
        if out.output_type == "stream":
            return [f"{out.name}: {out.text}"]
        if out.output_type == "error":
            return [f"error: {out.ename}: {out.evalue}"]
        lines = []
        for mime, data in sorted(out.get("data", {}).items()):
            if mime.startswith("image/"):
                lines.append(f"{mime}: sha256 {hashlib.sha256(str(data).encode()).hexdigest()[:16]}")
            else:
                lines.append(f"{mime}: {stable(str(data))}")
        return lines

    cells = [line for c in nb.cells if c.cell_type == "code" for out in c.get("outputs", []) for line in render(out)]
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    captured = [line for model in state.values() for out in model.get("state", {}).get("outputs", [])
                for line in render(out)]
    return cells + sorted(captured)
