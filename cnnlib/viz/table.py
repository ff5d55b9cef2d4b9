"""Tables a book page renders as HTML: Markdown from rows of values.

A printed, space-padded table is wider than a phone and often than the book's
text column, and it scrolls sideways; a Markdown table becomes an HTML table
that wraps its cells. In a notebook, ``markdown_table(...)`` as the last line of
a cell shows it rendered (Jupyter, Colab and the book all render Markdown
outputs).
"""
from __future__ import annotations

from typing import Any, Sequence

__all__ = ["markdown_table"]


def _cell(value: Any, fmt: str | None) -> str:
    if fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = fmt.format(value)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str | None = None,
                   formats: Sequence[str | None] | None = None):
    """A Markdown table as a displayable object (``IPython.display.Markdown``).

    Args:
        header: the column names.
        rows: one sequence of values per row, as long as ``header``.
        align: one letter per column, ``l``, ``r`` or ``c`` (default: numbers
            right, everything else left, decided from the first row).
        formats: optional format per column for numbers, e.g. ``"{:,d}"``;
            ``None`` entries use ``str``.

    Returns:
        ``IPython.display.Markdown``; its ``.data`` is the Markdown text.

    Raises:
        ValueError: a row or ``align``/``formats`` of the wrong length, or an
            unknown alignment letter.
    """
    from IPython.display import Markdown

    n = len(header)
    if n == 0:
        raise ValueError("markdown_table needs at least one column.")
    for index, row in enumerate(rows):
        if len(row) != n:
            raise ValueError(f"row {index} has {len(row)} values but the header has {n} columns: {list(row)!r}.")
    formats = list(formats) if formats is not None else [None] * n
    if len(formats) != n:
        raise ValueError(f"formats has {len(formats)} entries for {n} columns.")
    if align is None:
        first = rows[0] if rows else [""] * n
        align = "".join("r" if isinstance(v, (int, float)) and not isinstance(v, bool) else "l" for v in first)
    if len(align) != n or set(align) - set("lrc"):
        raise ValueError(f"align must be one of l, r, c per column ({n} letters), got {align!r}.")
    rule = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(_cell(h, None) for h in header) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(_cell(v, f) for v, f in zip(row, formats)) + " |" for row in rows]
    return Markdown("\n".join(lines))
