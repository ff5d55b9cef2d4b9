"""check(): per-case feedback in the notebook, forbid rules, comparisons and the value codec."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from cnnlib.grading import check, feedback
from cnnlib.grading import codec
from cnnlib.grading.compare import compare
from cnnlib.grading.forbid import guarded_call, scan_source


def corr2d_loops(x, k):
    kh, kw = k.shape
    y = torch.zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def test_correct_function_passes_every_visible_case():
    report = check("2.1", corr2d_loops)
    assert report.passed == len(report.results) == 3
    assert "all 3 checks pass" in str(report)
    assert "PASS" in report._repr_html_()


def test_wrong_shape_reports_input_expected_got_and_hint():
    report = check("2.1", lambda x, k: x)
    text = str(report)
    assert report.passed == 0
    assert "expected: tensor float32 shape (2, 2) [[19, 25], [37, 43]]" in text
    assert "got:      tensor float32 shape (3, 3)" in text
    assert "shape (3, 3), expected (2, 2)" in text
    assert "hint:" in text


def test_wrong_values_report_the_largest_difference():
    report = check("2.1", lambda x, k: corr2d_loops(x, k) + 0.5)
    assert "max difference 0.5" in str(report)


def test_stub_is_not_attempted_and_errors_are_not_tracebacks():
    def stub(x, k):
        raise NotImplementedError("exercise 2.1: write your code here")

    report = check("2.1", stub)
    assert str(report).endswith("not attempted yet. Write your code in the cell above, run it, then run this cell.")
    report = check("2.1", lambda x, k: 1 / 0)
    assert "ZeroDivisionError" in str(report) and "Traceback" not in str(report)
    assert "pass your function itself" in str(check("2.1", 3))


@pytest.mark.parametrize("cheat", [
    lambda x, k: torch.nn.functional.conv2d(x[None, None], k[None, None])[0, 0],
    lambda x, k: torch.conv2d(x[None, None], k[None, None])[0, 0],
    lambda x, k: torch.ops.aten.convolution(x[None, None], k[None, None], None, [1, 1], [0, 0], [1, 1],
                                            False, [0, 0], 1)[0, 0],
    lambda x, k: torch.from_numpy(__import__("scipy.signal").signal.correlate2d(x.numpy(), k.numpy(), "valid")),
    lambda x, k: __import__("cnnlib.ops", fromlist=["corr2d"]).corr2d(x, k),
])
def test_forbidden_routes_are_reported(cheat):
    report = check("2.1", cheat)
    assert report.passed == 0
    assert all(r.status == "forbidden" for r in report.results), str(report)


def test_formula_exercises_forbid_measuring_with_torch():
    def measured(size, kernel_size, stride=1, padding=0, dilation=1):
        return torch.nn.Conv1d(1, 1, kernel_size, stride, padding, dilation)(torch.zeros(1, 1, size)).shape[-1]

    assert all(r.status == "forbidden" for r in check("3.1", measured).results)
    formula = lambda size, kernel_size, stride=1, padding=0, dilation=1: \
        (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1  # noqa: E731
    assert check("3.1", formula).passed == 4


def test_tampering_with_the_tripwire_is_reported():
    import sys

    def tamper(x, k):
        sys.setprofile(None)
        return torch.nn.functional.conv2d(x[None, None], k[None, None])[0, 0]

    result = guarded_call(tamper, (torch.ones(3, 3), torch.ones(2, 2)), {}, ("aten::conv",))
    assert any("tampered" in v for v in result.violations)
    assert scan_source("import ctypes\nsys.setprofile(None)") == ["setprofile", "ctypes"]


def test_check_is_silent_inside_the_grader(monkeypatch):
    monkeypatch.setattr(feedback, "GRADING", True)
    assert check("2.1", corr2d_loops) is None


def test_compare_numbers_and_containers():
    assert compare(3, 3).passed and not compare(3, 3.0).passed
    assert "return an int" in compare(3, 3.0).message
    assert not compare(3, True).passed
    assert compare((1, torch.ones(2)), (1, torch.ones(2))).passed
    assert "item 1" in compare((1, torch.ones(2)), (1, torch.zeros(2))).message
    assert compare(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, float("nan")])).passed
    assert "NaN" in compare(torch.ones(2), torch.tensor([1.0, float("nan")])).message
    assert "NumPy" in compare(torch.ones(2), np.ones(2)).message
    assert compare(torch.tensor([1, 2]), torch.tensor([1, 2])).passed
    assert "1 of 2 values differ" in compare(torch.tensor([1, 2]), torch.tensor([1, 3])).message


def test_codec_round_trip_without_pickle(tmp_path):
    value = {"t": torch.arange(6.0).reshape(2, 3), "n": np.arange(3), "tup": (1, 2.5, None, "s"),
             "inf": float("inf"), "f": len}
    arrays: dict = {}
    encoded = codec.encode(value, arrays)
    codec.dump(encoded, arrays, str(tmp_path / "r.json"), str(tmp_path / "r.npz"))
    data, loaded = codec.load(str(tmp_path / "r.json"), str(tmp_path / "r.npz"))
    back = codec.decode(data, loaded)
    assert torch.equal(back["t"], value["t"]) and np.array_equal(back["n"], value["n"])
    assert back["tup"] == (1, 2.5, None, "s") and back["inf"] == float("inf")
    assert isinstance(back["f"], codec.Unsupported)


def test_codec_refuses_pickles_and_links(tmp_path):
    np.save(tmp_path / "x.npy", np.array([object()], dtype=object), allow_pickle=True)
    import zipfile

    with zipfile.ZipFile(tmp_path / "r.npz", "w") as z:
        z.write(tmp_path / "x.npy", "a0.npy")
    (tmp_path / "r.json").write_text('{"$ndarray": "a0"}')
    data, arrays = None, None
    with pytest.raises(ValueError):
        data, arrays = codec.load(str(tmp_path / "r.json"), str(tmp_path / "r.npz"))
        codec.decode(data, arrays)
    os.symlink("/etc/passwd", tmp_path / "link.json")
    with pytest.raises(ValueError):
        codec.load(str(tmp_path / "link.json"), str(tmp_path / "r.npz"))
