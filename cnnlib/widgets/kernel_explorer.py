"""Chapter 2's kernel explorer: pick a real photo and a kernel, see what the kernel does.

Input, kernel (numbers written in) and output are drawn side by side and
redrawn whenever a control changes. The kernel is a preset from
:mod:`cnnlib.kernels` (with a size slider, and a sigma slider for the
Gaussian) or typed in by hand, one row per line or rows separated by ``;``::

    from cnnlib.widgets import kernel_explorer
    kernel_explorer(photo="camera", kernel="sobel_x")

A kernel that cannot be read is explained in the widget, never raised.

In a running kernel every control computes on demand. For the book
(``CNNLIB_STATIC_WIDGETS=1``, see :mod:`cnnlib.widgets.static`) the views for
:data:`STATIC_GRID` are drawn in advance; typing a kernel needs a running kernel.
"""
from __future__ import annotations

import textwrap
from fractions import Fraction
from functools import lru_cache

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from cnnlib.widgets._show import show_figure
from cnnlib.widgets.static import precomputed, static_mode

from cnnlib.data.images import sample_image, sample_image_names
from cnnlib.kernels import apply_kernel, get_kernel, kernel_names
from cnnlib.viz.conv import plot_kernel_effect

__all__ = ["CUSTOM", "STATIC_GRID", "KernelExplorer", "kernel_explorer", "kernel_view", "parse_kernel"]

CUSTOM = "custom (type below)"
_SIZED = {"identity", "box", "sharpen"}  # presets that take a kernel_size
_MAX_CUSTOM = 7
# What the book's page offers (every preset kernel): 2 photos x (5 fixed kernels + 3 sized
# kernels x 3 sizes + 4 sigmas) = 36 distinct frames, each about half a second to draw.
STATIC_GRID = {"photo": ["camera", "coins"], "kernel_size": [3, 5, 9], "sigma": [0.5, 1.0, 2.0, 4.0]}
FIGSIZE = (6.9, 2.9)  # the page column's width


def parse_kernel(text: str) -> torch.Tensor:
    """Read a square kernel typed as rows of numbers.

    Rows are separated by new lines or ``;``, numbers by spaces or commas;
    fractions such as ``1/9`` are allowed. Example: ``"1 0 -1; 2 0 -2; 1 0 -1"``.

    Returns:
        ``(K, K)`` float tensor, ``K`` odd and at most 7.

    Raises:
        ValueError: with a message that says what is wrong and how to write it.
    """
    rows = [r for r in (line.replace(",", " ").split() for line in text.replace(";", "\n").splitlines()) if r]
    if not rows:
        raise ValueError("the kernel is empty: type rows of numbers, e.g. 0 -1 0; -1 5 -1; 0 -1 0")
    try:
        values = [[float(Fraction(token)) for token in row] for row in rows]
    except (ValueError, ZeroDivisionError) as err:
        raise ValueError(f"could not read a number ({err}); use numbers like 2, -0.5 or 1/9") from None
    k = len(values)
    if any(len(row) != k for row in values):
        lengths = ", ".join(str(len(row)) for row in values)
        raise ValueError(f"the kernel must be square: {k} rows with {k} numbers each, got rows of {lengths} numbers")
    if k % 2 == 0 or k > _MAX_CUSTOM:
        raise ValueError(f"use an odd size up to {_MAX_CUSTOM} (3x3, 5x5 or 7x7) so the kernel has a centre, got {k}x{k}")
    return torch.tensor(values)


@lru_cache(maxsize=16)
def _photo(name: str, size: int) -> torch.Tensor:
    return sample_image(name, size=size, gray=True)


class KernelExplorer(W.VBox):
    """Photo and kernel pickers, size and sigma sliders, a text box, and the figure.

    Attributes:
        photo, kernel: the ``Dropdown`` pickers.
        kernel_size, sigma: the sliders (``kernel_size`` for identity, box and
            sharpen; ``sigma`` for the Gaussian, whose size follows from sigma).
        text: the ``Textarea`` for a typed kernel (used when ``kernel`` is :data:`CUSTOM`).
        message: an ``HTML`` line explaining the current kernel, or what is wrong.
        output: the ``Output`` holding the figure.
    """

    def __init__(self, photo: str = "camera", kernel: str = "gaussian", sigma: float = 2.0, kernel_size: int = 3,
                 text: str = "1 0 -1\n2 0 -2\n1 0 -1", size: int = 192) -> None:
        style = {"description_width": "70px"}
        half = W.Layout(width="310px")  # two controls side by side fit a book page
        self.size = size
        self.photo = W.Dropdown(options=sample_image_names(), value=photo, description="photo", style=style,
                                layout=half)
        self.kernel = W.Dropdown(options=[*kernel_names(), CUSTOM], value=kernel, description="kernel", style=style,
                                 layout=half)
        self.kernel_size = W.IntSlider(value=kernel_size, min=1, max=9, step=2, description="size K",
                                       continuous_update=False, style=style, layout=half)
        self.sigma = W.FloatSlider(value=sigma, min=0.3, max=4.0, step=0.1, description="sigma",
                                   continuous_update=False, style=style, layout=half)
        self.text = W.Textarea(value=text, description="custom", rows=3, style=style, layout=half)
        self.message = W.HTML()
        self.output = W.Output()
        controls = W.VBox([W.HBox([self.photo, self.kernel]), W.HBox([self.kernel_size, self.sigma]), self.text])
        super().__init__([controls, self.message, self.output])
        for control in (self.photo, self.kernel, self.kernel_size, self.sigma, self.text):
            control.observe(self._draw, names="value")
        self._draw()

    def current_kernel(self) -> torch.Tensor:
        """The kernel the controls describe (raises ``ValueError`` for unreadable text)."""
        return _kernel(self.kernel.value, self.kernel_size.value, self.sigma.value, self.text.value)

    def _draw(self, _=None) -> None:
        name = self.kernel.value
        self.sigma.disabled = name != "gaussian"
        self.kernel_size.disabled = name not in _SIZED
        self.text.disabled = name != CUSTOM
        self.message.value, fig = kernel_view(self.photo.value, name, self.kernel_size.value, self.sigma.value,
                                              self.text.value, self.size)
        show_figure(self.output, fig)


def _kernel(name: str, kernel_size: int, sigma: float, text: str) -> torch.Tensor:
    if name == CUSTOM:
        return parse_kernel(text)
    if name == "gaussian":
        return get_kernel(name, sigma=sigma)
    if name in _SIZED:
        return get_kernel(name, kernel_size=kernel_size)
    return get_kernel(name)


def kernel_view(photo: str, kernel: str, kernel_size: int = 3, sigma: float = 2.0, text: str = "",
                size: int = 192) -> tuple[str, plt.Figure | None]:
    """What the explorer shows for one setting of its controls.

    Args:
        photo, kernel, kernel_size, sigma, text, size: as in :func:`kernel_explorer`
            (``kernel_size`` is used by identity, box and sharpen, ``sigma`` by the
            Gaussian, ``text`` by :data:`CUSTOM`).

    Returns:
        ``(message, figure)``: an HTML line about the kernel and the figure, or
        the reason the kernel cannot be used and ``None``.
    """
    try:
        weights = _kernel(kernel, kernel_size, sigma, text)
    except ValueError as err:
        return f"<b>Cannot use this kernel:</b> {err}.", None
    image = _photo(photo, size)
    # Large Gaussians are cheaper through the FFT than through im2col's K^2 copies.
    method = "fft" if weights.shape[0] > 7 else "im2col"
    output = apply_kernel(image, weights, padding="same", method=method)
    total = float(weights.sum())
    effect = ("keeps the average brightness (entries sum to 1)" if abs(total - 1) < 1e-6 else
              "sends flat regions to 0 (entries sum to 0): a signed output, blue below 0, red above"
              if abs(total) < 1e-6 else f"scales flat regions by {total:.3g} (the sum of the entries)")
    label = f"gaussian (sigma {sigma:.1f})" if kernel == "gaussian" else ("your kernel" if kernel == CUSTOM else kernel)
    fig = plot_kernel_effect(image, weights, output, kernel_name=label, image_name=photo)
    fig.set_size_inches(*FIGSIZE)  # the column's width: wrap the panel titles to fit it
    for ax in fig.axes:
        ax.set_title(textwrap.fill(ax.get_title(), 22), fontsize=10)
    fig.tight_layout()
    return f"{weights.shape[0]}x{weights.shape[1]} kernel: {effect}.", fig


def _static_explorer(photo: str, kernel: str, sigma: float, kernel_size: int, size: int) -> W.VBox:
    style, half = {"description_width": "70px"}, W.Layout(width="310px")

    def pick(options: list, value, description: str, cls=W.SelectionSlider) -> W.Widget:
        if value not in options:  # the notebook asked for a value off the grid: offer it too
            options = sorted([*options, value]) if cls is W.SelectionSlider else [value, *options]
        return cls(options=options, value=value, description=description, style=style, layout=half)

    controls = {"photo": pick(STATIC_GRID["photo"], photo, "photo", W.Dropdown),
                "kernel": pick(kernel_names(), kernel if kernel in kernel_names() else "gaussian", "kernel", W.Dropdown),
                "kernel_size": pick(STATIC_GRID["kernel_size"], kernel_size, "size K"),
                "sigma": pick(STATIC_GRID["sigma"], sigma, "sigma")}

    def key(photo, kernel, kernel_size, sigma):
        return (photo, kernel, kernel_size if kernel in _SIZED else None, sigma if kernel == "gaussian" else None)

    return precomputed(lambda **v: kernel_view(**v, size=size), controls, key=key, image_format="jpeg",
                       note="On this page: two photos, each preset kernel, the sizes and sigmas on the sliders "
                            "(size K applies to identity, box and sharpen, sigma to the Gaussian). Run the notebook "
                            "for every photo and value, and to type your own kernel.")


def kernel_explorer(photo: str = "camera", kernel: str = "gaussian", sigma: float = 2.0, kernel_size: int = 3,
                    text: str = "1 0 -1\n2 0 -2\n1 0 -1", size: int = 192) -> KernelExplorer:
    """Build the kernel explorer; display it as a cell's last expression.

    Args:
        photo: a :func:`cnnlib.data.sample_image_names` name.
        kernel: a :func:`cnnlib.kernels.kernel_names` name or :data:`CUSTOM`.
        sigma: the Gaussian's standard deviation in pixels.
        kernel_size: odd size for identity, box and sharpen.
        text: the typed kernel shown in the text box.
        size: the photo's shorter side in pixels (smaller is faster).

    Returns:
        The live :class:`KernelExplorer`, or for the book a
        :class:`~cnnlib.widgets.static.PrecomputedWidget` over :data:`STATIC_GRID`.
    """
    if static_mode():
        return _static_explorer(photo, kernel, sigma, kernel_size, size)
    return KernelExplorer(photo, kernel, sigma, kernel_size, text, size)
