"""Catch a student's function calling what its exercise forbids.

Three independent tripwires watch one call of the student's function:

* a PyTorch dispatch mode sees every operator (``F.conv2d``, ``nn.Conv2d``,
  ``torch.ops.aten.convolution`` ... all reach ``aten::convolution``) and
  makes a forbidden one raise, so the call fails;
* Python's profile hook sees every Python function and every C function
  called from Python, whatever name it was reached by, and records calls
  into forbidden modules or functions, and calls that would switch the
  tripwires off. Code is identified by the file it was compiled from
  (``co_filename``), never by the globals it runs with, so a library
  function's code object rebound with ``types.FunctionType`` is still the
  library's; a forbidden Python function also forbids the private C routines
  it calls (``numpy.correlate`` forbids ``_multiarray_umath.correlate2``);
* in the grader's child, PyTorch's own operator profiler
  (:class:`OperatorRecorder`), which records operators even when Python
  dispatch is disabled.

The dispatch mode and the profile hook watch the calling thread only (and, on
every Python version, threads started through :mod:`threading` during the
call). So in the grader (``alone=True``) a call made while another Python
thread runs is refused, and starting a thread inside the call is a violation.
C code calling C code (a NumPy routine calling another internally) is seen by
none of the hooks; only its entry from Python is.

The child also runs the notebook's cells under :func:`watch_cells`, which
records tampering and calls of the grader's own code (the reference
solutions); the parent scans the source for the names tampering needs
(see :func:`scan_source`).
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import threading
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from torch.utils._python_dispatch import TorchDispatchMode

from cnnlib.grading.protocol import TimeLimit

__all__ = ["ForbiddenCallError", "GuardResult", "OperatorRecorder", "guarded_call", "watch_cells", "scan_source",
           "TAMPER_NAMES", "other_threads", "prepare"]

#: Names that only code tampering with the grader or the tripwires uses.
TAMPER_NAMES = (
    "setprofile", "settrace", "DisableTorchDispatch", "_python_dispatch", "_pop_mode",
    "_disable_profiler", "sys.monitoring", "ctypes", "_getframe", "f_locals", "f_back",
    "gc.get_objects", "gc.get_referrers", "cnnlib.grading.runner", "cnnlib.grading.forbid",
    "grading.runner", "grading.forbid", "grading.codec", "grading.protocol", "__code__", "CodeType",
    "co_filename",
)
_TAMPER_RE = re.compile(r"setprofile|settrace|Disable\w*Dispatch|_pop_mode|_pop_torch_dispatch|"
                        r"_set_torch_dispatch_mode|_unset_dispatch_mode|_disable_profiler|"
                        r"_set_torch_function_mode|_enable_profiler|DisableTorchFunction")
_OWN_FILE = __file__
_THREAD_STARTS = {id(f) for f in (getattr(sys.modules["_thread"], n, None)
                                  for n in ("start_new_thread", "start_joinable_thread", "start_new")) if f}


class ForbiddenCallError(RuntimeError):
    """Raised inside the student's function when it calls a forbidden operator."""


@dataclass
class GuardResult:
    """What one guarded call did: its return value or exception, and violations."""

    value: Any = None
    error: BaseException | None = None
    violations: list[str] = field(default_factory=list)


def _module_path(module: types.ModuleType) -> str | None:
    """The file, or the directory with a trailing separator, that a module's code comes from."""
    path = getattr(module, "__file__", None)
    if not path:
        return None
    if os.path.basename(path).startswith("__init__."):
        return os.path.dirname(os.path.realpath(path)) + os.sep
    return os.path.realpath(path)


def _private_routines(fn: Any) -> dict[int, str]:
    """The C routines a Python function calls by ``module.routine`` that its package does
    not export under a public name (``numpy.correlate`` -> ``_multiarray_umath.correlate2``)."""
    impl = getattr(fn, "_implementation", None) or getattr(fn, "__wrapped__", None) or fn
    code, env = getattr(impl, "__code__", None), getattr(impl, "__globals__", {})
    if code is None:
        return {}
    top = sys.modules.get(str(env.get("__name__", "")).split(".")[0])
    public = {id(v) for v in vars(top).values()} if top is not None else set()
    found = {}
    for owner in (env.get(n) for n in code.co_names):
        if not isinstance(owner, types.ModuleType):
            continue
        for name in code.co_names:
            routine = getattr(owner, name, None)
            if isinstance(routine, types.BuiltinFunctionType) and id(routine) not in public:
                found[id(routine)] = f"{owner.__name__}.{name}"
    return found


@dataclass
class _Rules:
    modules: tuple[str, ...]
    paths: tuple[tuple[str, str], ...]  # (file or directory/, rule)
    codes: dict[Any, str]
    builtins: dict[int, str]
    aten: re.Pattern | None
    hits_of_code: dict = field(default_factory=dict)  # code object -> file_hit's answer

    @classmethod
    def parse(cls, forbid: tuple[str, ...]) -> "_Rules":
        if forbid not in _PARSED:
            _PARSED[forbid] = cls._parse(forbid)
        return _PARSED[forbid]

    @classmethod
    def _parse(cls, forbid: tuple[str, ...]) -> "_Rules":
        modules, paths, codes, builtins, aten = [], [], {}, {}, []
        for entry in forbid:
            if entry.startswith("aten::"):
                aten.append(entry[len("aten::"):] or ".")
                continue
            obj = _resolve(entry)
            if obj is None or isinstance(obj, types.ModuleType):
                modules.append(entry)
                path = _module_path(obj) if obj is not None else None
                if path:
                    paths.append((path, entry))
                continue
            impl = getattr(obj, "_implementation", None) or getattr(obj, "__wrapped__", None) or obj
            if hasattr(impl, "__code__"):
                codes[impl.__code__] = entry
            builtins[id(obj)] = entry
            builtins.update({k: f"{entry} (through {v})" for k, v in _private_routines(obj).items()})
        pattern = re.compile("|".join(f"(?:{p})" for p in aten)) if aten else None
        return cls(tuple(modules), tuple(paths), codes, builtins, pattern)

    def module_hit(self, module: str) -> str | None:
        for prefix in self.modules:
            if module == prefix or module.startswith(prefix + "."):
                return prefix
        return None

    def file_hit(self, filename: str) -> str | None:
        for path, rule in self.paths:
            if filename == path or (path.endswith(os.sep) and filename.startswith(path)):
                return rule
        return None


_PARSED: dict[tuple[str, ...], _Rules] = {}
_REAL: dict[str, str] = {}  # co_filename -> its real path


def _resolve(dotted: str) -> Any:
    """The module or attribute a dotted name refers to, or None if it cannot be imported."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name not in sys.modules:
            # Never import a forbidden module just to look at it, unless it is installed.
            try:
                importlib.import_module(name)
            except Exception:
                continue
        obj: Any = sys.modules[name]
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


class _OperatorGuard(TorchDispatchMode):
    def __init__(self, pattern: re.Pattern, violations: list[str]):
        super().__init__()
        self.pattern, self.violations = pattern, violations

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        if self.pattern.search(name.removeprefix("aten::")):
            note = f"called the PyTorch operator {name}"
            if note not in self.violations:
                self.violations.append(note)
            raise ForbiddenCallError(f"{name} is not allowed in this exercise")
        return func(*args, **(kwargs or {}))


def _call_name(arg: Any) -> str:
    owner = getattr(arg, "__self__", None)
    owner_name = getattr(owner, "__name__", type(owner).__name__ if owner is not None else "")
    return f"{owner_name}.{getattr(arg, '__name__', '')}"


_TORCH_DIR = os.path.dirname(os.path.realpath(sys.modules["torch"].__file__)) + os.sep


def _from_torch(frame) -> bool:
    """True when ``frame`` runs PyTorch's own code (by the file it was compiled from).

    PyTorch itself uses some of the names a tamperer would (``torch.optim``
    steps run under ``DisableTorchFunctionSubclass``); only a call made from
    outside ``torch`` counts as tampering.
    """
    return frame is not None and _Hook._real(frame.f_code.co_filename).startswith(_TORCH_DIR)


def prepare(forbid: tuple[str, ...]) -> None:
    """Parse ``forbid`` now, and learn where every loaded module's code lives (the sandbox
    server does this once, before forking the children)."""
    _Rules.parse(tuple(forbid))
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            _Hook._real(path)


def other_threads() -> int:
    """How many other threads run Python code in this process (``threading`` or ``_thread`` ones)."""
    return len(sys._current_frames()) - 1


_TAMPER_CODE: dict = {}  # code object -> whether its name is one tampering uses
_TAMPER_C: dict = {}  # (type of the owner, name) of a C function -> its tamper note, or ""


def _tamper_on_call(frame, note: Callable[[str], None]) -> None:
    code = frame.f_code
    suspicious = _TAMPER_CODE.get(code)
    if suspicious is None:
        suspicious = _TAMPER_CODE[code] = bool(_TAMPER_RE.search(code.co_name))
    if not suspicious:
        return
    caller = frame.f_back
    if not _from_torch(caller) and (caller is None or caller.f_code.co_filename != _OWN_FILE):
        note(f"tampered with the checker ({code.co_name})")


def _c_verdict(arg) -> str:
    owner = getattr(arg, "__self__", None)
    name = getattr(arg, "__name__", "")
    if isinstance(owner, types.CodeType) and name in ("replace", "__replace__"):
        return "tampered with the checker (rebuilt a code object)"
    full = _call_name(arg)
    return f"tampered with the checker ({full})" if _TAMPER_RE.search(full) else ""


def _tamper_on_c_call(frame, arg, note: Callable[[str], None]) -> None:
    key = (type(getattr(arg, "__self__", None)), getattr(arg, "__name__", ""))
    verdict = _TAMPER_C.get(key)
    if verdict is None:
        verdict = _TAMPER_C[key] = _c_verdict(arg)
    if verdict and not _from_torch(frame):
        note(verdict)


class _Hook:
    """The profile hook around one call: notes forbidden calls and tampering into ``note``."""

    def __init__(self, rules: _Rules, note: Callable[[str], None], threads_allowed: bool):
        self.rules, self.note, self.threads_allowed = rules, note, threads_allowed
        self.hits: set[str] = set()

    @staticmethod
    def _real(filename: str) -> str:
        if filename not in _REAL:
            _REAL[filename] = os.path.realpath(filename) if not filename.startswith("<") else filename
        return _REAL[filename]

    def __call__(self, frame, event, arg):
        if frame.f_code.co_filename == _OWN_FILE:
            return
        if event == "call":
            self._on_call(frame)
        elif event == "c_call":
            self._on_c_call(frame, arg)

    def _on_call(self, frame) -> None:
        code = frame.f_code
        hit = self.rules.hits_of_code.get(code, False)
        if hit is False:
            hit = self.rules.hits_of_code[code] = self.rules.file_hit(self._real(code.co_filename))
        if hit:
            if hit not in self.hits:
                self.hits.add(hit)
                self.note(f"called {code.co_qualname} from {hit} ({hit} is not allowed)")
        elif code in self.rules.codes:
            self.note(f"called {self.rules.codes[code]}")
        else:
            _tamper_on_call(frame, self.note)

    def _on_c_call(self, frame, arg) -> None:
        if id(arg) in self.rules.builtins:
            self.note(f"called {self.rules.builtins[id(arg)]}")
        if id(arg) in _THREAD_STARTS and not self.threads_allowed:
            self.note("started a thread, which the checks cannot watch")
        _tamper_on_c_call(frame, arg, self.note)
        module = getattr(arg, "__module__", None) or ""
        hit = self.rules.module_hit(module) if module else None
        if hit and hit not in self.hits:
            self.hits.add(hit)
            self.note(f"called {module}.{getattr(arg, '__name__', '?')} ({hit} is not allowed)")


@contextmanager
def _profiled(hook: Callable, note: Callable[[str], None]) -> Iterator[dict]:
    """Install ``hook`` on this thread and on threads started meanwhile; restore after.
    Python drops a hook that raises, as a time limit's exception can while the hook runs:
    the caller sets ``state["interrupted"]`` then, and a dropped hook is not tampering."""
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    state = {"interrupted": False}
    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        yield state
    except TimeLimit:
        state["interrupted"] = True
        raise
    finally:
        still_ours = sys.getprofile() is hook
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
        if not still_ours and not state["interrupted"]:
            note("tampered with the checker (the profile hook was replaced)")


class _Notes(list):
    def __call__(self, text: str) -> None:
        if text not in self:
            self.append(text)


def guarded_call(fn: Callable, args: tuple, kwargs: dict, forbid: tuple[str, ...], *,
                 alone: bool = False) -> GuardResult:
    """Call ``fn(*args, **kwargs)`` and record calls that ``forbid`` rules out.

    Args:
        fn: the student's function.
        args, kwargs: its arguments.
        forbid: see :class:`cnnlib.grading.Exercise`.
        alone: the grader's mode: refuse the call while other Python threads
            run, and count starting one as a violation (the tripwires see
            one thread). A notebook kernel always runs threads of its own, so
            a student's ``check`` leaves this False.

    Returns:
        A :class:`GuardResult`. The call's own exception (if any) is in
        ``error``; a forbidden PyTorch operator raises :class:`ForbiddenCallError`.
    """
    result = GuardResult()
    note = _Notes()
    result.violations = note
    if alone and other_threads():
        note(f"{other_threads()} other thread(s) were running when the function was called (started by a "
             f"cell?); the checks watch one thread, so the grader does not grade such calls")
        result.error = ForbiddenCallError("refused: other threads are running")
        return result
    rules = _Rules.parse(tuple(forbid))
    hook = _Hook(rules, note, threads_allowed=not alone)
    mode = _OperatorGuard(rules.aten, note) if rules.aten is not None else None
    if mode is not None:
        mode.__enter__()
    try:
        with _profiled(hook, note) as state:
            try:
                result.value = fn(*args, **kwargs)
            except BaseException as exc:  # the student's error, reported as feedback
                result.error = exc
                state["interrupted"] = isinstance(exc, TimeLimit)
    finally:
        if mode is not None:
            try:
                mode.__exit__(None, None, None)
            except Exception:
                note("tampered with the checker (the operator guard was removed)")
        if alone and other_threads():
            note("left a thread running, which the checks cannot watch")
    return result


# The C functions a cell could tamper with (the dispatch mode and the profiler are
# only on during calls; a replaced profile hook is noticed when the cell ends).
_CELL_C_NAMES = frozenset({"replace", "__replace__", "setprofile", "settrace", "_disable_profiler",
                           "_enable_profiler", "_set_torch_function_mode", "_set_torch_dispatch_mode"})


class CellWatch:
    """Tripwires around the notebook's cells: tampering, and calls made from the student's
    code into the grader's own (its reference solutions), but for ``allowed`` (``check``).
    Use with ``with`` around each cell; :attr:`violations` lists what it saw."""

    def __init__(self, allowed: tuple[Callable, ...] = ()):
        self.violations = _Notes()
        self._skip = {getattr(f, "__code__", None) for f in allowed}
        self._grading = os.path.dirname(os.path.realpath(_OWN_FILE)) + os.sep
        self._codes: dict = {}  # code object -> what _classify says
        self._ctx = None

    def _classify(self, code) -> int:
        """1: the grader's own code, not allowed; 2: a name tampering uses; 0: neither."""
        if code.co_filename == _OWN_FILE or code in self._skip:
            return 0
        if code.co_name != "<module>" and _Hook._real(code.co_filename).startswith(self._grading):
            return 1
        return 2 if _TAMPER_RE.search(code.co_name) else 0

    def __call__(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            kind = self._codes.get(code)
            if kind is None:
                kind = self._codes[code] = self._classify(code)
            if kind == 1:
                caller = frame.f_back
                if caller is not None and caller.f_code.co_filename.startswith("<") and \
                        not caller.f_code.co_filename.startswith("<frozen"):
                    self.violations(f"a cell called the grader's own {code.co_qualname} (cnnlib.grading is not allowed)")
            elif kind == 2:
                _tamper_on_call(frame, self.violations)
        elif event == "c_call" and getattr(arg, "__name__", None) in _CELL_C_NAMES and \
                frame.f_code.co_filename != _OWN_FILE:
            _tamper_on_c_call(frame, arg, self.violations)

    def __enter__(self) -> "CellWatch":
        self._ctx = _profiled(self, self.violations)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)


def watch_cells(allowed: tuple[Callable, ...] = ()) -> CellWatch:
    """A :class:`CellWatch` (use with ``with``)."""
    return CellWatch(allowed)


def _operator_names(prof) -> set[str]:
    """The names of the operators a finished profiler recorded. The raw event list gives
    them ten times faster than ``function_events``, which builds a tree of objects."""
    results = getattr(prof, "kineto_results", None)
    if results is not None:
        return {event.name() for event in results.events()}
    return {event.name for event in prof.function_events}


class OperatorRecorder:
    """PyTorch's own operator profiler around several calls: a second, independent
    record of forbidden operators (it sees them even with Python dispatch disabled).

    Use as a context manager; then :meth:`violations` lists what it saw.
    """

    def __init__(self, forbid: tuple[str, ...]):
        self.pattern = _Rules.parse(tuple(forbid)).aten
        self._prof = None
        self.names: set[str] = set()
        self.broken = False

    def __enter__(self) -> "OperatorRecorder":
        if self.pattern is not None:
            from torch.autograd.profiler import profile

            self._prof = profile(use_kineto=False)
            self._prof.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._prof is None:
            return
        try:
            self._prof.__exit__(None, None, None)
            self.names = _operator_names(self._prof)
        except Exception:
            self.broken = True

    def violations(self) -> list[str]:
        if self.broken:
            return ["tampered with the checker (the operator profiler was stopped)"]
        if self.pattern is None:
            return []
        found = sorted(n for n in self.names if self.pattern.search(n.removeprefix("aten::")))
        return [f"called the PyTorch operator {found[0]}"] if found else []


def scan_source(source: str) -> list[str]:
    """The tamper names (see ``TAMPER_NAMES``) that occur in ``source``."""
    return [name for name in TAMPER_NAMES if name in source]
