"""Small tables that a notebook shows as HTML (they fit the page) and a terminal as text.

A book page wraps an HTML table to its column; a printed table of padded
columns runs off the side instead, wider than a phone and often than the
text column. :class:`Table` is both; :func:`markdown_table` gives Markdown,
which Jupyter, Colab and the book all render as an HTML table::

    table = Table(["model", "accuracy"], [["MLP", 0.93], ["CNN", 0.97]], floatfmt=".3f")
    table                      # last value of a notebook cell: an HTML table
    print(table)               # fixed-width text
    layer_table(model)         # a model's layers, output shapes and parameters
    markdown_table(["k", "out"], [[3, 30], [5, 28]])   # last value of a cell: rendered Markdown
"""
from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["Table", "layer_table", "markdown_table"]


class Table:
    """Rows of values under column names; numbers are right-aligned.

    Args:
        columns: the column names.
        rows: one sequence of values per row, each as long as ``columns``.
        floatfmt: format spec for floats (ints get thousands separators).
        caption: a line shown above the table.
        footer: rows drawn after a rule (totals), same length as ``columns``.

    Raises:
        ValueError: a row has the wrong number of values.
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence], *, floatfmt: str = ".3f",
                 caption: str = "", footer: Sequence[Sequence] = ()) -> None:
        self.columns = [str(c) for c in columns]
        self.rows = [list(r) for r in rows]
        self.footer = [list(r) for r in footer]
        for i, row in enumerate(self.rows + self.footer):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Table: row {i} has {len(row)} values for {len(self.columns)} columns ({', '.join(self.columns)})."
                )
        self.floatfmt = floatfmt
        self.caption = caption

    def _cell(self, value) -> str:
        if isinstance(value, bool) or value is None:
            return "-" if value is None else str(value)
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return format(value, self.floatfmt)
        return str(value)

    @staticmethod
    def _numeric(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def _repr_html_(self) -> str:
        def row_html(row, tag="td"):
            cells = []
            for value in row:
                align = "right" if self._numeric(value) else "left"
                cells.append(f'<{tag} style="text-align: {align}; padding: 0.15em 0.4em">'
                             f'{html.escape(self._cell(value))}</{tag}>')
            return "<tr>" + "".join(cells) + "</tr>"

        head = "".join(f'<th style="padding: 0.15em 0.4em">{html.escape(c)}</th>' for c in self.columns)
        body = "".join(row_html(r) for r in self.rows)
        foot = "".join(row_html(r, "th") for r in self.footer)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<table class="cnnlib-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody>" + (f"<tfoot>{foot}</tfoot>" if foot else "") + "</table>")

    def __str__(self) -> str:
        cells = [self.columns] + [[self._cell(v) for v in r] for r in self.rows + self.footer]
        widths = [max(len(row[j]) for row in cells) for j in range(len(self.columns))]
        sample = (self.rows + self.footer or [[""] * len(self.columns)])[0]

        def line(row):
            return "  ".join(c.rjust(w) if self._numeric(s) else c.ljust(w)
                             for c, w, s in zip(row, widths, sample)).rstrip()

        text = [line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]]
        return "\n".join(([self.caption] if self.caption else []) + text)

    __repr__ = __str__


def _path(layer) -> str:
    """``features.0`` rather than ``0``: the names from the top module down."""
    names = []
    while layer is not None and layer.parent_info is not None:
        names.append(layer.var_name)
        layer = layer.parent_info
    return ".".join(reversed(names)) or layer.var_name


def layer_table(model, input_size: tuple[int, ...] | None = None, *, depth: int = 3) -> Table:
    """A model's layers with their output shapes and parameter counts, as a :class:`Table`.

    Runs :func:`cnnlib.models.summary` (one forward pass through torchinfo)
    and keeps the leaf layers (and any layer with parameters of its own).

    Args:
        model: the network; models from :func:`cnnlib.models.create_model`
            know their input size.
        input_size: ``(C, H, W)`` of one input, if the model does not carry one.
        depth: how deep to list nested modules.

    Returns:
        A table of (layer, type, output shape ``[N, C, H, W]``, parameters),
        with the total below; a nested layer is named by its path, as in
        ``model.named_modules()``.
    """
    from cnnlib.models import summary

    stats = summary(model, input_size, depth=depth)
    rows = []
    for layer in stats.summary_list:
        own = sum(p.numel() for p in layer.module.parameters(recurse=False))
        if (layer.is_recursive and own) or not (layer.is_leaf_layer or own):  # count shared weights once
            continue
        rows.append([_path(layer), layer.class_name, str(list(layer.output_size)), int(own)])
    return Table(["layer", "type", "output shape", "parameters"], rows,
                 footer=[["total", "", "", int(stats.total_params)]])

def _markdown_cell(value, fmt: str | None) -> str:
    if fmt is not None and Table._numeric(value):
        text = fmt.format(value)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], *, align: str | None = None,
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
        align = "".join("r" if Table._numeric(v) else "l" for v in first)
    if len(align) != n or set(align) - set("lrc"):
        raise ValueError(f"align must be one of l, r, c per column ({n} letters), got {align!r}.")
    rule = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(_markdown_cell(h, None) for h in header) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(_markdown_cell(v, f) for v, f in zip(row, formats)) + " |" for row in rows]
    return Markdown("\n".join(lines))
