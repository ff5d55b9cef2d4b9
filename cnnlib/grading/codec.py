"""Plain values across the sandbox boundary: JSON plus an ``.npz`` of arrays.

Nothing is pickled: arrays are read back with ``allow_pickle=False`` (object
arrays are refused), everything else is JSON. The same format carries the
inputs from the grader to the child and the returned values back.
"""
from __future__ import annotations

import io
import json
import math
import os
from typing import Any

import numpy as np

__all__ = ["Unsupported", "encode", "decode", "dump", "load", "MAX_BYTES"]

#: Largest JSON or .npz file the grader reads from a child.
MAX_BYTES = 64 * 2**20
_MAX_DEPTH = 8
_MAX_ITEMS = 10_000


class Unsupported:
    """Stands for a returned value that cannot cross the boundary (e.g. a function)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}, which cannot be graded>"

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


def encode(value: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """``value`` as JSON-able data; tensors and arrays go into ``arrays``."""
    import torch

    if depth > _MAX_DEPTH:
        return {"$unsupported": "structure nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:10_000]
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else {"$float": repr(v)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.float()
        key = f"a{len(arrays)}"
        arrays[key] = t.resolve_conj().resolve_neg().contiguous().numpy()
        return {"$tensor": key}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return {"$unsupported": "NumPy object array"}
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(value)
        return {"$ndarray": key}
    if isinstance(value, (tuple, list)):
        if len(value) > _MAX_ITEMS:
            return {"$unsupported": f"{type(value).__name__} of {len(value)} items"}
        items = [encode(v, arrays, depth + 1) for v in value]
        return {"$tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS or not all(isinstance(k, str) for k in value):
            return {"$unsupported": "dict (only dicts with string keys can be graded)"}
        return {"$dict": {k: encode(v, arrays, depth + 1) for k, v in value.items()}}
    return {"$unsupported": type(value).__name__}


def decode(data: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """Inverse of :func:`encode`; tensors come back as CPU ``torch.Tensor``."""
    import torch

    if depth > _MAX_DEPTH + 1:
        raise ValueError("structure nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, arrays, depth + 1) for v in data]
    if isinstance(data, dict) and len(data) == 1:
        (tag, inner), = data.items()
        if tag == "$tensor":
            return torch.from_numpy(np.array(arrays[str(inner)], copy=True))
        if tag == "$ndarray":
            return np.array(arrays[str(inner)], copy=True)
        if tag == "$tuple" and isinstance(inner, list):
            return tuple(decode(v, arrays, depth + 1) for v in inner)
        if tag == "$dict" and isinstance(inner, dict):
            return {str(k): decode(v, arrays, depth + 1) for k, v in inner.items()}
        if tag == "$float" and inner in ("nan", "inf", "-inf"):
            return float(inner)
        if tag == "$unsupported":
            return Unsupported(str(inner)[:100])
    raise ValueError(f"not a value this grader writes: {str(data)[:80]}")


def _open_plain(path: str) -> int:
    """Open ``path`` for reading, refusing symbolic links and non-regular files."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    st = os.fstat(fd)
    import stat

    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
        os.close(fd)
        raise ValueError(f"{os.path.basename(path)} is not a regular file under {MAX_BYTES} bytes")
    return fd


def dump(obj: Any, arrays: dict[str, np.ndarray], json_path: str, npz_path: str) -> None:
    """Write ``obj`` (already encoded) and ``arrays``, refusing to follow links."""
    for path in (json_path, npz_path):
        if os.path.lexists(path):
            os.unlink(path)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    for path, data in ((npz_path, buf.getvalue()), (json_path, json.dumps(obj).encode())):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def load(json_path: str, npz_path: str) -> tuple[Any, dict[str, np.ndarray]]:
    """Read what :func:`dump` wrote: ``(json_data, arrays)``, never unpickling.

    Raises:
        ValueError: the files are missing, links, too big or malformed.
    """
    try:
        return _load(json_path, npz_path)
    except ValueError:
        raise
    except Exception as exc:  # anything a hostile file can provoke
        raise ValueError(f"unreadable result ({type(exc).__name__}: {str(exc)[:100]})") from None


def _load(json_path: str, npz_path: str) -> tuple[Any, dict[str, np.ndarray]]:
    with os.fdopen(_open_plain(json_path), "rb") as f:
        obj = json.loads(f.read().decode("utf-8"))
    with os.fdopen(_open_plain(npz_path), "rb") as f:
        raw = f.read()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return obj, arrays
