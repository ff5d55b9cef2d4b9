"""Start, watch and clean up one child process with limits.

When the grader runs as root (as in a container or CI), each concurrent job
slot gets its own unprivileged user id: the child cannot read the hidden
tests (keep them ``chmod 700``), the parent's files or another child's
directory, and its process count can be watched and its leftovers killed by
user id. ``unshare -n`` gives it a network namespace with no interfaces.
Without root, in a user namespace, the child runs as the same user, limited by
``setrlimit``. In both, each child is the init of its own PID namespace (it
sees and can signal only its own processes; ending it ends them all). Where
neither root nor user namespaces are available, the child runs as the same
user in the grader's PID namespace, killed by process group.

The child gets its inputs only after its cells have run: :func:`run_child`
writes them, once, when the child creates ``cells.done``.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from cnnlib.grading.protocol import ChildRequest, Ended, ServerConfig, Started

__all__ = ["Limits", "ChildOutcome", "ForkServer", "Handoff", "is_root", "private_directory", "release_directory",
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


def _procs_in_namespace(ns: str) -> list[int]:
    """The processes of the PID namespace ``ns`` (a ``/proc/PID/ns/pid`` link's text)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/pid") == ns:
                    pids.append(int(name))
            except OSError:
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

        import cnnlib

        here = os.path.dirname(os.path.dirname(os.path.realpath(cnnlib.__file__)))
        probe = (f"import sys; sys.path.insert(0, {here!r}); from cnnlib.grading.mounts import confine_works; "
                 "sys.exit(0 if confine_works(sys.argv[1]) else 1)")
        with tempfile.TemporaryDirectory(prefix="cnnlib-probe-") as stage:
            try:
                done = subprocess.run([unshare, "-r", "-m", "-n", "--", sys.executable, "-I", "-c", probe, stage],
                                      capture_output=True, timeout=60)
                _CONFINE_OK.append(done.returncode == 0)
            except (OSError, subprocess.TimeoutExpired):
                _CONFINE_OK.append(False)
    return _CONFINE_OK[0]


class ForkServer:
    """The runner's fork server (see :mod:`cnnlib.grading.runner`), started once per grading run
    and again at once if it dies.

    Args:
        stage: a private directory of the grader's (used while setting up mounts).
        hide: directories covered by an empty file system in the children's
            mount namespace (the hidden tests), on top of their permissions.
    """

    def __init__(self, stage: str, hide: tuple[str, ...] = ()):
        import threading

        self.stage = stage
        self.config = ServerConfig(stage=stage, hide=[os.path.realpath(p) for p in hide])
        unshare = shutil.which("unshare")
        self.prefix: list[str] = []
        self.isolation = "same user as the grader; resource limits only (hidden tests readable; no PID namespace)"
        if is_root():
            self.isolation = "separate user per job slot; resource limits; own PID namespace"
            if unshare and _unshare_works(unshare, "-m", "-n"):
                self.prefix = [unshare, "-m", "-n", "--"]
                self.config.isolate_files = True
                self.isolation += "; no network; hidden tests unmounted"
        elif user_namespaces_work():
            # No root, but user namespaces: the server is root only inside its own.
            self.prefix = [unshare, "-r", "-m", "-n", "--"]
            self.config.isolate_files = self.config.user_namespace = True
            self.isolation = ("same user as the grader, in a user namespace; resource limits; own PID namespace; "
                              "no network; hidden tests unmounted; files read-only outside the submission's own "
                              "directory")
        self._err = open(os.path.join(stage, "server.stderr"), "wb")
        os.chmod(self._err.name, 0o600)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._next = 0
        self.restarts = 0
        self._spawn()

    def _spawn(self) -> None:
        """Start a server; it warms up (imports PyTorch) while the parent prepares the checks."""
        import threading

        import cnnlib

        # -I: no environment variables, no user site; the server imports this very cnnlib.
        here = os.path.dirname(os.path.dirname(os.path.realpath(cnnlib.__file__)))
        start = f"import sys; sys.path.insert(0, {here!r}); from cnnlib.grading.runner import serve; sys.exit(serve())"
        cmd = self.prefix + [sys.executable, "-I", "-c", start]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                     env=_base_env(self.stage), cwd=self.stage, start_new_session=True)
        self.proc.stdin.write((self.config.to_json() + "\n").encode())
        self.proc.stdin.flush()
        self._messages: dict = {}
        self._reader = threading.Thread(target=self._read, args=(self.proc, self._messages), daemon=True)
        self._reader.start()

    def _read(self, proc: subprocess.Popen, messages: dict) -> None:
        import json

        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                if "ready" in msg:
                    messages[("server", "ready")] = True
                elif "status" in msg:
                    messages[(str(msg.get("id")), "status")] = Ended.from_dict(msg)
                else:
                    messages[(str(msg.get("id")), "pid")] = Started.from_dict(msg)
                self._cond.notify_all()
        with self._cond:
            messages[("server", "dead")] = True
            self._cond.notify_all()

    def _await(self, key, timeout: float | None, messages: dict | None = None):
        messages = self._messages if messages is None else messages
        with self._cond:
            self._cond.wait_for(lambda: key in messages or ("server", "dead") in messages, timeout)
            return messages.pop(key, None)

    def _alive_and_ready(self) -> dict:
        """The live server's messages, after restarting a dead one."""
        with self._cond:
            if ("server", "dead") in self._messages:
                self.proc.kill()
                self.proc.wait()
                self.restarts += 1
                self._spawn()
            messages = self._messages
            self._cond.wait_for(lambda: ("server", "ready") in messages or ("server", "dead") in messages, 300)
            if ("server", "ready") not in messages:
                raise RuntimeError(f"the grader's sandbox server did not start; see {self._err.name}")
            return messages

    def start(self, request: ChildRequest) -> tuple[str, int, dict]:
        """Send ``request``; return ``(request_id, keeper_pid, messages)`` (the server's messages
        in which its end will appear)."""
        messages = self._alive_and_ready()
        with self._lock:
            self._next += 1
            request.id = f"r{self._next}"
            self.proc.stdin.write((request.to_json() + "\n").encode())
            self.proc.stdin.flush()
        msg = self._await((request.id, "pid"), 120, messages)
        if msg is None or not msg.pid:
            raise RuntimeError(f"the sandbox server could not start a child: {msg}")
        return request.id, msg.pid, messages

    def exited(self, rid: str, timeout: float, messages: dict) -> int | None:
        """The child's exit status, None if still running after ``timeout`` s; -9 if the server died."""
        msg = self._await((rid, "status"), timeout, messages)
        if msg is None and ("server", "dead") in messages:
            return -9
        return None if msg is None else msg.status

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


@dataclass
class Handoff:
    """What :func:`run_child` gives the child once its cells have run: ``inputs.json`` and ``inputs.npz``."""

    inputs_json: bytes
    inputs_npz: bytes
    sent: bool = False


def _hand_inputs(workdir: str, handoff: Handoff, uid: int | None) -> None:
    """If the child said its cells are done, write its inputs (once, never through a link)."""
    if handoff.sent or not os.path.lexists(os.path.join(workdir, "cells.done")):
        return
    handoff.sent = True
    dir_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for name, data in (("inputs.npz", handoff.inputs_npz), ("inputs.json", handoff.inputs_json),
                           ("inputs.ready", b"")):
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    except OSError:
        pass  # the child made these names itself: it waits, then reports that no inputs came
    finally:
        os.close(dir_fd)


def _count_procs(uid: int | None, keeper: int, ns: list[str]) -> int:
    if uid is not None:
        return len(_procs_of_uid(uid))
    if not ns:
        try:
            ns.append(os.readlink(f"/proc/{keeper}/ns/pid_for_children"))
        except OSError:
            ns.append("")
    return len(_procs_in_namespace(ns[0])) if ns[0] else len(_procs_of_group(keeper))


def _watch(server: ForkServer, rid: str, messages: dict, keeper: int, workdir: str, limits: Limits,
           handoff: Handoff, uid: int | None) -> tuple[int | None, str]:
    """Wait for the child; hand it its inputs; stop it at a limit. ``(status, killed_for)``."""
    start = time.monotonic()
    ns: list[str] = []
    checks = 0
    while True:
        status = server.exited(rid, 0.02 if not handoff.sent else 0.1, messages)
        if status is not None:
            return status, ""
        _hand_inputs(workdir, handoff, uid)
        if time.monotonic() - start > limits.timeout:
            return None, f"stopped after the time limit of {limits.timeout:g} s (an endless loop?)"
        checks += 1
        if checks % 5 == 0 and _count_procs(uid, keeper, ns) > limits.max_procs + 1:  # + the keeper
            return None, f"stopped: started more than {limits.max_procs} processes (a fork bomb?)"


def _end(keeper: int, uid: int | None) -> None:
    """Kill the child and everything it left: by user as root, else its keeper's group
    (the child dies with its keeper, and its PID namespace with it)."""
    if uid is not None:
        _kill_uid(uid)
    try:
        os.killpg(keeper, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_child(server: ForkServer, workdir: str, nonce: str, limits: Limits, handoff: Handoff, *, slot: int,
              stderr_path: str) -> ChildOutcome:
    """Run one submission's child on ``workdir`` under ``limits``; leaves no process behind."""
    uid = slot_uid(slot) if is_root() else None
    if uid is not None:
        os.chown(workdir, uid, uid)
        for name in os.listdir(workdir):
            os.chown(os.path.join(workdir, name), uid, uid)
    env = {**_base_env(workdir), "MPLCONFIGDIR": os.path.join(workdir, ".mpl")}
    request = ChildRequest(workdir=workdir, nonce=nonce, stderr=stderr_path, uid=uid, env=env,
                           memory=limits.memory_mb * 2**20, cpu=int(limits.timeout) + 5,
                           fsize=limits.fsize_mb * 2**20, nproc=limits.nproc)
    start = time.monotonic()
    rid, keeper, messages = server.start(request)
    try:
        status, killed_for = _watch(server, rid, messages, keeper, workdir, limits, handoff, uid)
    finally:
        _end(keeper, uid)
    if status is None:
        status = server.exited(rid, 30, messages)
    seconds = time.monotonic() - start
    with open(stderr_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 2000))
        tail = f.read().decode("utf-8", "replace")
    return ChildOutcome(status if not killed_for else None, killed_for, seconds, tail)
