"""Start, watch and clean up one child process with limits.

When the grader runs as root (as in a container or CI), each concurrent job
slot gets its own unprivileged user id: the child cannot read the hidden
tests (keep them ``chmod 700``), the parent's files or another child's
directory, cannot signal other processes, and its process count can be
watched and its leftovers killed by user id. ``unshare -n`` gives it a network
namespace with no interfaces. Without root the child runs as the same user,
limited by ``setrlimit`` and killed by process group.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

__all__ = ["Limits", "ChildOutcome", "is_root", "slot_uid", "run_child"]


@dataclass
class Limits:
    """Resource limits for one submission.

    Args:
        timeout: wall-clock seconds for the whole submission.
        memory_mb: address space (``RLIMIT_AS``); PyTorch alone maps about 3.4 GB.
        fsize_mb: largest file the child may write (``RLIMIT_FSIZE``).
        nproc: processes and threads for the child's user (``RLIMIT_NPROC``,
            root mode only); more than ``max_procs`` at once kills the child.
        max_procs: processes the watchdog tolerates before stopping the child.
    """

    timeout: float = 300.0
    memory_mb: int = 6144
    fsize_mb: int = 64
    nproc: int = 64
    max_procs: int = 8


@dataclass
class ChildOutcome:
    """How the child ended: ``returncode``, or ``killed_for`` a reason."""

    returncode: int | None
    killed_for: str = ""
    seconds: float = 0.0
    stderr_tail: str = ""


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def slot_uid(slot: int) -> int:
    """A user id for job ``slot`` of this grader, distinct from other graders' on the machine."""
    return 200_000 + (os.getpid() % 50_000) * 64 + slot


_UNSHARE_OK: dict[str, bool] = {}


def _unshare_works(unshare: str) -> bool:
    """Whether ``unshare -m -n`` may be used here (containers may forbid it)."""
    if unshare not in _UNSHARE_OK:
        try:
            done = subprocess.run([unshare, "-m", "-n", "--", "true"], capture_output=True, timeout=10)
            _UNSHARE_OK[unshare] = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _UNSHARE_OK[unshare] = False
    return _UNSHARE_OK[unshare]


def _procs_of_uid(uid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                pids.append(int(name))
                            break
            except OSError:
                continue
    return pids


def _procs_of_group(pgid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    pids.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid``: a helper that becomes ``uid`` and calls kill(-1)."""
    for _ in range(3):
        if not _procs_of_uid(uid):
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the helper
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.05)


def _cleanup(proc: subprocess.Popen, uid: int | None) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if uid is not None:
        _kill_uid(uid)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def run_child(workdir: str, nonce: str, limits: Limits, *, slot: int, stderr_path: str,
              hide: tuple[str, ...] = ()) -> ChildOutcome:
    """Run the runner on ``workdir`` under ``limits``; always leaves no process behind.

    ``hide``: directories (the hidden tests) covered by an empty file system in
    the child's own mount namespace, on top of their permissions.
    """
    root = is_root()
    uid = slot_uid(slot) if root else None
    cmd = [sys.executable, "-I", "-m", "cnnlib.grading.runner", workdir,
           "--memory", str(limits.memory_mb * 2**20), "--cpu", str(int(limits.timeout) + 5),
           "--fsize", str(limits.fsize_mb * 2**20)]
    if uid is not None:
        cmd += ["--uid", str(uid), "--gid", str(uid), "--nproc", str(limits.nproc)]
        os.chown(workdir, uid, uid)
        for name in os.listdir(workdir):
            os.chown(os.path.join(workdir, name), uid, uid)
        unshare = shutil.which("unshare")
        if unshare and _unshare_works(unshare):
            cmd = [unshare, "-m", "-n", "--"] + cmd + ["--isolate-files"]
            for path in hide:
                cmd += ["--hide", os.path.realpath(path)]
    env = {
        "PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(workdir, ".mpl"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "CNNLIB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
    }
    if os.environ.get("CNNLIB_DATA"):
        env["CNNLIB_DATA"] = os.environ["CNNLIB_DATA"]
    start = time.monotonic()
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                cwd=workdir, env=env, start_new_session=True)
        killed_for = ""
        try:
            proc.stdin.write(nonce.encode("ascii"))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            checks = 0
            while proc.poll() is None:
                elapsed = time.monotonic() - start
                if elapsed > limits.timeout:
                    killed_for = f"stopped after the time limit of {limits.timeout:g} s (an endless loop?)"
                    break
                checks += 1
                if checks % 2 == 0:
                    n = len(_procs_of_uid(uid) if uid is not None else _procs_of_group(proc.pid))
                    if n > limits.max_procs:
                        killed_for = f"stopped: started {n} processes (more than {limits.max_procs}; a fork bomb?)"
                        break
                time.sleep(0.1)
        finally:
            _cleanup(proc, uid)
    seconds = time.monotonic() - start
    with open(stderr_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 2000))
        tail = f.read().decode("utf-8", "replace")
    return ChildOutcome(proc.returncode if not killed_for else None, killed_for, seconds, tail)
