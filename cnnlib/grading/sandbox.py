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

__all__ = ["Limits", "ChildOutcome", "ForkServer", "is_root", "private_directory", "release_directory",
           "run_child", "slot_uid", "user_namespaces_work"]


@dataclass
class Limits:
    """Resource limits for one submission.

    Args:
        timeout: wall-clock seconds for the whole submission.
        memory_mb: address space (``RLIMIT_AS``); PyTorch alone maps about 3.4 GB.
        fsize_mb: largest file the child may write (``RLIMIT_FSIZE``).
        disk_mb: size of each job slot's file system, which holds the child's
            own directory (root only: a ``tmpfs``; the shared writable
            directories /tmp, /var/tmp, /dev/shm and /run/lock are replaced by
            small empty ones in the children's mount namespace).
        nproc: processes and threads for the child's user (``RLIMIT_NPROC``,
            root mode only); more than ``max_procs`` at once kills the child.
        max_procs: processes the watchdog tolerates before stopping the child.
    """

    timeout: float = 300.0
    memory_mb: int = 6144
    fsize_mb: int = 64
    disk_mb: int = 256
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
    """Whether the grader has root's powers. ``CNNLIB_GRADER_AS_USER=1`` makes a
    grader started as root sandbox as an ordinary user's would (for tests)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and os.environ.get("CNNLIB_GRADER_AS_USER") != "1"


def slot_uid(slot: int) -> int:
    """A user id for job ``slot`` of this grader, distinct from other graders' on the machine."""
    return 200_000 + (os.getpid() % 50_000) * 64 + slot


_UNSHARE_OK: dict[tuple[str, ...], bool] = {}


def _unshare_works(*command: str) -> bool:
    """Whether ``command`` (``unshare -m -n``, or ``unshare -r -m -n`` without
    root) may be used here: containers and some distributions forbid it."""
    if command not in _UNSHARE_OK:
        try:
            done = subprocess.run([*command, "--", "true"], capture_output=True, timeout=10)
            _UNSHARE_OK[command] = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _UNSHARE_OK[command] = False
    return _UNSHARE_OK[command]


def _procs_of_uid(uid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as f:
                    zombie = False
                    for line in f:
                        if line.startswith("State:"):
                            zombie = line.split()[1] in ("Z", "X")
                        elif line.startswith("Uid:"):
                            if int(line.split()[1]) == uid and not zombie:
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
                if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                    pids.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid``: a helper becomes ``uid`` and signals all it can (-1),
    first SIGSTOP (a stopped process cannot fork), then SIGKILL, until none is left."""
    for _ in range(50):
        if not _procs_of_uid(uid):
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the helper
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGSTOP)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.02)


_CONFINE_OK: list[bool] = []


def user_namespaces_work() -> bool:
    """Whether a grader without root can sandbox in a user namespace here,
    read-only file systems included (some kernels and containers refuse)."""
    unshare = shutil.which("unshare")
    if not unshare or not _unshare_works(unshare, "-r", "-m", "-n"):
        return False
    if not _CONFINE_OK:
        import tempfile

        probe = "import sys; from cnnlib.grading.runner import _confine_works; sys.exit(0 if _confine_works(sys.argv[1]) else 1)"
        with tempfile.TemporaryDirectory(prefix="cnnlib-probe-") as stage:
            try:
                done = subprocess.run([unshare, "-r", "-m", "-n", "--", sys.executable, "-I", "-c", probe, stage],
                                      capture_output=True, timeout=60)
                _CONFINE_OK.append(done.returncode == 0)
            except (OSError, subprocess.TimeoutExpired):
                _CONFINE_OK.append(False)
    return _CONFINE_OK[0]


class ForkServer:
    """The runner's fork server (see :mod:`cnnlib.grading.runner`), started once per grading run.

    Args:
        stage: a private directory of the grader's (used while setting up mounts).
        hide: directories covered by an empty file system in the children's
            mount namespace (the hidden tests), on top of their permissions.
    """

    def __init__(self, stage: str, hide: tuple[str, ...] = ()):
        import json
        import threading

        cmd = [sys.executable, "-I", "-m", "cnnlib.grading.runner", "--stage", stage]
        hides = [arg for path in hide for arg in ("--hide", os.path.realpath(path))]
        unshare = shutil.which("unshare")
        self.isolation = "same user as the grader; resource limits only (hidden tests readable)"
        if is_root():
            self.isolation = "separate user per job slot; resource limits"
            if unshare and _unshare_works(unshare, "-m", "-n"):
                cmd = [unshare, "-m", "-n", "--"] + cmd + ["--isolate-files"] + hides
                self.isolation += "; no network; hidden tests unmounted"
        elif user_namespaces_work():
            # No root, but user namespaces: the server is root only inside its own.
            cmd = [unshare, "-r", "-m", "-n", "--"] + cmd + ["--isolate-files", "--user-namespace"] + hides
            self.isolation = ("same user as the grader, in a user namespace; resource limits; no network; "
                              "hidden tests unmounted; files read-only outside the submission's own directory")
        self._err = open(os.path.join(stage, "server.stderr"), "wb")
        os.chmod(self._err.name, 0o600)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                     env=_base_env(stage), cwd=stage, start_new_session=True)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._messages: dict[str, dict] = {}
        self._next = 0
        # The server warms up (imports PyTorch) while the parent prepares the checks.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import json

        for line in self.proc.stdout:
            if line.startswith(b'{"ready"'):
                with self._cond:
                    self._messages[("server", "ready")] = {}
                    self._cond.notify_all()
                continue
            msg = json.loads(line)
            with self._cond:
                key = (msg["id"], "status" if "status" in msg else "pid")
                self._messages[key] = msg
                self._cond.notify_all()
        with self._cond:
            self._messages[("server", "dead")] = {}
            self._cond.notify_all()

    def _await(self, key, timeout: float | None) -> dict | None:
        with self._cond:
            self._cond.wait_for(lambda: key in self._messages or ("server", "dead") in self._messages, timeout)
            return self._messages.pop(key, None)

    def _await_ready(self) -> dict | None:
        with self._cond:
            self._cond.wait_for(lambda: ("server", "ready") in self._messages
                                or ("server", "dead") in self._messages, 300)
            return self._messages.get(("server", "ready"))

    def start(self, request: dict) -> tuple[str, int]:
        """Send ``request``; return ``(request_id, child_pid)``."""
        import json

        if self._await_ready() is None:
            raise RuntimeError(f"the grader's sandbox server did not start; see {self._err.name}")
        with self._lock:
            self._next += 1
            rid = f"r{self._next}"
            self.proc.stdin.write((json.dumps({**request, "id": rid}) + "\n").encode())
            self.proc.stdin.flush()
        msg = self._await((rid, "pid"), 120)
        if not msg or "pid" not in msg:
            raise RuntimeError(f"the sandbox server could not start a child: {msg}")
        return rid, int(msg["pid"])

    def exited(self, rid: str, timeout: float) -> int | None:
        """The child's exit status, or None if it is still running after ``timeout`` s."""
        msg = self._await((rid, "status"), timeout)
        return None if msg is None else int(msg["status"])

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self._err.close()

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _base_env(home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": home, "TMPDIR": home, "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CNNLIB_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
    }
    if os.environ.get("CNNLIB_DATA"):
        env["CNNLIB_DATA"] = os.environ["CNNLIB_DATA"]
    return env


def private_directory(path: str, limits: Limits) -> bool:
    """Make ``path`` (an empty directory) a size-limited file system of its own (root only)."""
    if not is_root() or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={limits.disk_mb}m,mode=0711", "tmpfs", path],
                          capture_output=True)
    return done.returncode == 0


def release_directory(path: str) -> None:
    subprocess.run(["umount", "-l", path], capture_output=True)


def run_child(server: ForkServer, workdir: str, nonce: str, limits: Limits, *, slot: int,
              stderr_path: str) -> ChildOutcome:
    """Run one submission's child on ``workdir`` under ``limits``; leaves no process behind."""
    uid = slot_uid(slot) if is_root() else None
    if uid is not None:
        os.chown(workdir, uid, uid)
        for name in os.listdir(workdir):
            os.chown(os.path.join(workdir, name), uid, uid)
    env = {**_base_env(workdir), "MPLCONFIGDIR": os.path.join(workdir, ".mpl")}
    request = {"workdir": workdir, "nonce": nonce, "stderr": stderr_path, "uid": uid, "env": env,
               "memory": limits.memory_mb * 2**20, "cpu": int(limits.timeout) + 5,
               "fsize": limits.fsize_mb * 2**20, "nproc": limits.nproc}
    rid, pid = server.start(request)
    start = time.monotonic()
    killed_for = ""
    status = None
    checks = 0
    while True:
        status = server.exited(rid, 0.1)
        if status is not None:
            break
        if time.monotonic() - start > limits.timeout:
            killed_for = f"stopped after the time limit of {limits.timeout:g} s (an endless loop?)"
            break
        checks += 1
        if checks % 2 == 0:
            n = len(_procs_of_uid(uid) if uid is not None else _procs_of_group(pid))
            if n > limits.max_procs:
                killed_for = f"stopped: started more than {limits.max_procs} processes (a fork bomb?)"
                break
    if uid is not None:
        _kill_uid(uid)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if status is None:
        status = server.exited(rid, 30)
    seconds = time.monotonic() - start
    with open(stderr_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 2000))
        tail = f.read().decode("utf-8", "replace")
    return ChildOutcome(status if not killed_for else None, killed_for, seconds, tail)
