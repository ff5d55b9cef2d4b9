"""The code passes the linter's small rule set (ruff.toml): no unused or
undefined names, no redefinitions, no syntax errors, no mutable defaults."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return ["ruff"]
    pytest.fail("ruff is not installed: run `make test` (it installs requirements.txt), or pip install ruff")


def test_ruff_finds_nothing():
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "ruff found problems (fix them, or `ruff check --fix`):\n" + result.stdout + result.stderr


def test_ruff_would_catch_an_unused_name(tmp_path):
    """Guards the test above: the same configuration reports a real mistake."""
    (tmp_path / "bad.py").write_text("import os\n\ndef f(x=[]):\n    return y\n")
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--config", str(ROOT / "ruff.toml"), "--output-format",
                             "concise", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    for code in ("F401", "F821", "B006"):
        assert code in result.stdout, result.stdout
