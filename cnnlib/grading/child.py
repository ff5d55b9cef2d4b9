"""The child: runs one submission's cells, asks for the inputs, calls the functions, reports.

It runs forked from the sandbox server (:mod:`cnnlib.grading.runner`), already
limited and unprivileged, as the init of its own PID namespace where the
kernel allows one. The order matters for what the student's code can reach:

1. the cells run (IPython syntax applied here, under each cell's time
   limit), watched by :func:`cnnlib.grading.forbid.watch_cells`; the working
   directory holds only ``task.json`` (code and exercise names, no inputs);
2. every other process of the namespace is killed, then ``cells.done`` is
   created (a file a cell already created means a cell asked early: every
   call is refused) and the grader writes the inputs, once;
3. each function is called on each case under the tripwires, refused while
   other threads run; each value is copied and serialised at its return;
4. the report goes to ``out/`` with the nonce, written by
   :class:`cnnlib.grading.codec.ResultWriter`.
"""
from __future__ import annotations

import os
import signal
import sys
import time

from cnnlib.grading.protocol import CallRecord, ChildRequest, Inputs, Status, Task, TaskExercise, TimeLimit, classify_call

__all__ = ["run"]

INPUT_WAIT_S = 60.0
EARLY = "a cell asked for the inputs before the cells had finished"


# What the notebook's code calls without naming it (IPython's stand-ins, the captured
# output, the alarm's handler), compiled under a name of their own: the tripwires flag
# calls into cnnlib.grading's files, and these are not the student's doing.
_SHELL = '''
class CappedText:
    """Stands in for stdout/stderr: keeps the first few kilobytes, drops the rest."""

    def __init__(self, cap=4096):
        self.cap, self.parts, self.size = cap, [], 0

    def write(self, text):
        text = str(text)
        if self.size < self.cap:
            self.parts.append(text[: self.cap - self.size])
        self.size += len(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def on_alarm(signum, frame):
    if frame is not None and frame.f_code.co_filename == FORBID_FILE:
        setitimer(ITIMER_REAL, 0.001)  # never inside a tripwire's hook (Python would drop it): soon after
        return
    raise TimeLimit()


def _is_expression(code):
    try:
        compile(code, "<magic>", "eval")
        return True
    except SyntaxError:
        return False


class Shell:
    """get_ipython() when graded: timing and capturing magics run their code once;
    every other magic and shell command does nothing."""

    _RUN = {"time", "timeit", "capture", "prun"}

    def __init__(self, namespace):
        self.namespace = namespace

    def run_line_magic(self, name, line, *args, **kwargs):
        if name in self._RUN and line.strip() and not line.lstrip().startswith("-"):
            if _is_expression(line):
                return eval(compile(line, "<magic>", "eval"), self.namespace)
            exec(compile(line, "<magic>", "exec"), self.namespace)
        return None

    def run_cell_magic(self, name, line, cell):
        if name in self._RUN:
            exec(compile(cell, "<magic>", "exec"), self.namespace)
        return None

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def display(*args, **kwargs):
    return None
'''


def _helpers() -> dict:
    from cnnlib.grading import forbid

    helpers: dict = {"TimeLimit": TimeLimit, "FORBID_FILE": forbid.__file__, "setitimer": signal.setitimer,
                     "ITIMER_REAL": signal.ITIMER_REAL}
    exec(compile(_SHELL, "<grader: helpers>", "exec"), helpers)
    return helpers


def _namespace(helpers: dict) -> dict:
    """The notebook's global namespace, with ``get_ipython`` and ``display``."""
    import builtins

    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": helpers["display"]}
    shell = helpers["Shell"](namespace)
    namespace["get_ipython"] = eval(compile("lambda: shell", "<grader: helpers>", "eval"), {"shell": shell})
    return namespace


def _alarm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(0.0, seconds))


def _read_json(name: str):
    import json

    with open(name, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------ 1. cells
def _run_cell(index: int, source: str, namespace: dict, limit: float, transform, watch) -> str:
    """Run one cell under ``watch``; return its error line ('' if it ran)."""
    try:
        _alarm(limit)
        code = compile(transform(source), f"<cell {index}>", "exec")
        with watch:
            exec(code, namespace)
        return ""
    except TimeLimit:
        return f"cell {index}: stopped after {limit:.0f} s"
    except SystemExit:
        return f"cell {index}: called sys.exit() or exit(); the rest of the cell was skipped"
    except BaseException as exc:  # the student's error: recorded, and the next cell runs
        return f"cell {index}: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        _alarm(0)


def _run_cells(task: Task, namespace: dict, pid: int) -> tuple[list[str], list[str]]:
    """Every cell, watched; returns ``(cell_errors, violations)``."""
    from IPython.core.inputtransformer2 import TransformerManager

    from cnnlib.grading import feedback
    from cnnlib.grading.forbid import watch_cells

    def transform(source: str) -> str:
        try:
            return TransformerManager().transform_cell(source)
        except Exception:
            return source  # compile() reports the syntax error

    errors = []
    watch = watch_cells(allowed=(feedback.check,))
    for index, source in task.cells:
        error = _run_cell(int(index), str(source), namespace, task.cell_time_limit, transform, watch)
        if error:
            errors.append(error)
        if os.getpid() != pid:  # a forked copy of this process: it must not report
            os._exit(0)
    return errors, list(watch.violations)


# ------------------------------------------------------------------ 2. inputs
def _alone() -> None:
    """As init of its own PID namespace: kill every other process in it (a cell's
    helpers must not see the inputs), and reap them."""
    if os.getpid() != 1:
        return
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def _request_inputs() -> tuple[dict | None, str]:
    """Say the cells are done; wait for the grader's inputs. ``(arrays_and_cases, problem)``."""
    import numpy as np

    try:
        os.close(os.open("cells.done", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        return None, EARLY
    deadline = time.monotonic() + INPUT_WAIT_S
    while not os.path.exists("inputs.ready"):
        if time.monotonic() > deadline:
            return None, "the inputs never came (a cell took them?)"
        time.sleep(0.005)
    inputs = Inputs.from_dict(_read_json("inputs.json"))
    with open("inputs.npz", "rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return {"cases": inputs.cases, "arrays": arrays}, ""


# ------------------------------------------------------------------ 3. calls
_STATE_DICT_CALL = '''
def call(fn, args, kwargs):
    value = fn(*args, **kwargs)
    if isinstance(value, nn.Module):
        value = {k: v.detach().cpu().clone() for k, v in value.state_dict().items()}
    return value
'''


def _returning_state_dict(fn):
    """``fn`` followed by ``state_dict()``, compiled as if it were the student's code, so that
    the module's own methods run under the tripwires too."""
    import torch

    namespace = {"nn": torch.nn}
    exec(compile(_STATE_DICT_CALL, "<grader: state_dict>", "exec"), namespace)
    call = namespace["call"]
    return lambda *args, **kwargs: call(fn, args, kwargs)


def _call_case(ex: TaskExercise, fn, args, kwargs, writer) -> tuple[CallRecord, bool]:
    """One guarded call; returns its record and whether it ran out of time."""
    from cnnlib.grading.forbid import guarded_call

    try:
        _alarm(ex.time_limit)
        guard = guarded_call(fn, tuple(args), dict(kwargs), tuple(ex.forbid), alone=True)
    except TimeLimit as exc:
        guard = None
        outcome = classify_call(exc, ex.id, ex.time_limit)
    finally:
        _alarm(0)
    if guard is None:
        return CallRecord(outcome.status, error=outcome.error), True
    outcome = classify_call(guard.error, ex.id, ex.time_limit)
    record = CallRecord(outcome.status, error=outcome.error[:300], violations=list(guard.violations))
    if outcome.status == Status.OK:
        record.value, error = writer.value(guard.value)
        if error:
            record.status, record.error = Status.ERROR, error
            record.violations += [error] if "tampered" in error else []
    return record, isinstance(guard.error, TimeLimit)


def _call_exercise(ex: TaskExercise, fn, cases: list, arrays: dict, refused: list[str], writer, pid: int) -> None:
    from cnnlib.grading import codec
    from cnnlib.grading.forbid import OperatorRecorder

    if ex.returns == "state_dict":
        fn = _returning_state_dict(fn)
    records: list[CallRecord] = []
    timed_out = False
    with OperatorRecorder(tuple(ex.forbid)) as recorder:
        for args, kwargs in cases:
            if timed_out:
                records.append(CallRecord(Status.ERROR, error="skipped: an earlier case ran out of time"))
                continue
            record, timed_out = _call_case(ex, fn, codec.decode(args, arrays), codec.decode(kwargs, arrays), writer)
            if os.getpid() != pid:
                os._exit(0)
            records.append(record)
    seen = refused + recorder.violations()
    for record in records:
        record.violations += [v for v in seen[:1] if v not in record.violations]
        writer.record(ex.id, record.__dict__)


def _exercise_status(namespace: dict, ex: TaskExercise) -> Status:
    fn = namespace.get(ex.function)
    if fn is None:
        return Status.MISSING
    return Status.OK if callable(fn) else Status.NOT_CALLABLE


# ------------------------------------------------------------------ the whole child
def run(req: ChildRequest) -> int:
    """Run one submission (in the forked child, already limited and unprivileged)."""
    os.chdir(req.workdir)
    os.environ.clear()
    os.environ.update(req.env)
    pid = os.getpid()
    clock = {"start": time.monotonic()}

    import torch

    from cnnlib.grading import codec, feedback

    feedback.GRADING = True  # check cells become no-ops
    torch.set_num_threads(1)
    task = Task.from_dict(_read_json("task.json"))
    exercises = [TaskExercise.from_dict(e) for e in task.exercises]
    writer = codec.ResultWriter()
    clock["imported"] = time.monotonic()

    helpers = _helpers()
    out_text = helpers["CappedText"]()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out_text
    signal.signal(signal.SIGALRM, helpers["on_alarm"])
    namespace = _namespace(helpers)
    try:
        cell_errors, refused = _run_cells(task, namespace, pid)
        clock["cells"] = time.monotonic()
        _alone()
        given, problem = _request_inputs()
        refused += [problem] if problem else []
        statuses = {ex.id: _exercise_status(namespace, ex) for ex in exercises}
        for ex in (ex for ex in exercises if statuses[ex.id] == Status.OK):
            if given is None:
                for _ in range(ex.n_cases):
                    writer.record(ex.id, CallRecord(Status.ERROR, error=problem, violations=[problem]).__dict__)
                continue
            _call_exercise(ex, namespace[ex.function], given["cases"].get(ex.id, []), given["arrays"], refused,
                           writer, pid)
    finally:
        sys.stdout, sys.stderr = real_stdout, real_stderr
    clock["calls"] = time.monotonic()
    phases = {k: round(clock[k] - clock[p], 3) for p, k in [("start", "imported"), ("imported", "cells"),
                                                             ("cells", "calls")]}
    head = {"nonce": req.nonce, "seconds": phases, "cell_errors": cell_errors[:20], "n_cell_errors": len(cell_errors),
            "stdout_chars": out_text.size, "notes": refused[:5]}
    os.makedirs("out", exist_ok=True)
    writer.write(head, {k: str(v) for k, v in statuses.items()}, os.path.join("out", "result.json"),
                 os.path.join("out", "arrays.npz"))
    return 0
