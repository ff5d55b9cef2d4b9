"""Plain values across the sandbox boundary: JSON plus an ``.npz`` of arrays.

Nothing is pickled: arrays are read back with ``allow_pickle=False`` (object
arrays are refused), everything else is JSON. The same format carries the
inputs from the grader to the child and the returned values back.

In the child, :class:`ResultWriter` copies and serialises each returned value
the moment its call returns, with its own JSON and ``.npz`` writers that use
only C functions bound when this module was imported (before any student
code ran), and checks before writing that its own code was not replaced.
The parent reads a result with :func:`load`: stored (uncompressed) members
only, each member's declared size and each array's shape and dtype checked
against a budget before anything is read.
"""
from __future__ import annotations

import io
import json
import math
import os
from typing import Any, Callable

import numpy as np

__all__ = ["Unsupported", "ResultWriter", "encode", "decode", "dump", "load", "MAX_BYTES", "MAX_ARRAY_BYTES"]

#: Largest JSON or .npz file the grader reads from a child.
MAX_BYTES = 64 * 2**20
#: Most bytes of arrays (uncompressed, all members together) the grader reads from a child.
MAX_ARRAY_BYTES = 256 * 2**20
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


def encode(value: Any, arrays: dict[str, np.ndarray], depth: int = 0, prefix: str = "a") -> Any:
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
    if type(value) in (torch.Tensor, torch.nn.Parameter):  # subclasses could run code: refused
        t = value.detach().cpu()
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.float()
        key = f"{prefix}{len(arrays)}"
        arrays[key] = np.array(t.resolve_conj().resolve_neg().contiguous().numpy(), copy=True)  # a copy, not a view
        return {"$tensor": key}
    if type(value) is np.ndarray:
        if value.dtype.hasobject:
            return {"$unsupported": "NumPy object array"}
        key = f"{prefix}{len(arrays)}"
        arrays[key] = np.array(value, copy=True, order="C")
        return {"$ndarray": key}
    if type(value) in (tuple, list):
        if len(value) > _MAX_ITEMS:
            return {"$unsupported": f"{type(value).__name__} of {len(value)} items"}
        items = [encode(v, arrays, depth + 1, prefix) for v in value]
        return {"$tuple": items} if isinstance(value, tuple) else items
    if type(value) is dict:
        if len(value) > _MAX_ITEMS or not all(isinstance(k, str) for k in value):
            return {"$unsupported": "dict (only dicts with string keys can be graded)"}
        return {"$dict": {k: encode(v, arrays, depth + 1, prefix) for k, v in value.items()}}
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
    return obj, _read_npz(raw)


def _read_npz(raw: bytes, budget: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``: stored members only, sizes checked before reading."""
    import zipfile

    arrays = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        members = zf.infolist()
        if len(members) > _MAX_ITEMS:
            raise ValueError(f"{len(members)} arrays; at most {_MAX_ITEMS} are read")
        for info in members:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise ValueError(f"{info.filename}: a compressed member (only stored ones are read)")
            budget -= info.file_size
            if budget < 0:
                raise ValueError(f"the arrays exceed {MAX_ARRAY_BYTES} bytes")
            with zf.open(info) as f:
                arrays[info.filename.removesuffix(".npy")] = _read_npy(f, info.file_size)
    return arrays


def _read_npy(f, size: int) -> np.ndarray:
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"an .npy version {version} (only 1.0 and 2.0 are read)")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(f)
    if dtype.hasobject:
        raise ValueError("an object array (refused)")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    nbytes = count * dtype.itemsize
    if count < 0 or nbytes > size - f.tell():
        raise ValueError(f"an array of shape {shape} and dtype {dtype} does not fit its {size} bytes")
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise ValueError("a truncated array")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


# ------------------------------------------------------------------ the child's writer
# Bound now, when the sandbox server imports this module, before any student code runs:
# C functions, which student code can rebind in their modules but not change.
_crc32 = __import__("zlib").crc32
_pack = __import__("struct").pack
_esc = __import__("_json").encode_basestring_ascii
_float_repr, _int_repr = float.__repr__, int.__repr__
_os_open, _os_write, _os_close, _os_unlink = os.open, os.write, os.close, os.unlink
_isfinite = math.isfinite


def _dumps(obj: Any) -> str:
    """JSON text of plain data (what :func:`encode` returns), without the ``json`` module."""
    kind = type(obj)
    if obj is None:
        return "null"
    if kind is bool:
        return "true" if obj else "false"
    if kind is int:
        return _int_repr(obj)
    if kind is float:
        return _float_repr(obj) if _isfinite(obj) else "null"
    if isinstance(obj, str):
        return _esc(obj)
    if kind in (list, tuple):
        return "[" + ",".join([_dumps(v) for v in obj]) + "]"
    if kind is dict:
        return "{" + ",".join([_esc(str(k)) + ":" + _dumps(v) for k, v in obj.items()]) + "}"
    return _esc(f"<{kind.__name__}>")


def _npy(arr: np.ndarray) -> bytes:
    header = "{'descr': %s, 'fortran_order': False, 'shape': %s, }" % (_esc(arr.dtype.str).replace('"', "'"),
                                                                       repr(tuple(arr.shape)))
    header = header.encode("latin1")
    pad = 64 - (10 + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + _pack("<H", len(header)) + header + arr.tobytes()


def _stored_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of stored (uncompressed) members."""
    parts, central, offset = [], [], 0
    for name, data in members:
        raw = name.encode()
        crc = _crc32(data) & 0xFFFFFFFF
        local = _pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(raw), 0) + raw
        central.append(_pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                             len(raw), 0, 0, 0, 0, 0o600 << 16, offset) + raw)
        parts += [local, data]
        offset += len(local) + len(data)
    directory = b"".join(central)
    end = _pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(parts) + directory + end


#: The error of a call whose value was not serialised because the grader's code was changed.
TAMPERED = "tampered with the grader (changed Python's built-ins, torch.Tensor or the grader's code)"


class ResultWriter:
    """Serialises each call's record at once (values copied when the call returns),
    and writes the child's report with functions bound before any student code ran."""

    def __init__(self) -> None:
        self.members: list[tuple[str, bytes]] = []
        self.texts: dict[str, list[str]] = {}
        self._n = 0

    def value(self, value: Any) -> tuple[Any, str]:
        """``(encoded, error)``: ``value`` copied and its arrays serialised now, at the call's return."""
        if not _intact():
            return None, TAMPERED
        arrays: dict[str, np.ndarray] = {}
        try:
            encoded = encode(value, arrays, prefix=f"c{self._n}_")
            self._n += 1
            self.members += [(f"{k}.npy", _npy(a)) for k, a in arrays.items()]
        except Exception as exc:
            return None, f"the returned value could not be read: {type(exc).__name__}"
        return encoded, ""

    def record(self, exercise_id: str, record: dict) -> None:
        """Add one call's record (plain data, with its encoded value), serialised now."""
        self.texts.setdefault(exercise_id, []).append(_dumps(record))

    def write(self, head: dict, statuses: dict[str, str], json_path: str, npz_path: str) -> None:
        """Write the report: ``head`` (plain data) plus, per exercise, its status and its calls."""
        if not _intact():
            raise RuntimeError("the grader's writer was changed; no results are written")
        exercises = ",".join(_esc(ex) + ':{"status":' + _esc(st) + ',"cases":[' + ",".join(self.texts.get(ex, [])) + "]}"
                             for ex, st in statuses.items())
        text = _dumps(head)[:-1] + ("," if head else "") + '"exercises":{' + exercises + "}}"
        for path, data in ((npz_path, _stored_zip(self.members)), (json_path, text.encode())):
            try:
                _os_unlink(path)
            except FileNotFoundError:
                pass
            fd = _os_open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[_os_write(fd, view):]
            finally:
                _os_close(fd)


_SEALED: dict = {}
_SNAPSHOTS: list[tuple[Any, dict, bool]] = []


def seal(*functions: Callable) -> None:
    """Remember the code of ``functions`` and of this module's writer, and what the
    writer relies on (Python's built-ins, this module's globals, ``torch.Tensor``'s
    methods, ``numpy.array``); :class:`ResultWriter` refuses to serialise if any
    of it was replaced later. Called by the sandbox server before any student code."""
    import builtins

    import torch

    for fn in (_dumps, _npy, _stored_zip, _intact, encode, ResultWriter.value, ResultWriter.record, ResultWriter.write, *functions):
        _SEALED[fn] = fn.__code__
    _SNAPSHOTS[:] = [(d, dict(d), True) for d in (vars(builtins), globals())]
    _SNAPSHOTS.append((vars(np), {"array": np.array}, False))
    _SNAPSHOTS.append((torch.Tensor, {n: getattr(torch.Tensor, n) for n in _TENSOR_METHODS}, False))


_TENSOR_METHODS = ("detach", "cpu", "float", "resolve_conj", "resolve_neg", "contiguous", "numpy")


def _intact() -> bool:
    for fn, code in _SEALED.items():
        if fn.__code__ is not code:
            return False
    for live, saved, whole in _SNAPSHOTS:
        if whole and len(live) != len(saved):  # a name added, e.g. a built-in shadowed
            return False
        get = live.get if isinstance(live, dict) else (lambda key, default: getattr(live, key, default))
        for key, value in saved.items():
            if get(key, _intact) is not value:
                return False
    return True
