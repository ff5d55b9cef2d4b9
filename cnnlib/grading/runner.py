"""The child process: run one submission's code in a sandbox, call its functions.

Started by the grader as ``python -I -m cnnlib.grading.runner WORKDIR [limits]``
(under ``unshare -n`` when possible). It applies its resource limits, drops to
an unprivileged user, executes the notebook's code cells, then calls each
exercise's function on the inputs the grader put in ``WORKDIR/task.json`` and
writes what came back, as plain values, to ``WORKDIR/out``. It never sees the
expected answers: the parent compares.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import sys

__all__ = ["main"]


class _TimeLimit(BaseException):
    """A cell or call ran past its time limit (BaseException: ``except Exception`` cannot swallow it)."""


class _CappedText:
    """Stands in for stdout/stderr: keeps the first few kilobytes, drops the rest."""

    def __init__(self, cap: int = 4096):
        self.cap, self.parts, self.size = cap, [], 0

    def write(self, text) -> int:
        text = str(text)
        if self.size < self.cap:
            self.parts.append(text[: self.cap - self.size])
        self.size += len(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def getvalue(self) -> str:
        return "".join(self.parts)


class _NoShell:
    """``get_ipython()`` for magics and shell commands: they do nothing when graded."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _apply_limits(args) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if args.memory:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    if args.cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu + 5))
    if args.fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize, args.fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails instead of killing
    if args.uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(args.gid)
        os.setuid(args.uid)
    if args.nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (args.nproc, args.nproc))


def _traversable(path: str) -> bool:
    """Whether a user with no special rights can reach and read ``path``."""
    import stat

    parts = os.path.realpath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        mode = os.stat(os.sep.join(parts[:i]) or os.sep).st_mode
        if not mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def _mount(*args: str) -> None:
    import subprocess

    subprocess.run(["mount", *args], check=True, capture_output=True)


def _isolate_files(hide: list[str], workdir: str) -> None:
    """In this private mount namespace: hide ``hide`` under empty file systems and
    make Python's own files readable when they sit in a private directory
    (e.g. an interpreter under /root); everything else of that directory stays hidden."""
    import site

    for path in hide:
        if os.path.isdir(path):
            _mount("-t", "tmpfs", "-o", "mode=000,size=4k", "tmpfs", path)
    needed = {os.path.realpath(p) for p in [sys.base_prefix, sys.prefix, *site.getsitepackages(), *sys.path]
              if p and os.path.isdir(p)}
    needed = sorted(p for p in needed if not _traversable(p))
    if not needed:
        return
    # The top-most private directory above each needed path.
    blocked: dict[str, list[str]] = {}
    for path in needed:
        parts = path.split(os.sep)
        for i in range(2, len(parts) + 1):
            anc = os.sep.join(parts[:i])
            if not os.stat(anc).st_mode & 0o001:
                blocked.setdefault(anc, []).append(path)
                break
    stage = os.path.join(workdir, ".stage")
    os.makedirs(stage, exist_ok=True)
    for anc, paths in blocked.items():
        paths = [p for p in paths if not any(p != q and p.startswith(q + os.sep) for q in paths)]
        staged = []
        for k, path in enumerate(paths):
            target = os.path.join(stage, f"{len(os.listdir(stage))}")
            os.mkdir(target)
            _mount("--bind", path, target)
            staged.append((path, target))
        _mount("-t", "tmpfs", "-o", "mode=755,size=1m", "tmpfs", anc)
        for path, target in staged:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount("--bind", target, path)
            _mount("-o", "remount,bind,ro", path)
    import subprocess

    for target in os.listdir(stage):
        subprocess.run(["umount", "-l", os.path.join(stage, target)], capture_output=True)


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(0.0, seconds))


def _on_alarm(signum, frame):
    raise _TimeLimit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlib.grading.runner")
    parser.add_argument("workdir")
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--fsize", type=int, default=0)
    parser.add_argument("--nproc", type=int, default=0)
    parser.add_argument("--isolate-files", action="store_true",
                        help="in a private mount namespace: hide --hide paths, expose Python's files")
    parser.add_argument("--hide", action="append", default=[])
    args = parser.parse_args(argv)

    if args.isolate_files and os.geteuid() == 0:
        _isolate_files(args.hide, args.workdir)
    _apply_limits(args)
    os.chdir(args.workdir)
    nonce = sys.stdin.buffer.read(64).decode("ascii", "replace").strip()
    sys.stdin.close()
    pid = os.getpid()

    import builtins
    import json

    import torch

    from cnnlib.grading import codec, feedback
    from cnnlib.grading.forbid import guarded_call

    feedback.GRADING = True  # check cells become no-ops
    torch.set_num_threads(1)
    with open("task.json", encoding="utf-8") as f:
        task = json.load(f)
    with open("inputs.npz", "rb") as f:
        import numpy as np

        with np.load(f, allow_pickle=False) as npz:
            inputs = {k: npz[k] for k in npz.files}

    out_text = _CappedText()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out_text
    signal.signal(signal.SIGALRM, _on_alarm)

    namespace = {"__name__": "__main__", "__builtins__": builtins,
                 "get_ipython": _NoShell, "display": lambda *a, **k: None}
    cell_errors: list[str] = []
    for index, source in task["cells"]:
        try:
            code = compile(source, f"<cell {index}>", "exec")
            _alarm(task["cell_time_limit"])
            exec(code, namespace)
            _alarm(0)
        except _TimeLimit:
            cell_errors.append(f"cell {index}: stopped after {task['cell_time_limit']:g} s")
        except SystemExit:
            _alarm(0)
            cell_errors.append(f"cell {index}: called sys.exit() or exit(); the rest of the cell was skipped")
        except BaseException as exc:  # the student's error: recorded, and the next cell runs
            _alarm(0)
            cell_errors.append(f"cell {index}: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            _alarm(0)
        if os.getpid() != pid:  # a forked copy of this process: it must not report
            os._exit(0)

    results = {}
    arrays: dict = {}
    for ex in task["exercises"]:
        fn = namespace.get(ex["function"])
        entry: dict = {"status": "ok", "cases": []}
        results[ex["id"]] = entry
        if fn is None:
            entry["status"] = "missing"
            continue
        if not callable(fn):
            entry["status"] = "not callable"
            continue
        for case in ex["cases"]:
            record: dict = {}
            try:
                call_args = codec.decode(case["args"], inputs)
                call_kwargs = codec.decode(case["kwargs"], inputs)
                _alarm(ex["time_limit"])
                guard = guarded_call(fn, tuple(call_args), dict(call_kwargs), tuple(ex["forbid"]), op_profiler=True)
                _alarm(0)
            except _TimeLimit:
                record = {"status": "error", "error": f"took longer than {ex['time_limit']:g} s"}
                entry["cases"].append(record)
                continue
            finally:
                _alarm(0)
            if os.getpid() != pid:
                os._exit(0)
            record["violations"] = guard.violations
            err = guard.error
            if isinstance(err, _TimeLimit):
                record.update(status="error", error=f"took longer than {ex['time_limit']:g} s")
            elif isinstance(err, NotImplementedError) and f"exercise {ex['id']}" in str(err):
                record["status"] = "not attempted"
            elif err is not None:
                record.update(status="error", error=f"{type(err).__name__}: {str(err)[:200]}")
            else:
                value = guard.value
                if ex["returns"] == "state_dict" and isinstance(value, torch.nn.Module):
                    value = {k: v.detach().cpu() for k, v in value.state_dict().items()}
                try:
                    record.update(status="ok", value=codec.encode(value, arrays))
                except Exception as exc:
                    record.update(status="error", error=f"the returned value could not be read: {type(exc).__name__}")
            entry["cases"].append(record)

    sys.stdout, sys.stderr = real_stdout, real_stderr
    report = {"nonce": nonce, "cell_errors": cell_errors[:20], "n_cell_errors": len(cell_errors),
              "stdout_chars": out_text.size, "exercises": results}
    os.makedirs("out", exist_ok=True)
    codec.dump(report, arrays, os.path.join("out", "result.json"), os.path.join("out", "arrays.npz"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
