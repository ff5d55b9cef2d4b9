"""Messages a newcomer reads: the offline data error's cause, check()'s cell line."""
from __future__ import annotations

from urllib.error import URLError

import pytest

import cnnlib
from cnnlib.data import fashion_mnist, load_fashion_mnist
from cnnlib.grading import check

CAUSE = "[Errno -2] Name or service not known"


def test_offline_fashion_mnist_error_says_the_cause(tmp_path, monkeypatch):
    """torchvision's own download writes the multi-line error; only its HTTP call is replaced."""
    import torchvision.datasets.mnist as tv_mnist

    def offline(url, *args, **kwargs):
        raise URLError(CAUSE)

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    with pytest.raises(RuntimeError) as raw:  # what torchvision itself raises, for reference
        tv_mnist.FashionMNIST(str(tmp_path / "raw"), download=True)
    first, *rest = str(raw.value).strip().splitlines()
    assert CAUSE not in first and any(CAUSE in line for line in rest)

    with pytest.raises(cnnlib.DataUnavailableError) as info:
        load_fashion_mnist(root=tmp_path / "empty", download=True)
    message = str(info.value)
    assert "the download failed (Error downloading train-images-idx3-ubyte.gz" in message
    assert CAUSE in message
    assert "\n" not in message


@pytest.mark.parametrize("text, cause", [
    ("Error downloading f.gz:\nTried A, got:\nboom one\nTried B, got:\nboom two\n", "boom one; boom two"),
    ("Error downloading f.gz:\nTried A, got:\nsame\nTried B, got:\nsame\n", "same"),
    ("disk full", None),
])
def test_download_cause_joins_every_mirror_once(text, cause):
    line = fashion_mnist._download_cause(text)
    assert "\n" not in line
    if cause is None:
        assert line == text
    else:
        assert line == f"Error downloading f.gz: {cause}"


@pytest.mark.parametrize("filename", ["/tmp/ipykernel_4182/2417650385.py", "<ipython-input-3-9f1c>",
                                      "C:\\Temp\\ipykernel_77\\123.py"])
def test_check_names_the_line_of_the_cell(filename):
    source = "def corr2d(x, k):\n    y = x * 2\n    return undefined_name\n"
    namespace: dict = {}
    exec(compile(source, filename, "exec"), namespace)
    report = check("2.1", namespace["corr2d"])
    text = str(report)
    assert "NameError" in text and "(line 3 of your cell)" in text


def test_check_does_not_blame_a_library_file_as_the_cell():
    source = "def corr2d(x, k):\n    return undefined_name\n"
    namespace: dict = {}
    exec(compile(source, "/home/me/project/ipykernel_helpers.py", "exec"), namespace)
    assert "of your cell" not in str(check("2.1", namespace["corr2d"]))
