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
    """Each code cell's outputs as text; images as digests; widget ids numbered by first use."""
    ids: dict[str, str] = {}

    def stable(text: str) -> str:
        return _MODEL_ID.sub(lambda m: ids.setdefault(m.group(), f"model-{len(ids)}"), text)

    result = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                result.append(f"{out.name}: {out.text}")
            elif out.output_type in ("execute_result", "display_data"):
                for mime, data in sorted(out.data.items()):
                    if mime.startswith("image/"):
                        result.append(f"{mime}: sha256 {hashlib.sha256(str(data).encode()).hexdigest()[:16]}")
                    else:
                        result.append(f"{mime}: {stable(str(data))}")
            elif out.output_type == "error":
                result.append(f"error: {out.ename}: {out.evalue}")
    return result
