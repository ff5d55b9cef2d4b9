"""Chapter 2's kernel explorer: pick a real photo and a kernel, see what the kernel does.

Input, kernel (numbers written in) and output are drawn side by side and
redrawn whenever a control changes. The kernel is a preset from
:mod:`cnnlib.kernels` (with a size slider, and a sigma slider for the
Gaussian) or typed in by hand, one row per line or rows separated by ``;``::

    from cnnlib.widgets import kernel_explorer
    kernel_explorer(photo="camera", kernel="sobel_x")

A kernel that cannot be read is explained in the widget, never raised.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from cnnlib.widgets._show import show_figure

from cnnlib.data.images import sample_image, sample_image_names
from cnnlib.kernels import apply_kernel, get_kernel, kernel_names
from cnnlib.viz.conv import plot_kernel_effect

__all__ = ["CUSTOM", "KernelExplorer", "kernel_explorer", "parse_kernel"]

CUSTOM = "custom (type below)"
_SIZED = {"identity", "box", "sharpen"}  # presets that take a kernel_size
_MAX_CUSTOM = 7


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
        name = self.kernel.value
        if name == CUSTOM:
            return parse_kernel(self.text.value)
        if name == "gaussian":
            return get_kernel(name, sigma=self.sigma.value)
        if name in _SIZED:
            return get_kernel(name, kernel_size=self.kernel_size.value)
        return get_kernel(name)

    def _draw(self, _=None) -> None:
        name = self.kernel.value
        self.sigma.disabled = name != "gaussian"
        self.kernel_size.disabled = name not in _SIZED
        self.text.disabled = name != CUSTOM
        try:
            kernel = self.current_kernel()
        except ValueError as err:
            self.message.value = f"<b>Cannot use this kernel:</b> {err}."
            show_figure(self.output, None)
            return
        image = _photo(self.photo.value, self.size)
        # Large Gaussians are cheaper through the FFT than through im2col's K^2 copies.
        method = "fft" if kernel.shape[0] > 7 else "im2col"
        output = apply_kernel(image, kernel, padding="same", method=method)
        total = float(kernel.sum())
        effect = ("keeps the average brightness (entries sum to 1)" if abs(total - 1) < 1e-6 else
                  "sends flat regions to 0 (entries sum to 0): a signed output, blue below 0, red above"
                  if abs(total) < 1e-6 else f"scales flat regions by {total:.3g} (the sum of the entries)")
        label = f"gaussian (sigma {self.sigma.value:.1f})" if name == "gaussian" else ("your kernel" if name == CUSTOM else name)
        self.message.value = f"{kernel.shape[0]}x{kernel.shape[1]} kernel: {effect}."
        show_figure(self.output, plot_kernel_effect(image, kernel, output, kernel_name=label, image_name=self.photo.value))


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
    """
    return KernelExplorer(photo, kernel, sigma, kernel_size, text, size)
