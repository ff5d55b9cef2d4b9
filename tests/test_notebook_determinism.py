"""A notebook run twice shows the same outputs (chapter 0, the quickest)."""
from pathlib import Path

import pytest

from cnnlib._nbrun import execute, visible_outputs

ROOT = Path(__file__).resolve().parent.parent


CELL_TIMEOUT = 60  # every cell of chapter 0 takes seconds


@pytest.mark.slow
def test_setup_chapter_gives_identical_outputs_twice():
    first = visible_outputs(execute(ROOT / "notebooks" / "00_setup.ipynb", timeout=CELL_TIMEOUT))
    second = visible_outputs(execute(ROOT / "notebooks" / "00_setup.ipynb", timeout=CELL_TIMEOUT))
    assert any(line.startswith("image/png") for line in first), "the widget's figure is part of the comparison"
    assert first == second
