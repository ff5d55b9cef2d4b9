"""The sandbox's protocol and its defences, without running submissions: typed records,
one classification of a call, the result archive's budget, and the tripwires' reach."""
from __future__ import annotations

import io
import threading
import types
import zipfile

import numpy as np
import pytest
import torch

from cnnlib.grading import codec
from cnnlib.grading.exercises.ch02 import NO_LIBRARY_CONV, conv2d_multi
from cnnlib.grading.forbid import guarded_call
from cnnlib.grading.protocol import CallRecord, ChildReport, Status, TimeLimit, classify_call


@pytest.fixture(autouse=True)
def _threads_of_the_test_runner(monkeypatch):
    """Count only threads a test starts: a pytest-xdist worker runs one of its own,
    which the grader's child (where ``alone=True`` matters) never has."""
    from cnnlib.grading import forbid

    real, before = forbid.other_threads, forbid.other_threads()
    monkeypatch.setattr(forbid, "other_threads", lambda: real() - before)


def test_a_call_is_classified_in_one_place():
    assert classify_call(None, "2.1").status == Status.OK
    assert classify_call(NotImplementedError("exercise 2.1: replace this"), "2.1").status == Status.NOT_ATTEMPTED
    assert classify_call(NotImplementedError("exercise 2.2: replace this"), "2.1").status == Status.ERROR
    timed = classify_call(TimeLimit(), "2.1", 4)
    assert timed.status == Status.ERROR and "4 s" in timed.error
    assert classify_call(ZeroDivisionError("x"), "2.1").error.startswith("ZeroDivisionError: x")


def test_records_from_a_child_are_type_checked():
    report = ChildReport.from_dict({"nonce": 5, "exercises": {"2.1": {"status": "pass", "cases": [
        {"status": "forbidden", "violations": ["v"] * 9, "error": "e" * 999, "value": {"$tensor": "a0"}}]}}})
    assert report.nonce == "" and report.exercise("2.1").status == Status.MISSING
    call = CallRecord.from_dict({"status": "weird", "violations": ["v"] * 9, "error": "e" * 999, "value": 3})
    assert call.status == Status.ERROR and len(call.violations) == 5 and len(call.error) == 300 and call.value == 3
    assert ChildReport.from_dict([1, 2]).exercises == {}


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, method in members:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_the_result_archive_is_read_within_a_budget():
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    arrays = codec._read_npz(_zip([("a0.npy", _npy(arr), zipfile.ZIP_STORED)]))
    np.testing.assert_array_equal(arrays["a0"], arr)
    with pytest.raises(ValueError, match="compressed"):
        codec._read_npz(_zip([("a0.npy", _npy(arr), zipfile.ZIP_DEFLATED)]))
    with pytest.raises(ValueError, match="exceed"):
        codec._read_npz(_zip([("a0.npy", _npy(arr), zipfile.ZIP_STORED)]), budget=100)
    lying = _npy(np.zeros(4, np.float32)).replace(b"(4,)", b"(9,)")
    with pytest.raises(ValueError, match="does not fit"):
        codec._read_npz(_zip([("a0.npy", lying, zipfile.ZIP_STORED)]))


def test_the_child_writer_copies_values_when_the_call_returns(tmp_path):
    codec.seal()
    writer = codec.ResultWriter()
    t = torch.zeros(2, 3)
    encoded, error = writer.value((t, {"k": np.int16([1, 2])}, 2.5))
    t.fill_(7)  # changed after the call returned: not what is graded
    writer.record("2.1", {"status": "ok", "value": encoded, "violations": []})
    writer.write({"nonce": "n"}, {"2.1": "ok"}, str(tmp_path / "r.json"), str(tmp_path / "a.npz"))
    data, arrays = codec.load(str(tmp_path / "r.json"), str(tmp_path / "a.npz"))
    value = codec.decode(data["exercises"]["2.1"]["cases"][0]["value"], arrays)
    assert not error and torch.equal(value[0], torch.zeros(2, 3)) and value[1]["k"].tolist() == [1, 2]
    assert codec.encode(torch.zeros(1).as_subclass(type("Sub", (torch.Tensor,), {})), {}) == {"$unsupported": "Sub"}


def test_the_writer_refuses_to_serialise_after_tampering(monkeypatch):
    codec.seal()
    monkeypatch.setattr(torch.Tensor, "numpy", lambda self, *a, **k: np.zeros(1))
    _, error = codec.ResultWriter().value(torch.ones(2))
    assert "tampered" in error


def test_rebound_library_code_is_still_library_code():
    rebound = types.FunctionType(conv2d_multi.__code__, {"torch": torch}, "conv2d_multi")
    x, w = torch.randn(2, 5, 5), torch.randn(3, 2, 2, 2)
    guard = guarded_call(rebound, (x, w), {}, NO_LIBRARY_CONV, alone=True)
    assert any("cnnlib" in v for v in guard.violations)


def test_the_c_routine_behind_a_forbidden_function_is_forbidden():
    core = getattr(np, "_core", None) or np.core
    a, v = np.random.default_rng(0).standard_normal(6), np.ones(2)
    for routine in (core.multiarray.correlate2, core.multiarray.correlate):
        guard = guarded_call(lambda: routine(a, v, 0), (), {}, NO_LIBRARY_CONV, alone=True)
        assert guard.violations and "through" in guard.violations[0]
    assert guarded_call(lambda: np.asarray(a).sum(), (), {}, NO_LIBRARY_CONV, alone=True).violations == []


def test_calls_are_refused_while_other_threads_run():
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        guard = guarded_call(lambda: 1, (), {}, NO_LIBRARY_CONV, alone=True)
        assert guard.value is None and "other thread" in guard.violations[0]
        assert guarded_call(lambda: 1, (), {}, NO_LIBRARY_CONV).value == 1  # a notebook kernel has threads
    finally:
        stop.set()
        helper.join()

    def in_a_thread():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()

    assert "started a thread" in guarded_call(in_a_thread, (), {}, NO_LIBRARY_CONV, alone=True).violations[0]


def test_the_operator_recorder_sees_operators_the_dispatch_mode_cannot():
    import torch.nn.functional as F

    from cnnlib.grading.forbid import OperatorRecorder

    x, w = torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3)
    with OperatorRecorder(("aten::conv",)) as seen:
        with torch._C._DisableTorchDispatch():
            F.conv2d(x, w)
    assert seen.violations() and "conv" in seen.violations()[0]
    with OperatorRecorder(("aten::conv",)) as clean:
        (x * 2).sum()
    assert clean.violations() == []
    assert "aten::mul" in clean.names
