"""`pip install cnnlib` without the grading extra: the CLI says which extra to install."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cnnlib.grading.__main__ import GRADING_EXTRA

ROOT = Path(__file__).resolve().parents[1]

# Python started with the given modules made unimportable, then the grading CLI.
_RUN = """
import sys
for name in {hidden!r}:
    sys.modules[name] = None  # `import name` now raises ModuleNotFoundError
from cnnlib.grading.__main__ import main
sys.exit(main({argv!r}))
"""


@pytest.mark.parametrize("hidden", [["nbformat"], ["nbclient", "yaml"]])
def test_missing_packages_name_the_extra(hidden, tmp_path):
    code = _RUN.format(hidden=hidden, argv=["merge", str(tmp_path / "a.json"), "--out", str(tmp_path / "g.csv")])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert 'pip install "cnnlib[grading]"' in result.stderr
    for name in hidden:
        assert GRADING_EXTRA[name] in result.stderr
    assert "Traceback" not in result.stderr


def test_the_extra_declares_what_the_grader_imports():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["grading"]
    names = {d.split(">")[0].split("=")[0].lower() for d in extra}
    assert names == {p.lower() for p in GRADING_EXTRA.values()}
