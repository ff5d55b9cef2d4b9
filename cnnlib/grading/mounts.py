"""Namespaces and mounts for the sandbox (Linux): the server's private file view, each
child's read-only confinement without root, and each child's own PID namespace."""
from __future__ import annotations

import os
import re
import sys

__all__ = ["isolate_files", "confine", "confine_works", "new_pid_namespace", "private_proc", "mount_proc"]


def _traversable(path: str) -> bool:
    """Whether a user with no special rights can reach and read ``path``."""
    import stat

    parts = os.path.realpath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        mode = os.stat(os.sep.join(parts[:i]) or os.sep).st_mode
        if not mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


# Linux constants for mount(2) and unshare(2).
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND = 1, 2, 4, 8, 32, 4096
_MS_REC, _MS_PRIVATE = 16384, 1 << 18
_KEEP_FLAGS = {"nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC, "noatime": 1024,
               "nodiratime": 2048, "relatime": 1 << 21, "strictatime": 1 << 24}
_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID = 0x20000, 0x10000000, 0x20000000


def _libc_call(name: str, *args) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _sys_mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    import ctypes

    def c(text):
        return text.encode() if text is not None else None

    _libc_call("mount", c(source), c(target), c(fstype), ctypes.c_ulong(flags), c(data))


def _readonly_flags(options: list[str]) -> int:
    """mount(2) flags that make a mount with these options read-only, keeping the
    flags a user namespace may not drop (nosuid, nodev, noexec, atime)."""
    flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
    for option in options:
        flags |= _KEEP_FLAGS.get(option, 0)
    return flags


def _mount_points() -> list[tuple[str, list[str]]]:
    """Every mount point of this mount namespace with its per-mount options, parents first."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            points.append((target, fields[5].split(",")))
    return points


def isolate_files(hide: list[str], workdir: str) -> None:  # workdir: the grader's directory
    """In this private mount namespace: give the submissions empty private
    shared directories (/tmp, ...), make Python's and cnnlib's own files
    readable when they sit in a private directory (e.g. an interpreter under
    /root) or under /tmp, and hide ``hide`` under empty file systems. The hiding
    comes last, so that no bind made here can bring a hidden directory back."""
    import site

    import cnnlib

    needed = {os.path.realpath(p) for p in [sys.base_prefix, sys.prefix, *site.getsitepackages(), *sys.path,
                                            os.path.dirname(cnnlib.__file__)]
              if p and os.path.isdir(p)}
    stage = os.path.realpath(workdir)
    # Shared writable directories: small, empty and private to the submissions,
    # but for the grader's own directory (under /tmp when not root).
    for shared in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        real = os.path.realpath(shared)
        if os.path.isdir(real):
            inside = [p for p in needed if p.startswith(real + os.sep)]
            writable = [stage] if stage.startswith(real + os.sep) else []
            _cover(real, inside + writable, "mode=1777,size=16m", writable=writable)
    # The top-most private directory above each needed path that others cannot reach.
    blocked: dict[str, list[str]] = {}
    for path in sorted(p for p in needed if not _traversable(p)):
        parts = path.split(os.sep)
        for i in range(2, len(parts) + 1):
            anc = os.sep.join(parts[:i])
            if not os.stat(anc).st_mode & 0o001:
                blocked.setdefault(anc, []).append(path)
                break
    for anc, paths in blocked.items():
        _cover(anc, paths, "mode=755,size=1m")
    for path in hide:
        if os.path.isdir(path):
            _sys_mount("tmpfs", path, "tmpfs", 0, "mode=000,size=4k")


def _cover(directory: str, keep: list[str], options: str, writable: list[str] = ()) -> None:
    """Mount an empty tmpfs over ``directory``, binding the paths ``keep`` inside
    it back at the same place: read-only, but for those in ``writable``, which
    keep their mounts below them too. Each path is opened before the tmpfs goes
    on top and bound from its descriptor, which still reaches it."""
    keep = sorted(p for p in keep if not any(p != q and p.startswith(q + os.sep) for q in keep))
    opened = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in keep]
    try:
        _sys_mount("tmpfs", directory, "tmpfs", 0, options)
        for path, fd in opened:
            os.makedirs(path, mode=0o755, exist_ok=True)
            if path in writable:
                _sys_mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
            else:
                _sys_mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND)
                _sys_mount(None, path, None, _readonly_flags(dict(_mount_points())[path]))
    finally:
        for _, fd in opened:
            os.close(fd)


def confine(workdir: str) -> list[str]:
    """Without root (the server is root only of its own user namespace): give
    this child its own mount namespace in which the other job slots are
    covered and every file system is read-only except ``workdir``, then move it
    into a new user namespace, where it keeps no power over those mounts (the
    kernel locks mounts inherited from a more privileged namespace). Returns
    the mount points it could not make read-only (virtual ones like /proc)."""
    _libc_call("unshare", _CLONE_NEWNS)
    _sys_mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    mount_proc()
    work = os.path.realpath(workdir)
    slot = os.path.dirname(os.path.dirname(work))  # STAGE/slotK/cnnlib-grade-XXXX/work
    stage = os.path.dirname(slot)
    if os.path.basename(slot).startswith("slot"):
        for name in os.listdir(stage):
            other = os.path.join(stage, name)
            if name.startswith("slot") and other != slot and os.path.isdir(other):
                _sys_mount("tmpfs", other, "tmpfs", 0, "mode=000,size=4k")
    _sys_mount(work, work, None, _MS_BIND)  # its own mount, which stays writable
    failed = []
    for target, options in _mount_points():
        if target == work or "ro" in options:
            continue
        try:
            _sys_mount(None, target, None, _readonly_flags(options))
        except OSError:
            failed.append(target)
    _libc_call("unshare", _CLONE_NEWUSER)
    return failed


def confine_works(stage: str) -> bool:
    """Try ``_confine`` once in a throw-away child (kernels and containers differ);
    the grader runs this under ``unshare -r -m -n`` before it picks that sandbox."""
    probe = os.path.join(stage, "slot-probe", "x", "work")
    os.makedirs(probe, exist_ok=True)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe
        try:
            failed = confine(probe)
            os._exit(1 if "/" in failed else 0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def new_pid_namespace() -> bool:
    """Put this process's next child in a new PID namespace (it becomes its init:
    when it ends, the kernel kills every process left in it). False if refused."""
    try:
        _libc_call("unshare", _CLONE_NEWPID)
        return True
    except (OSError, AttributeError):
        return False


def mount_proc() -> None:
    """Mount a ``/proc`` of this PID namespace: it shows only its own processes."""
    if os.getpid() == 1:
        _sys_mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


def private_proc() -> None:
    """As root (no ``confine``): a mount namespace of this child's own, with its own ``/proc``."""
    if os.getpid() != 1:
        return
    _libc_call("unshare", _CLONE_NEWNS)
    _sys_mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    mount_proc()
