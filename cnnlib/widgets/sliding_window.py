"""Chapter 3's sliding-window visualizer: padding, stride and dilation on a grid.

A square ``H x H`` input is zero-padded by ``P`` on every side; a ``K x K``
kernel with dilation ``D`` (taps ``D`` cells apart, spanning ``D(K-1) + 1``
cells) slides over it in steps of ``S``. Output cell ``(i, j)`` reads the
padded-input cells ``(i*S + D*a, j*S + D*b)`` for ``a, b = 0 .. K-1``, and
there are ``H_out = floor((H + 2P - D(K-1) - 1) / S) + 1`` outputs per row.

Settings that leave no output are explained in words, never raised::

    from cnnlib.widgets import sliding_window
    sliding_window(input_size=7, kernel_size=3, padding=1, stride=2)

In a running kernel every slider computes on demand. For the book
(``CNNLIB_STATIC_WIDGETS=1``, see :mod:`cnnlib.widgets.static`) the views for
:data:`STATIC_GRID` are drawn in advance, at dilation 1 with output cell (0, 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from cnnlib.widgets._show import show_figure
from cnnlib.widgets.static import precomputed, static_mode

from cnnlib.arith import conv_output_size
from cnnlib.ops._geometry import kernel_span, output_length
from cnnlib.viz.grid import draw_grid

__all__ = ["STATIC_GRID", "SlidingWindow", "SlidingWindowWidget", "plot_sliding_window", "sliding_window",
           "window_message"]

# What the book's page offers: 3 x 3 x 3 x 2 = 54 frames (dilation 1, output cell (0, 0)); each takes
# about half a second to draw, and the book build allows a cell two minutes.
STATIC_GRID = {"input_size": [4, 7, 16], "kernel_size": [1, 3, 5], "padding": [0, 1, 2], "stride": [1, 2]}
_LABELS = {"input_size": "input size H", "kernel_size": "kernel size K", "padding": "padding P", "stride": "stride S",
           "dilation": "dilation D", "out_row": "output row", "out_col": "output column"}


@dataclass(frozen=True)
class SlidingWindow:
    """The geometry of one square convolution: sizes, the output size, and any problem.

    Attributes:
        input_size: ``H`` (and ``W``), cells.
        kernel_size: ``K``.
        padding: ``P`` zeros on each side.
        stride: ``S``.
        dilation: ``D``.
    """

    input_size: int
    kernel_size: int
    padding: int = 0
    stride: int = 1
    dilation: int = 1

    @property
    def padded_size(self) -> int:
        """``H + 2P``."""
        return self.input_size + 2 * self.padding

    @property
    def span(self) -> int:
        """Cells the dilated kernel covers along one axis: ``D(K-1) + 1``."""
        return kernel_span(self.kernel_size, self.dilation)

    @property
    def problem(self) -> str | None:
        """Why these settings give no output, or ``None`` when they are valid."""
        for name, value, least in (("input size", self.input_size, 1), ("kernel size", self.kernel_size, 1),
                                   ("padding", self.padding, 0), ("stride", self.stride, 1),
                                   ("dilation", self.dilation, 1)):
            if not isinstance(value, (int, np.integer)) or value < least:
                return f"{name} must be a whole number of at least {least}, got {value!r}."
        if output_length(self.input_size, self.kernel_size, 1, self.padding, self.dilation) == 0:
            return (f"kernel span {self.span} exceeds padded input {self.padded_size}: no output. "
                    "Use a smaller kernel or dilation, or more padding.")
        return None

    @property
    def output_size(self) -> int | None:
        """``floor((H + 2P - D(K-1) - 1) / S) + 1``, or ``None`` if there is no output."""
        if self.problem is not None:
            return None
        return conv_output_size(self.input_size, (self.kernel_size,), self.stride, self.padding, self.dilation)[0]

    def formula(self) -> str:
        """The output-size formula with these numbers filled in, over three lines."""
        h, k, p, s, d = self.input_size, self.kernel_size, self.padding, self.stride, self.dilation
        top = h + 2 * p - d * (k - 1) - 1
        lines = ["H_out = floor((H + 2P - D(K-1) - 1) / S) + 1",
                 f"      = floor(({h} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1"]
        if self.output_size is None:
            return "\n".join(lines + [f"      = floor({top} / {s}) + 1: the numerator is negative, so there is no output"])
        return "\n".join(lines + [f"      = floor({top} / {s}) + 1 = {self.output_size}"])

    def notes(self) -> list[str]:
        """Remarks on valid settings: unread input cells, 'same' padding."""
        out = []
        if self.output_size is None:
            return out
        read = np.zeros(self.padded_size, dtype=bool)
        for i in range(self.output_size):
            read[i * self.stride + self.dilation * np.arange(self.kernel_size)] = True
        unread = int((~read[self.padding:self.padding + self.input_size]).sum())
        if unread:
            out.append(f"{unread} of the {self.input_size} input columns (and rows) are never read"
                       + (": the stride is larger than the kernel span." if self.stride > self.span
                          else ": the last window does not fit, or dilation skips them."))
        if self.output_size == self.input_size:
            out.append("'same' convolution: the output is as large as the input.")
        elif self.stride == 1 and self.dilation * (self.kernel_size - 1) % 2 == 0:
            out.append(f"P = D(K-1)/2 = {self.dilation * (self.kernel_size - 1) // 2} would keep the size ('same').")
        return out

    def input_cells(self, out_row: int, out_col: int) -> list[tuple[int, int]]:
        """Padded-input cells ``(row, col)`` read by output cell ``(out_row, out_col)``.

        Coordinates count from the top-left corner of the *padded* grid; subtract
        ``P`` to get input coordinates (negative or ``>= H`` means padding).
        """
        n = self.output_size
        if n is None:
            raise ValueError(f"no output cells: {self.problem}")
        if not (0 <= out_row < n and 0 <= out_col < n):
            raise ValueError(f"output cell ({out_row}, {out_col}) is outside the {n}x{n} output.")
        taps = self.dilation * np.arange(self.kernel_size)
        return [(out_row * self.stride + int(a), out_col * self.stride + int(b)) for a in taps for b in taps]


def plot_sliding_window(window: SlidingWindow, out_row: int = 0, out_col: int = 0) -> plt.Figure:
    """The padded input with one window outlined, beside the output grid.

    Padding cells are hatched and hold 0; the highlighted cells carry the number
    of the kernel tap that multiplies them (1 .. K^2, row by row).
    For invalid settings the figure shows the padded input and the explanation.
    """
    n_pad = window.padded_size
    if window.problem is not None and (window.padding < 0 or window.input_size < 1):
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, window.problem, ha="center", va="center", wrap=True)
        return fig
    grid = np.full((n_pad, n_pad), np.nan)
    pad = np.ones((n_pad, n_pad), dtype=bool)
    pad[window.padding:window.padding + window.input_size, window.padding:window.padding + window.input_size] = False
    grid[pad] = 0.0
    n_out = window.output_size or 0
    out_row, out_col = min(max(out_row, 0), max(n_out - 1, 0)), min(max(out_col, 0), max(n_out - 1, 0))
    cells = window.input_cells(out_row, out_col) if n_out else []
    for tap, (r, c) in enumerate(cells, start=1):
        grid[r, c] = tap
    fig, axes = plt.subplots(1, 2, figsize=(6.9, 3.8 if n_pad <= 12 else 5.0), gridspec_kw={"width_ratios": [max(n_pad, 1), max(n_out, 3)]})
    labels = list(range(-window.padding, window.input_size + window.padding))
    draw_grid(axes[0], grid, highlight=cells, hatch=pad, cmap="Greys", vmin=0, vmax=4 * max(window.kernel_size**2, 1),
              fmt="{:.0f}", row_labels=labels, col_labels=labels, fontsize=max(6.5, min(11.0, 70.0 / n_pad)),
              title=f"input {window.input_size}x{window.input_size}, padded to {n_pad}x{n_pad}")
    axes[0].set_xlabel("input column (negative or >= H: padding)")
    axes[0].set_ylabel("input row")
    if n_out:
        out = np.full((n_out, n_out), np.nan)
        draw_grid(axes[1], out, highlight=[(out_row, out_col)], title=f"output {n_out}x{n_out}")
        axes[1].set_xlabel("output column")
        axes[1].set_ylabel("output row")
        subtitle = (f"K={window.kernel_size}, P={window.padding}, S={window.stride}, D={window.dilation}: "
                    f"output cell ({out_row}, {out_col}) reads the {len(cells)} numbered cells")
    else:
        axes[1].axis("off")
        axes[1].text(0.5, 0.5, "no output", ha="center", va="center", fontsize=14)
        subtitle = window.problem
    fig.suptitle(subtitle, fontsize=10)
    fig.tight_layout()
    return fig


class SlidingWindowWidget(W.VBox):
    """Sliders for H, K, P, S, D and the output cell; the formula; the figure.

    Attributes:
        sliders: ``{"input_size", "kernel_size", "padding", "stride", "dilation",
            "out_row", "out_col"}`` -> the ``IntSlider``.
        message: the ``HTML`` line with the filled-in formula or the explanation.
        output: the ``Output`` holding the figure.
    """

    def __init__(self, input_size: int = 7, kernel_size: int = 3, padding: int = 1, stride: int = 2,
                 dilation: int = 1, out_row: int = 0, out_col: int = 0) -> None:
        style = {"description_width": "110px"}
        spec = {"input_size": (input_size, 1, 16), "kernel_size": (kernel_size, 1, 7), "padding": (padding, 0, 4),
                "stride": (stride, 1, 4), "dilation": (dilation, 1, 4), "out_row": (out_row, 0, 15),
                "out_col": (out_col, 0, 15)}
        self.sliders = {key: W.IntSlider(value=min(max(v, lo), hi), min=lo, max=hi, description=_LABELS[key],
                                         style=style, continuous_update=False)
                        for key, (v, lo, hi) in spec.items()}
        self.message = W.HTML()
        self.output = W.Output()
        self._drawing = False
        left = W.VBox([self.sliders[k] for k in ("input_size", "kernel_size", "padding", "stride", "dilation")])
        right = W.VBox([self.sliders["out_row"], self.sliders["out_col"]])
        super().__init__([W.HBox([left, right]), self.message, self.output])
        for slider in self.sliders.values():
            slider.observe(self._draw, names="value")
        self._draw()

    def window(self) -> SlidingWindow:
        """The geometry the sliders describe now."""
        s = self.sliders
        return SlidingWindow(s["input_size"].value, s["kernel_size"].value, s["padding"].value,
                             s["stride"].value, s["dilation"].value)

    def _draw(self, _=None) -> None:
        if self._drawing:  # changing a slider's max below fires another event
            return
        self._drawing = True
        try:
            window = self.window()
            n = window.output_size
            for key in ("out_row", "out_col"):
                self.sliders[key].max = max((n or 1) - 1, 0)
                self.sliders[key].disabled = n is None
            self.message.value = window_message(window)
            show_figure(self.output, plot_sliding_window(window, self.sliders["out_row"].value,
                                                         self.sliders["out_col"].value))
        finally:
            self._drawing = False


def window_message(window: SlidingWindow) -> str:
    """The HTML above the figure: the filled-in formula and notes, or why there is no output."""
    if window.output_size is None:
        return f"<b>No output.</b> {window.problem}<pre>{window.formula()}</pre>"
    return f"<pre>{window.formula()}</pre>" + "<br>".join(window.notes())


def _static_widget(**start: int) -> W.VBox:
    style = {"description_width": "110px"}
    controls = {}
    for name, options in STATIC_GRID.items():
        value = start[name] if start[name] in options else options[0]
        controls[name] = W.SelectionSlider(options=options, value=value, description=_LABELS[name], style=style)

    def render(**sizes: int) -> tuple[str, plt.Figure]:
        window = SlidingWindow(**sizes)
        return window_message(window), plot_sliding_window(window)

    return precomputed(render, controls, colors=64,
                       note="On this page: the values on the sliders, dilation 1, and the first output cell. Run "
                            "the notebook for every size, for dilation, and to move the output cell.")


def sliding_window(input_size: int = 7, kernel_size: int = 3, padding: int = 1, stride: int = 2,
                   dilation: int = 1, out_row: int = 0, out_col: int = 0) -> W.VBox:
    """Build the sliding-window visualizer; display it as a cell's last expression.

    Returns:
        The live :class:`SlidingWindowWidget`, or for the book a
        :class:`~cnnlib.widgets.static.PrecomputedWidget` over :data:`STATIC_GRID`
        (starting at the given sizes where the grid has them).
    """
    if static_mode():
        return _static_widget(input_size=input_size, kernel_size=kernel_size, padding=padding, stride=stride)
    return SlidingWindowWidget(input_size, kernel_size, padding, stride, dilation, out_row, out_col)
