"""The sandbox server: imports PyTorch once, then forks one child per submission.

The grader starts one server per run, ``python -I -m cnnlib.grading.runner``
(under ``unshare -m -n`` as root: its own mount and network namespaces; without
root, under ``unshare -r -m -n`` where the kernel allows user namespaces). Its
first line on stdin is a :class:`~cnnlib.grading.protocol.ServerConfig` (the
paths to hide stay off its command line, which every process can read). For
each :class:`~cnnlib.grading.protocol.ChildRequest` it forks a *keeper*, which
opens a new PID namespace and forks the child (:mod:`cnnlib.grading.child`)
as that namespace's init: a child cannot see or signal the grader, the server
or other children, and when it ends the kernel kills whatever it left behind.
The keeper exits with the child's status (or dies of the child's signal). The
server answers :class:`~cnnlib.grading.protocol.Started` and
:class:`~cnnlib.grading.protocol.Ended` (JSON lines).
"""
from __future__ import annotations

import os
import resource
import signal
import sys

from cnnlib.grading.protocol import ChildRequest, Ended, ServerConfig, Started

__all__ = ["main", "serve"]

_USER_NAMESPACE = False  # set by serve(): the server is root of its own user namespace, not the machine's


def _apply_limits(req: ChildRequest) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if req.memory:
        resource.setrlimit(resource.RLIMIT_AS, (req.memory, req.memory))
    if req.cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (req.cpu, req.cpu + 5))
    if req.fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (req.fsize, req.fsize))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails instead of killing
    if req.uid is not None and os.geteuid() == 0 and not _USER_NAMESPACE:
        os.setgroups([])
        os.setgid(req.uid)
        os.setuid(req.uid)
    if req.nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (req.nproc, req.nproc))


def _be_child(req: ChildRequest) -> int:
    """In the child (init of its PID namespace where allowed): confine, limit, run."""
    import ctypes

    from cnnlib.grading import child, mounts

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the keeper
    if _USER_NAMESPACE:
        unconfined = mounts.confine(req.workdir)
        if "/" in unconfined:
            raise RuntimeError(f"could not make the file system read-only: {unconfined}")
    elif os.geteuid() == 0:
        mounts.private_proc()
    _apply_limits(req)
    return child.run(req)


def _keep(req: ChildRequest) -> None:
    """The keeper: a new PID namespace, the child as its init; leave as the child left."""
    from cnnlib.grading import mounts

    if os.geteuid() == 0:
        mounts.new_pid_namespace()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _be_child(req)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _start_child(req: ChildRequest) -> int:
    """Fork the keeper for ``req``; in the fork, never return."""
    err_fd = os.open(req.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid:
        os.close(err_fd)
        return pid
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err_fd, 2)
        os.closerange(3, 4096)  # the server's pipes must not be reachable from student code
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        _keep(req)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(1)


_PREWARM = ("torch._inductor.config", "numpy", "matplotlib", "matplotlib.pyplot", "cnnlib", "cnnlib.data",
            "sklearn.datasets", "torchvision", "IPython.display", "IPython.core.inputtransformer2")


def _read_line(fd: int) -> bytes:
    """One line from ``fd``, read byte by byte (nothing after it is consumed)."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line


def _prewarm() -> None:
    """Import once what the children need and chapter notebooks load, so each child starts warm,
    and remember the grader's own code before any student code can change it."""
    import torch

    from cnnlib.grading import child, codec, feedback, forbid

    torch.set_num_threads(1)
    for name in _PREWARM:
        try:
            __import__(name)
        except Exception:
            pass
    try:
        from torch.autograd.profiler import profile

        with profile(use_kineto=False):
            torch.ones(1).add_(1)
    except Exception:
        pass
    from cnnlib.grading.registry import list_exercises

    for exercise in list_exercises():  # the forbid rules, parsed once for every child
        forbid.prepare(exercise.forbidden)
    # The first dispatch mode imports torch._dynamo and sympy (some 870 modules, seconds
    # under the profile hook): pay that once here, not in every child.
    forbid.guarded_call(torch.ones(2).add, (1,), {}, ("aten::convolution",))
    codec.seal(child.run, child._call_case, child._call_exercise, child._request_inputs, forbid.guarded_call,
               feedback.check)


def _reap(children: dict[int, str], write) -> None:
    """Report our children that ended; reap adopted orphans."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in children:
            write(Ended(children.pop(pid), os.waitstatus_to_exitcode(status)).to_json())


def serve(argv: list[str] | None = None) -> int:
    """The fork server's loop (see the module docstring)."""
    import json
    import select

    from cnnlib.grading import mounts

    stdin = sys.stdin.buffer.fileno()
    config = ServerConfig.from_dict(json.loads(_read_line(stdin) or b"{}"))
    if config.isolate_files and os.geteuid() == 0:
        mounts.isolate_files([str(h) for h in config.hide], config.stage)
    global _USER_NAMESPACE
    _USER_NAMESPACE = config.user_namespace and os.geteuid() == 0
    try:  # orphans of a submission become ours to reap, not init's
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass
    _prewarm()
    out = sys.stdout

    def write(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    children: dict[int, str] = {}
    write(json.dumps({"ready": True}))
    buf = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.05)
        if ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                req = ChildRequest.from_dict(json.loads(line))
                try:
                    children[_start_child(req)] = req.id
                    write(Started(req.id, list(children)[-1]).to_json())
                except OSError as exc:
                    write(Started(req.id, 0, str(exc)).to_json())
        _reap(children, write)
    # Leave at once: tearing down an interpreter that holds PyTorch, sympy and
    # torch._dynamo takes seconds, and the grader waits for this process to end.
    out.flush()
    os._exit(0)


main = serve

if __name__ == "__main__":
    sys.exit(serve())
