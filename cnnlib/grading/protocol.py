"""The messages between the grader, its sandbox server and each child, as typed records.

Every status word the grader uses is a member of :class:`Status`. A record
crosses a process boundary as JSON (:meth:`to_json`); the side that receives
it from a child (untrusted) rebuilds it with ``from_dict``, which checks each
field's type and replaces what does not fit by a safe default.

The exchange for one submission::

    grader  -> server   ChildRequest            (a JSON line on the server's stdin)
    server  -> grader   Started(id, pid)        (the child runs)
    grader  -> child    Task                    (WORKDIR/task.json: cells, exercises, no inputs)
    child   -> grader   WORKDIR/cells.done      (every cell has run)
    grader  -> child    Inputs                  (WORKDIR/inputs.json + inputs.npz, once)
    child   -> grader   ChildReport             (WORKDIR/out/result.json + arrays.npz)
    server  -> grader   Ended(id, status)       (the child and its PID namespace are gone)
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
try:
    from enum import StrEnum
except ImportError:  # Python 3.10
    from enum import Enum

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)
from typing import Any

__all__ = ["Status", "TimeLimit", "CallOutcome", "classify_call", "ServerConfig", "ChildRequest", "Started",
           "Ended", "TaskExercise", "Task", "Inputs", "CallRecord", "ExerciseReport", "ChildReport"]


class Status(StrEnum):
    """Every status word: of an exercise in a child, of one call, of one judged case."""

    OK = "ok"                        # the function exists / the call returned
    MISSING = "missing"              # no function of that name
    NOT_CALLABLE = "not callable"    # the name is not a function
    NOT_RUN = "not run"              # the submission produced no results
    ERROR = "error"                  # the call raised, timed out or returned something unreadable
    NOT_ATTEMPTED = "not attempted"  # the stub's own NotImplementedError
    PASS = "pass"                    # judged: right
    FAIL = "fail"                    # judged: wrong
    FORBIDDEN = "forbidden"          # judged: a forbidden or refused call


class TimeLimit(BaseException):
    """A cell or call ran past its time limit (BaseException: ``except Exception`` cannot swallow it)."""


@dataclass
class CallOutcome:
    """How one call of a student's function ended: a :class:`Status` and, for errors, why."""

    status: Status
    error: str = ""


# ipykernel compiles each cell under /tmp/ipykernel_<pid>/<hash>.py; plain
# IPython and exec() use names like <ipython-input-3-...> and <string>.
_CELL_FILE = re.compile(r"^<|(^|[/\\])ipykernel_\d+[/\\][^/\\]+\.py$")


def is_cell_file(filename: str) -> bool:
    """Whether code compiled under ``filename`` is a notebook cell's (or exec'd) code."""
    return bool(_CELL_FILE.search(filename))


def classify_call(error: BaseException | None, exercise_id: str, time_limit: float | None = None) -> CallOutcome:
    """The one place that says what a call's exception means.

    Args:
        error: what the call raised (None if it returned).
        exercise_id: the exercise, e.g. ``"2.1"``; the untouched stub raises
            ``NotImplementedError("exercise 2.1: ...")``.
        time_limit: the call's limit in seconds, named in the message of a time-out.
    """
    if error is None:
        return CallOutcome(Status.OK)
    if isinstance(error, TimeLimit):
        return CallOutcome(Status.ERROR, f"took longer than {time_limit or 0:g} s")
    if isinstance(error, NotImplementedError) and f"exercise {exercise_id}" in str(error):
        return CallOutcome(Status.NOT_ATTEMPTED)
    where = ""
    tb = error.__traceback__
    while tb is not None:
        if is_cell_file(tb.tb_frame.f_code.co_filename):
            where = f" (line {tb.tb_lineno} of your cell)"
        tb = tb.tb_next
    return CallOutcome(Status.ERROR, f"{type(error).__name__}: {error}{where}")


class _Record:
    """JSON in and out, with type checks on the way in."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: Any):
        data = data if isinstance(data, dict) else {}
        kwargs = {}
        for f in fields(cls):
            if f.name in data and _fits(data[f.name], f.type):
                kwargs[f.name] = data[f.name]
        return cls(**kwargs)


def _fits(value: Any, annotation: str) -> bool:
    kinds = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}
    head = annotation.split("[")[0].split("|")[0].strip()
    if "None" in annotation and value is None:
        return True
    if head == "int" and isinstance(value, bool):
        return False
    return isinstance(value, kinds.get(head, object))


@dataclass
class ServerConfig(_Record):
    """The server's first line on stdin (kept off its command line, which every process can read)."""

    stage: str = "/tmp"
    hide: list = field(default_factory=list)
    isolate_files: bool = False
    user_namespace: bool = False


@dataclass
class ChildRequest(_Record):
    """Start one child: its directory, the nonce of its report, limits and (as root) its user id."""

    id: str = ""
    workdir: str = ""
    nonce: str = ""
    stderr: str = ""
    uid: int | None = None
    env: dict = field(default_factory=dict)
    memory: int = 0
    cpu: int = 0
    fsize: int = 0
    nproc: int = 0


@dataclass
class Started(_Record):
    id: str = ""
    pid: int = 0
    error: str = ""


@dataclass
class Ended(_Record):
    id: str = ""
    status: int = 0


@dataclass
class TaskExercise(_Record):
    id: str = ""
    function: str = ""
    returns: str = "value"
    forbid: list = field(default_factory=list)
    time_limit: float = 10.0
    n_cases: int = 0


@dataclass
class Task(_Record):
    """What the child runs: the code cells (untransformed: the child applies IPython's
    syntax under its own limits) and the exercises to call, without their inputs."""

    cells: list = field(default_factory=list)  # [[index, source], ...]
    cell_time_limit: float = 60.0
    exercises: list = field(default_factory=list)  # [TaskExercise as dict, ...]


@dataclass
class Inputs(_Record):
    """The arguments of every case, sent only after the cells have run: ``cases[id] = [[args, kwargs], ...]``."""

    cases: dict = field(default_factory=dict)


@dataclass
class CallRecord(_Record):
    """One call, as the child saw it."""

    status: str = Status.ERROR.value
    value: Any = None
    error: str = ""
    violations: list = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> "CallRecord":
        rec = super().from_dict(data)
        rec.status = rec.status if rec.status in (Status.OK, Status.ERROR, Status.NOT_ATTEMPTED) else Status.ERROR
        rec.violations = [str(v)[:200] for v in rec.violations][:5]
        rec.error = rec.error[:300]
        if isinstance(data, dict) and "value" in data:
            rec.value = data["value"]
        return rec


@dataclass
class ExerciseReport(_Record):
    status: str = Status.MISSING.value
    cases: list = field(default_factory=list)  # [CallRecord as dict, ...]

    @classmethod
    def from_dict(cls, data: Any) -> "ExerciseReport":
        rec = super().from_dict(data)
        if rec.status not in (Status.OK, Status.MISSING, Status.NOT_CALLABLE):
            rec.status = Status.MISSING.value
        return rec

    def calls(self) -> list[CallRecord]:
        return [CallRecord.from_dict(c) for c in self.cases]


@dataclass
class ChildReport(_Record):
    """Everything the child sends back (``exercises[id]``: an :class:`ExerciseReport` as dict)."""

    nonce: str = ""
    seconds: dict = field(default_factory=dict)
    cell_errors: list = field(default_factory=list)
    n_cell_errors: int = 0
    stdout_chars: int = 0
    exercises: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def exercise(self, ex_id: str) -> ExerciseReport:
        return ExerciseReport.from_dict(self.exercises.get(ex_id))
