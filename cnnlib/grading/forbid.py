"""Catch a student's function calling what its exercise forbids.

Three independent tripwires watch one call of the student's function:

* a PyTorch dispatch mode sees every operator (``F.conv2d``, ``nn.Conv2d``,
  ``torch.ops.aten.convolution`` ... all reach ``aten::convolution``) and
  makes a forbidden one raise, so the call fails;
* Python's profile hook sees every function called, whatever name it was
  reached by, and records calls into forbidden modules or functions, and
  calls that would switch the tripwires off;
* in the grader's child, PyTorch's own operator profiler
  (:class:`OperatorRecorder`), which records operators even when Python
  dispatch is disabled.

A student who reaches into the grader's internals on purpose could still
switch them off in their own process; the grader's parent also scans the
submission's source for the names that would take (see :func:`scan_source`).
"""
from __future__ import annotations

import importlib
import re
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import Any, Callable

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["ForbiddenCallError", "GuardResult", "OperatorRecorder", "guarded_call", "scan_source", "TAMPER_NAMES"]

#: Names that only code tampering with the grader or the tripwires uses.
TAMPER_NAMES = (
    "setprofile", "settrace", "DisableTorchDispatch", "_python_dispatch", "_pop_mode",
    "_disable_profiler", "sys.monitoring", "ctypes", "_getframe", "f_locals", "f_back",
    "gc.get_objects", "gc.get_referrers", "cnnlib.grading.runner", "cnnlib.grading.forbid",
    "grading.runner", "grading.forbid",
)
_TAMPER_RE = re.compile(r"setprofile|settrace|Disable\w*Dispatch|_pop_mode|_pop_torch_dispatch|"
                        r"_set_torch_dispatch_mode|_unset_dispatch_mode|_disable_profiler|"
                        r"_set_torch_function_mode|_enable_profiler|DisableTorchFunction")
_OWN_MODULE = __name__


class ForbiddenCallError(RuntimeError):
    """Raised inside the student's function when it calls a forbidden operator."""


@dataclass
class GuardResult:
    """What one guarded call did: its return value or exception, and violations."""

    value: Any = None
    error: BaseException | None = None
    violations: list[str] = field(default_factory=list)


@dataclass
class _Rules:
    modules: tuple[str, ...]
    codes: dict[Any, str]
    builtins: dict[int, str]
    aten: re.Pattern | None

    @classmethod
    def parse(cls, forbid: tuple[str, ...]) -> "_Rules":
        modules, codes, builtins, aten = [], {}, {}, []
        for entry in forbid:
            if entry.startswith("aten::"):
                aten.append(entry[len("aten::"):] or ".")
                continue
            obj = _resolve(entry)
            if obj is None or isinstance(obj, types.ModuleType):
                modules.append(entry)
            elif hasattr(obj, "__code__"):
                codes[obj.__code__] = entry
            else:
                builtins[id(obj)] = entry
        pattern = re.compile("|".join(f"(?:{p})" for p in aten)) if aten else None
        return cls(tuple(modules), codes, builtins, pattern)

    def module_hit(self, module: str) -> str | None:
        for prefix in self.modules:
            if module == prefix or module.startswith(prefix + "."):
                return prefix
        return None


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


def _from_torch(frame) -> bool:
    """True when ``frame`` runs PyTorch's own code.

    PyTorch itself uses some of the names a tamperer would (``torch.optim``
    steps run under ``DisableTorchFunctionSubclass``); only a call made from
    outside ``torch`` counts as tampering.
    """
    module = (frame.f_globals.get("__name__", "") or "") if frame is not None else ""
    return module == "torch" or module.startswith("torch.")


def guarded_call(fn: Callable, args: tuple, kwargs: dict, forbid: tuple[str, ...]) -> GuardResult:
    """Call ``fn(*args, **kwargs)`` and record calls that ``forbid`` rules out.

    Args:
        fn: the student's function.
        args, kwargs: its arguments.
        forbid: see :class:`cnnlib.grading.Exercise`.

    Returns:
        A :class:`GuardResult`. The call's own exception (if any) is in
        ``error``; a forbidden PyTorch operator raises :class:`ForbiddenCallError`.
    """
    rules = _Rules.parse(tuple(forbid))
    result = GuardResult()
    violations = result.violations
    seen: set[str] = set()
    hits: set[str] = set()

    def note(text: str) -> None:
        if text not in seen:
            seen.add(text)
            violations.append(text)

    own_codes = {guarded_call.__code__}

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            module = frame.f_globals.get("__name__", "") or ""
            if module == _OWN_MODULE:
                return
            hit = rules.module_hit(module)
            if hit:
                if hit not in hits:
                    hits.add(hit)
                    note(f"called {module}.{code.co_name} ({hit} is not allowed)")
            elif code in rules.codes:
                note(f"called {rules.codes[code]}")
            elif _TAMPER_RE.search(code.co_name) and not _from_torch(frame.f_back):
                note(f"tampered with the checker ({module}.{code.co_name})")
        elif event == "c_call":
            if frame.f_code in own_codes:
                return
            if id(arg) in rules.builtins:
                note(f"called {rules.builtins[id(arg)]}")
            name = _call_name(arg)
            if _TAMPER_RE.search(name) and not _from_torch(frame):
                note(f"tampered with the checker ({name})")
            module = getattr(arg, "__module__", None) or ""
            hit = rules.module_hit(module) if module else None
            if hit and hit not in hits:
                hits.add(hit)
                note(f"called {module}.{getattr(arg, '__name__', '?')} ({hit} is not allowed)")

    mode = _OperatorGuard(rules.aten, violations) if rules.aten is not None else None
    if mode is not None:
        mode.__enter__()
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        result.value = fn(*args, **kwargs)
    except BaseException as exc:  # the student's error, reported as feedback
        result.error = exc
    finally:
        still_ours = sys.getprofile() is hook
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
        if mode is not None:
            try:
                mode.__exit__(None, None, None)
            except Exception:
                note("tampered with the checker (the operator guard was removed)")
        if not still_ours:
            note("tampered with the checker (the profile hook was replaced)")
    return result


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
            self.names = {e.name for e in self._prof.function_events}
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
