"""Execute a notebook and reduce its outputs to what a reader sees (for tests).

Uses jupyter_client's blocking client, not nbclient: nbclient's asyncio client
now and then misses a kernel reply after a widget cell and only notices it when
its timeout expires (jupyter/nbclient#312); the blocking poll does not.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable

import nbformat

__all__ = ["execute", "visible_outputs"]

_MODEL_ID = re.compile(r"[0-9a-f]{32}")
_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


def execute(path: str | Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel (cwd = its folder) and return it.

    The kernel runs as the book build's does, with ``CNNLIB_STATIC_WIDGETS=1``
    (widgets precompute their frames; see :mod:`cnnlib.widgets.static`).
    Every code cell gets the outputs its execution sent; the widgets' last
    states (with their binary buffers, e.g. images) go into
    ``nb.metadata.widgets`` as nbclient stores them. Raises ``RuntimeError``
    for a cell that raised or took longer than ``timeout`` seconds.
    """
    from jupyter_client.manager import start_new_kernel

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(path.parent),
                              env={**os.environ, "CNNLIB_STATIC_WIDGETS": "1"})
    widgets: dict[str, dict] = {}
    buffers: dict[str, dict] = {}
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            msg_id = kc.execute(cell.source, allow_stdin=False)
            cell.outputs = []
            while True:
                msg = kc.get_iopub_msg(timeout=timeout)
                if msg["msg_type"] in ("comm_open", "comm_msg") and "state" in msg["content"].get("data", {}):
                    comm, data = msg["content"]["comm_id"], msg["content"]["data"]
                    widgets.setdefault(comm, {}).update(data["state"])
                    for where, buffer in zip(data.get("buffer_paths", []), msg.get("buffers", [])):
                        buffers.setdefault(comm, {})[json.dumps(where)] = {
                            "path": where, "encoding": "base64", "data": base64.b64encode(bytes(buffer)).decode()}
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
                if kind in _OUTPUT_TYPES:
                    cell.outputs.append(nbformat.v4.output_from_msg(msg))
            reply = kc.get_shell_msg(timeout=timeout)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{path.name}: cell {index} failed: {reply['content'].get('evalue', '')}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {comm: {"model_name": st.get("_model_name"), "state": st, "buffers": list(buffers.get(comm, {}).values())}
                  for comm, st in widgets.items()}}}
    return nb


def visible_outputs(nb: nbformat.NotebookNode,
                    mask: Callable[[nbformat.NotebookNode, list[str]], list[str]] | None = None) -> list[str]:
    """Each code cell's outputs as text lines ``"code cell N: ..."``, then
    (sorted) what Output widgets show and the pictures of Image widgets.

    Consecutive pieces of one stream are joined, images become digests, and
    widget ids, which the kernel draws at random, are numbered by first use.
    ``mask(cell, lines)``, when given, returns what to keep of a cell's lines.
    """
    ids: dict[str, str] = {}

    def stable(text: str) -> str:
        return _MODEL_ID.sub(lambda m: ids.setdefault(m.group(), f"model-{len(ids)}"), text)

    def render(outputs) -> list[str]:
        lines = []
        previous_stream = None
        for out in map(nbformat.from_dict, outputs):
            if out.output_type == "stream" and out.name == previous_stream:
                lines[-1] += out.text  # how the text was split into messages is not part of the output
                continue
            previous_stream = out.name if out.output_type == "stream" else None
            if out.output_type == "stream":
                lines.append(f"{out.name}: {out.text}")
            elif out.output_type == "error":
                lines.append(f"error: {out.ename}: {out.evalue}")
            else:
                for mime, data in sorted(out.get("data", {}).items()):
                    if mime.startswith("image/"):
                        lines.append(f"{mime}: sha256 {hashlib.sha256(str(data).encode()).hexdigest()[:16]}")
                    else:
                        text = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
                        lines.append(f"{mime}: {stable(text)}")
        return lines

    code_cells = [c for c in nb.cells if c.cell_type == "code"]  # numbered among themselves, as jupyter-cache keeps them
    cells = [f"code cell {index}: {line}" for index, c in enumerate(code_cells)
             for line in (mask or (lambda cell, lines: lines))(c, render(c.get("outputs", [])))]
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    shown = [line for model in state.values() for line in render(model.get("state", {}).get("outputs", []))]
    pictures = [f"widget image/{model['state'].get('format')}: sha256 "
                f"{hashlib.sha256(''.join(b['data'] for b in model.get('buffers', [])).encode()).hexdigest()[:16]}"
                for model in state.values() if model.get("model_name") == "ImageModel"]
    return cells + sorted(shown) + sorted(pictures)
