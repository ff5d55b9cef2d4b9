"""cnnlib's runtime helpers and environment report."""
import re

import pytest
import torch

import cnnlib


def test_device_defaults_to_an_available_device():
    dev = cnnlib.device()
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert dev.type == expected
    assert cnnlib.device("cpu") == torch.device("cpu")


def test_device_rejects_unknown_and_absent_devices():
    with pytest.raises(ValueError, match="choose one of cuda, mps, cpu"):
        cnnlib.device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            cnnlib.device("cuda")


def test_device_env_override(monkeypatch):
    monkeypatch.setenv("CNNLIB_DEVICE", "cpu")
    assert cnnlib.device() == torch.device("cpu")


def test_seed_everything_repeats_every_generator():
    import random

    import numpy as np

    def draw():
        return random.random(), float(np.random.rand()), torch.randn(3).tolist()

    cnnlib.seed_everything(123)
    first = draw()
    cnnlib.seed_everything(123)
    assert draw() == first
    cnnlib.seed_everything(124)
    assert draw() != first


def test_seed_everything_returns_nothing_so_notebook_cells_stay_quiet():
    assert cnnlib.seed_everything(7) is None


def test_report_is_readable_and_complete(capsys):
    cnnlib.env.report()
    out = capsys.readouterr().out
    for label in ("cnnlib", "python", "torch", "torchvision", "device", "digits", "photos",
                  "fashion-mnist", "mobilenet_v2"):
        assert re.search(rf"^\s+{re.escape(label)}\s+\S", out, re.M), f"report lacks a line for {label}:\n{out}"
    assert torch.__version__ in out
    assert len(out.splitlines()) < 20


def test_report_says_when_downloads_are_off(monkeypatch):
    from cnnlib.data import fashion_mnist, pretrained

    monkeypatch.setenv("CNNLIB_OFFLINE", "1")
    monkeypatch.setattr(fashion_mnist, "find_fashion_mnist", lambda root=None: None)
    monkeypatch.setattr(pretrained, "find_mobilenet_v2_weights", lambda path=None: None)
    info = cnnlib.env.collect()
    assert info["fashion-mnist"] == "not found here; downloads switched off"
    assert info["mobilenet_v2"] == "not found here; downloads switched off"


def test_unknown_attribute_is_a_clear_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        cnnlib.nonexistent  # noqa: B018


def test_display_path_hides_what_only_names_this_machine(tmp_path, monkeypatch):
    import sysconfig

    from cnnlib.env import display_path

    packages = sysconfig.get_paths()["purelib"]
    assert display_path(f"{packages}/somepkg/weights/w-1234.pth") == "w-1234.pth in the package somepkg"
    assert display_path(f"{packages}/somepkg") == "the package somepkg"
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert display_path(tmp_path / "work" / "data" / "fashion") == "./data/fashion"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert display_path(tmp_path / "home" / "datasets") == "~/datasets"
    assert display_path("/usr/share/datasets/fashion-mnist") == "/usr/share/datasets/fashion-mnist"


def test_report_lines_fit_the_book_column_and_name_no_local_folder(capsys):
    import sys

    cnnlib.env.report()
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 76, out
    assert sys.prefix not in out and str(cnnlib.__file__) not in out
