"""Widgets that still work on the static book: every view precomputed.

A page of the published book has no Python behind it, so a widget there can
only show what was computed when the notebook ran. :func:`precomputed` renders
a widget's figure (and the line of text beside it) for every combination of a
bounded set of control values, and puts the frames in nested ipywidgets
``Stack`` widgets whose ``selected_index`` is ``jslink``-ed to each control's
``index``. The links run in the browser, so the site's own widget manager
switches frames with no kernel::

    controls = {"photo": W.Dropdown(options=["cat", "camera"], description="photo"),
                "sigma": W.SelectionSlider(options=[0.5, 1.0, 2.0], description="sigma")}
    precomputed(lambda photo, sigma: plot_blur(photo, sigma), controls)

When is a widget static? When the environment variable ``CNNLIB_STATIC_WIDGETS``
is set to ``1`` (see :func:`static_mode`). The Makefile's ``book`` target sets it
for the build, and so do the tests that compare a fresh run with the built book;
a kernel the reader runs (Colab, JupyterLab, ``make lab``) does not have it, so
the chapter widgets compute on demand there with the full range of every
control. Building the book without it leaves the widgets dead on the site (the
controls move, the figure stays), which ``tests/test_book_widgets.py`` catches.

Frames are PNG (or JPEG for photographs) drawn at the page column's width, at
most ``width_px`` pixels wide; identical pictures are embedded once. The grid is
refused before anything is drawn when it needs more than ``max_frames``
distinct frames (or has more than ``MAX_COMBINATIONS`` combinations), and
after drawing when the pictures weigh more than ``max_bytes``.

Why ``Stack`` and ``jslink``: the page's widget manager runs links in the
browser, while ``observe`` callbacks and ``Output`` widgets need a kernel. Each
frame's ``tooltip`` names its control values, which a reader sees on hover and
the browser test checks against the controls.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import math
import os
from typing import Any, Callable, Hashable, Mapping

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image as PILImage
from traitlets import Unicode

__all__ = ["ENV_VAR", "PrecomputedWidget", "encode_figure", "min_text_px", "precomputed", "static_mode"]

ENV_VAR = "CNNLIB_STATIC_WIDGETS"
PAGE_WIDTH_PX = 690  # the book's text column on a desktop screen
MIN_TEXT_PX = 9
MAX_COMBINATIONS = 2000  # wrappers and stacks cost page weight even when frames repeat

Frame = Any  # a Figure, or (html, Figure | None)


def static_mode() -> bool:
    """True when widgets should precompute their views (the book build sets ``CNNLIB_STATIC_WIDGETS=1``)."""
    return os.environ.get(ENV_VAR, "").strip() not in ("", "0")


def _scale(fig: Figure, width_px: int) -> float:
    """The dpi that draws ``fig`` at most ``width_px`` wide (and never above 100 dpi)."""
    return min(100.0, width_px / fig.get_figwidth())


def min_text_px(fig: Figure, width_px: int = PAGE_WIDTH_PX) -> float:
    """The smallest visible text of ``fig``, in pixels, once drawn ``width_px`` wide by :func:`encode_figure`."""
    dpi = _scale(fig, width_px)
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=math.inf) * dpi / 72


def encode_figure(fig: Figure, *, width_px: int = PAGE_WIDTH_PX, image_format: str = "png",
                  colors: int | None = None, quality: int = 80) -> bytes:
    """Draw ``fig`` as image bytes at most ``width_px`` pixels wide, deterministically.

    Args:
        fig: the matplotlib figure (left open; the caller closes it).
        width_px: the widest the image may be (a wider figure is drawn at a lower dpi).
        image_format: ``"png"`` (lossless; best for plots and grids) or ``"jpeg"``
            (photographs: several times smaller).
        colors: for PNG, quantise to this many palette colours (smaller files for
            flat-coloured plots); ``None`` keeps full colour.
        quality: JPEG quality, 1-95.

    Returns:
        The encoded image.
    """
    if image_format not in ("png", "jpeg"):
        raise ValueError(f"image_format must be 'png' or 'jpeg', got {image_format!r}.")
    # Draw straight into an RGBA buffer (cheaper than writing and reading back a PNG).
    dpi = fig.get_dpi()
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        fig.set_dpi(_scale(fig, width_px))
        canvas.draw()
        image = PILImage.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    finally:
        fig.set_dpi(dpi)
    out = io.BytesIO()
    if image_format == "jpeg":
        image.save(out, format="JPEG", quality=quality)
    else:
        if colors is not None:
            image = image.quantize(colors=colors, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE)
        image.save(out, format="PNG", compress_level=9)
    return out.getvalue()


class _Frame(W.VBox):
    """A frame: the text and picture for one combination; its ``tooltip`` names the values.

    ipywidgets 8's views read ``description`` whenever a ``tooltip`` is set, and
    a ``Box`` has none (the page's widget manager then fails to draw it), so a
    frame carries an empty one.
    """

    description = Unicode("").tag(sync=True)


def _label(option: Any) -> str:
    return str(option[0]) if isinstance(option, tuple) and len(option) == 2 else str(option)


def _value(option: Any) -> Any:
    return option[1] if isinstance(option, tuple) and len(option) == 2 else option


class PrecomputedWidget(W.VBox):
    """The controls, an optional note, and the nested stacks of frames.

    Attributes:
        controls: ``{name: selection widget}`` as given to :func:`precomputed`.
        stack: the outermost ``Stack`` (its children are stacks for the next control, or frames).
        frames: ``{(value, ...): frame widget}`` for every combination, values in control
            order; each frame's ``tooltip`` names them (``"photo: cat, channel: red"``, by
            the controls' descriptions), so a reader, and a test, can tell which frame is shown.
        images: ``{digest: ipywidgets.Image}``: each distinct picture, embedded once.
        nbytes: bytes of the distinct pictures.
    """

    def __init__(self, controls: dict[str, W.Widget], stack: W.Stack, frames: dict[tuple, W.Widget],
                 images: dict[str, W.Image], links: list, note: str | None) -> None:
        self.controls, self.stack, self.frames, self.images, self._links = controls, stack, frames, images, links
        self.nbytes = sum(len(image.value) for image in images.values())
        wrap = W.Layout(display="flex", flex_flow="row wrap")
        parts = [W.Box(list(controls.values()), layout=wrap)]
        if note:
            parts.append(W.HTML(f"<small>{note}</small>"))
        super().__init__([*parts, stack])

    def shown(self) -> W.Widget:
        """The frame the browser shows for the controls' current indices (what the links select)."""
        node: W.Widget = self.stack
        for control in self.controls.values():
            node = node.children[control.index]
        return node


def precomputed(render: Callable[..., Frame], controls: Mapping[str, W.Widget], *,
                key: Callable[..., Hashable] | None = None, note: str | None = None,
                max_frames: int = 200, max_bytes: int = 3_000_000, width_px: int = PAGE_WIDTH_PX,
                image_format: str = "png", colors: int | None = None) -> PrecomputedWidget:
    """A widget whose views are all drawn now, for pages with no kernel behind them.

    Args:
        render: ``render(**values)`` for one value of each control (by the names
            of ``controls``) returns a matplotlib figure, or ``(html, figure)``
            where ``html`` is a line shown above the figure and ``figure`` may be
            ``None``. Figures are closed after drawing.
        controls: ``{name: widget}`` in nesting order; each widget has ``options``
            and an ``index`` (``Dropdown``, ``ToggleButtons``, ``SelectionSlider``,
            ``RadioButtons``, ``Select``); its options are the values offered on
            the page. For a numeric range use ``SelectionSlider(options=[...])``.
        key: ``key(**values)`` names what a frame depends on, so combinations
            with equal keys are drawn once (e.g. a sigma slider that only matters
            for one kernel). Default: every value matters.
        note: a line under the controls, e.g. what needs a running kernel.
        max_frames: refuse grids that need more distinct frames (keys) than this,
            before drawing any.
        max_bytes: refuse when the distinct pictures weigh more than this.
        width_px, image_format, colors: as in :func:`encode_figure`.

    Returns:
        The :class:`PrecomputedWidget`; display it as a cell's last expression.

    Raises:
        TypeError: a control without ``options`` and ``index``.
        ValueError: an empty control, a grid larger than ``max_frames``, or frames
            heavier than ``max_bytes``; the message says how big it was.
    """
    if not controls:
        raise ValueError("precomputed: give at least one control.")
    for name, control in controls.items():
        if not (hasattr(control, "options") and hasattr(control, "index")):
            raise TypeError(f"precomputed: control {name!r} is a {type(control).__name__}, which has no 'index' to "
                            "link; use a Dropdown, ToggleButtons or SelectionSlider(options=[...]) instead.")
        if not control.options:
            raise ValueError(f"precomputed: control {name!r} offers no options.")
    names = list(controls)
    options = [list(controls[n].options) for n in names]
    sizes = " x ".join(f"{len(o)} {n}" for n, o in zip(names, options))
    total = math.prod(len(o) for o in options)
    if total > MAX_COMBINATIONS:
        raise ValueError(f"precomputed: {sizes} = {total} combinations, more than {MAX_COMBINATIONS}. Offer fewer "
                         "values per control: a page holds a small grid; a running kernel offers every value.")
    combos = list(itertools.product(*options))
    key = key or (lambda **values: tuple(values.values()))
    keys = [key(**{n: _value(o) for n, o in zip(names, combo)}) for combo in combos]
    distinct = len(set(keys))
    if distinct > max_frames:
        raise ValueError(f"precomputed: {sizes} = {total} combinations need {distinct} distinct frames, more than "
                         f"max_frames={max_frames}. Offer fewer values per control (or a `key` that says which "
                         "values a frame does not depend on): a page holds a small grid; a running kernel offers "
                         "every value.")
    # Shared layouts: each widget's own would add a model of about 1 kB to the page.
    frame_layout, stack_layout, image_layout = W.Layout(), W.Layout(), W.Layout(max_width="100%", height="auto")
    images: dict[str, W.Image] = {}
    htmls: dict[str, W.HTML] = {}
    drawn: dict[Hashable, tuple[str | None, str | None]] = {}
    frames: dict[tuple, W.Widget] = {}
    for combo, k in zip(combos, keys):
        values = {n: _value(o) for n, o in zip(names, combo)}
        if k not in drawn:
            out = render(**values)
            html, fig = out if isinstance(out, tuple) else (None, out)
            digest = None
            if fig is not None:
                try:
                    data = encode_figure(fig, width_px=width_px, image_format=image_format, colors=colors)
                finally:
                    plt.close(fig)
                digest = hashlib.sha256(data).hexdigest()
                if digest not in images:  # (a widget made and not used would still be saved with the page)
                    images[digest] = W.Image(value=data, format=image_format, layout=image_layout)
            if html is not None and html not in htmls:
                htmls[html] = W.HTML(html)
            drawn[k] = (html, digest)
        html, digest = drawn[k]
        label = ", ".join(f"{controls[n].description or n}: {_label(o)}" for n, o in zip(names, combo))
        parts = ([htmls[html]] if html is not None else []) + ([images[digest]] if digest is not None else [])
        frames[tuple(values.values())] = _Frame(parts, tooltip=label, layout=frame_layout)
    nbytes = sum(len(image.value) for image in images.values())
    if nbytes > max_bytes:
        for widget in [*frames.values(), *images.values(), *htmls.values()]:
            widget.close()  # or they would still be saved in the notebook's widget state
        raise ValueError(f"precomputed: {len(images)} distinct frames weigh {nbytes:,} bytes, more than "
                         f"max_bytes={max_bytes:,}. Offer fewer values, draw smaller figures, or use "
                         "image_format='jpeg' for photographs.")
    links: list = []

    def nest(level: int, prefix: tuple) -> W.Widget:
        if level == len(names):
            return frames[prefix]
        control = controls[names[level]]
        children = [nest(level + 1, prefix + (_value(o),)) for o in options[level]]
        stack = W.Stack(children, selected_index=control.index if control.index is not None else 0,
                        layout=stack_layout)
        links.append(W.jslink((control, "index"), (stack, "selected_index")))
        return stack

    return PrecomputedWidget(dict(controls), nest(0, ()), frames, images, links, note)
