"""Figures for chapter 2's channels: a kernel spanning several input channels,
and a 1x1 convolution as one fully connected layer applied at every pixel.

* :func:`plot_multichannel_conv`: each input channel is cross-correlated with
  its own slice of the kernel, and the per-channel results are added.
* :func:`plot_conv1x1`: the output's channel vector at a pixel is the weight
  matrix times the input's channel vector at the same pixel.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from cnnlib.ops import corr2d
from cnnlib.viz.grid import draw_grid

__all__ = ["plot_conv1x1", "plot_multichannel_conv"]

WIDTH = 7.0  # inches: the book's text column at 100 dpi


def _fmt(v: float) -> str:
    return f"{int(round(v))}" if abs(v - round(v)) < 1e-9 else f"{v:g}"


def _sign(fig: plt.Figure, left: plt.Axes, right: plt.Axes, text: str) -> None:
    """Write an operator sign midway between two axes (after the layout is fixed)."""
    a, b = left.get_position(), right.get_position()
    # The star of cross-correlation is a small glyph: draw it larger to match the other signs.
    fig.text(0.5 * (a.x1 + b.x0), 0.5 * (a.y0 + a.y1), text, ha="center", va="center",
             fontsize=28 if text == "\u22c6" else 16)


def plot_multichannel_conv(x: torch.Tensor, kernel: torch.Tensor, position: tuple[int, int] = (0, 0)) -> plt.Figure:
    """One output channel from several input channels, drawn as numbered grids.

    Row ``c`` shows input channel ``c``, the kernel's slice ``c`` and their
    cross-correlation; the output on the right is the sum of those per-channel
    results. The window and the cells that feed ``output[position]`` are
    outlined, and the title adds up that cell.

    Args:
        x: input of shape ``(C_in, H, W)``, 1 to 4 channels.
        kernel: one kernel of shape ``(C_in, K_h, K_w)``.
        position: ``(row, col)`` of the output cell to trace.

    Returns:
        The figure.
    """
    x, kernel = (torch.as_tensor(t).detach().cpu().double() for t in (x, kernel))
    if x.ndim != 3 or kernel.ndim != 3 or x.shape[0] != kernel.shape[0]:
        raise ValueError(f"expected x (C_in, H, W) and kernel (C_in, K_h, K_w) with the same C_in, got "
                         f"{tuple(x.shape)} and {tuple(kernel.shape)}.")
    channels = x.shape[0]
    if not 1 <= channels <= 4:
        raise ValueError(f"plot_multichannel_conv draws 1 to 4 input channels, got {channels}.")
    parts = [corr2d(x[c], kernel[c]) for c in range(channels)]
    output = sum(parts)
    (kh, kw), (i, j) = kernel.shape[1:], position
    if not (0 <= i < output.shape[0] and 0 <= j < output.shape[1]):
        raise ValueError(f"position {position} is outside the {tuple(output.shape)} output.")
    window = [(i + a, j + b) for a in range(kh) for b in range(kw)]
    fig = plt.figure(figsize=(WIDTH, 1.25 * channels + 1.0))
    grid = fig.add_gridspec(channels, 4, width_ratios=[x.shape[2], kw, output.shape[1], output.shape[1]],
                            wspace=0.7, hspace=0.55)
    rows = []
    for c in range(channels):
        ax_x, ax_k, ax_p = (fig.add_subplot(grid[c, col]) for col in range(3))
        draw_grid(ax_x, x[c], highlight=window, cmap="gray", vmin=float(x.min()) - 2, vmax=float(x.max()) + 2,
                  fontsize=9)
        draw_grid(ax_k, kernel[c], cmap="Blues", fontsize=9)
        draw_grid(ax_p, parts[c], highlight=[(i, j)], cmap="gray",
                  vmin=float(output.min()) * 0 - 1, vmax=float(output.max()), fontsize=9)
        ax_x.set_ylabel(f"channel {c}", fontsize=9)
        rows.append((ax_x, ax_k, ax_p))
    rows[0][0].set_title("input", fontsize=10)
    rows[0][1].set_title("kernel slice", fontsize=10)
    rows[0][2].set_title("per channel", fontsize=10)
    ax_out = fig.add_subplot(grid[(channels - 1) // 2: channels // 2 + 1, 3])
    draw_grid(ax_out, output, highlight=[(i, j)], cmap="gray", vmin=-1, vmax=float(output.max()), fontsize=9)
    ax_out.set_title("output = sum", fontsize=10)
    terms = " + ".join(_fmt(float(p[i, j])) for p in parts)
    fig.suptitle(f"{channels} input channels, one kernel: output[{i}, {j}] = {terms} = {_fmt(float(output[i, j]))}",
                 fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.8 if channels < 3 else 0.87, bottom=0.06)
    for ax_x, ax_k, ax_p in rows:
        _sign(fig, ax_x, ax_k, "\u22c6")
        _sign(fig, ax_k, ax_p, "=")
    for top, bottom in zip(rows, rows[1:]):
        a, b = top[2].get_position(), bottom[2].get_position()
        fig.text(0.5 * (a.x0 + a.x1), 0.5 * (a.y0 + b.y1), "+", ha="center", va="center", fontsize=16)
    return fig


def plot_conv1x1(x: torch.Tensor, weight: torch.Tensor, position: tuple[int, int] = (0, 0)) -> plt.Figure:
    """A 1x1 convolution: the same matrix applied to every pixel's channel vector.

    Left, the input's channels (one small grid each, stacked); middle, the
    weight as a ``C_out x C_in`` matrix; right, the output's channels. The
    pixel at ``position`` is outlined in every channel: its output vector is
    ``weight @ x[:, row, col]``, written out in the title.

    Args:
        x: input of shape ``(C_in, H, W)``, 1 to 4 channels.
        weight: ``(C_out, C_in)`` (or ``(C_out, C_in, 1, 1)``), 1 to 4 outputs.
        position: ``(row, col)`` of the pixel to trace.

    Returns:
        The figure.
    """
    x, weight = (torch.as_tensor(t).detach().cpu().double() for t in (x, weight))
    if weight.ndim == 4 and weight.shape[2:] == (1, 1):
        weight = weight[:, :, 0, 0]
    if x.ndim != 3 or weight.ndim != 2 or weight.shape[1] != x.shape[0]:
        raise ValueError(f"expected x (C_in, H, W) and weight (C_out, C_in), got {tuple(x.shape)} and "
                         f"{tuple(weight.shape)}.")
    c_in, c_out = x.shape[0], weight.shape[0]
    if not (1 <= c_in <= 4 and 1 <= c_out <= 4):
        raise ValueError(f"plot_conv1x1 draws 1 to 4 channels in and out, got {c_in} and {c_out}.")
    i, j = position
    if not (0 <= i < x.shape[1] and 0 <= j < x.shape[2]):
        raise ValueError(f"position {position} is outside the {tuple(x.shape[1:])} image.")
    output = torch.einsum("oc,chw->ohw", weight, x)
    rows = max(c_in, c_out)
    fig = plt.figure(figsize=(WIDTH, 1.2 * rows + 1.1))
    grid = fig.add_gridspec(rows, 3, width_ratios=[x.shape[2], c_in, x.shape[2]], wspace=0.8, hspace=0.5)
    lo, hi = float(x.min()) - 2, float(x.max()) + 2
    inputs = []
    for c in range(c_in):
        ax = fig.add_subplot(grid[c, 0])
        draw_grid(ax, x[c], highlight=[(i, j)], cmap="gray", vmin=lo, vmax=hi, fontsize=9)
        ax.set_ylabel(f"in {c}", fontsize=9)
        inputs.append(ax)
    inputs[0].set_title("input channels", fontsize=10)
    ax_w = fig.add_subplot(grid[:, 1])
    draw_grid(ax_w, weight, cmap="Blues", fontsize=9, row_labels=[f"out {o}" for o in range(c_out)],
              col_labels=[f"in {c}" for c in range(c_in)])
    ax_w.set_title(f"weight ({c_out} x {c_in})", fontsize=10)
    out_lo, out_hi = float(output.min()) - 2, float(output.max()) + 2
    outputs = []
    for o in range(c_out):
        ax = fig.add_subplot(grid[o, 2])
        draw_grid(ax, output[o], highlight=[(i, j)], cmap="gray", vmin=out_lo, vmax=out_hi, fontsize=9)
        ax.set_ylabel(f"out {o}", fontsize=9)
        outputs.append(ax)
    outputs[0].set_title("output channels", fontsize=10)
    vector = ", ".join(_fmt(float(v)) for v in x[:, i, j])
    result = ", ".join(_fmt(float(v)) for v in output[:, i, j])
    fig.suptitle(f"1x1 convolution: output[:, {i}, {j}] = weight @ ({vector}) = ({result})", fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86 if rows > 2 else 0.8, bottom=0.05)
    middle_in, middle_out = inputs[(c_in - 1) // 2], outputs[(c_out - 1) // 2]
    a, w, b = middle_in.get_position(), ax_w.get_position(), middle_out.get_position()
    fig.text(0.5 * (a.x1 + w.x0), 0.5 * (w.y0 + w.y1), "\u2192", ha="center", va="center", fontsize=16)
    fig.text(0.5 * (w.x1 + b.x0), 0.5 * (w.y0 + w.y1), "\u2192", ha="center", va="center", fontsize=16)
    return fig
