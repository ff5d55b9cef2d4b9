"""Chapter 4's widget: which inputs feed one output of a convolution variant, and what the layer costs.

Pick a variant (standard, dilated, transposed, grouped, depthwise, depthwise
separable, masked A or B) and a kernel size. The left panel counts, for every
pixel of a small input, the kernel taps through which it reaches the centre
output pixel; the right panel shows which input channels reach which output
channels. Both are *measured*: the layer is built from :mod:`cnnlib.ops`
with weights of ones and the counts are gradients of one output, so the
picture is what the code does, not a drawing of it. The line above the
figure gives the cost of the same variant at a realistic size from
:mod:`cnnlib.arith`.

For the book (``CNNLIB_STATIC_WIDGETS=1``) every combination is drawn in
advance with :func:`~cnnlib.widgets.static.precomputed`.
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from cnnlib import arith, ops
from cnnlib.widgets._show import show_figure
from cnnlib.widgets.static import precomputed, static_mode

__all__ = ["KERNEL_SIZES", "VARIANTS", "VariantFootprint", "plot_variant", "variant_cost", "variant_explorer",
           "variant_footprint"]

#: The variants offered, in the chapter's order.
VARIANTS = ("standard", "dilated", "transposed", "grouped", "depthwise", "separable", "masked A", "masked B")
#: Kernel sizes offered (odd: masked kernels need a centre).
KERNEL_SIZES = (3, 5, 7)

GRID = 15  # input height and width drawn
CHANNELS = 8  # channels drawn
GROUPS = 4  # the grouped variant's groups
DILATION = 2
STRIDE = 2  # the transposed variant's stride
COST_CHANNELS, COST_SIZE = 64, 32  # the layer whose cost is quoted: 64 -> 64 channels, 32 x 32 output


@dataclass
class VariantFootprint:
    """What one output value of a variant depends on.

    Attributes:
        taps: ``(GRID, GRID)`` int tensor: through how many kernel taps each input
            pixel (of the most-used input channel) reaches the output.
        channels: ``(CHANNELS, CHANNELS)`` bool tensor: ``[o, c]`` is True when input
            channel ``c`` reaches output channel ``o``.
        output: ``(row, col)`` of the output pixel, in the output's own grid.
        output_size: the output's height (= width).
    """

    taps: torch.Tensor
    channels: torch.Tensor
    output: tuple[int, int]
    output_size: int


def _check(variant: str, kernel_size: int) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r} is not one of {', '.join(VARIANTS)}.")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size={kernel_size!r}: use an odd int such as 3, 5 or 7 (masked kernels need a centre).")
    if variant == "dilated" and DILATION * (kernel_size - 1) + 1 > GRID:
        raise ValueError(f"kernel_size={kernel_size} dilated by {DILATION} spans more than the {GRID}-pixel grid drawn; "
                         "use 7 or less.")


def _layer(variant: str, k: int):
    """The variant as a function of a ``(1, CHANNELS, GRID, GRID)`` input, with weights of ones."""
    c, pad = CHANNELS, k // 2
    if variant in ("standard", "dilated"):
        d = DILATION if variant == "dilated" else 1
        return lambda x: ops.conv2d(x, torch.ones(c, c, k, k), padding=d * pad, dilation=d)
    if variant == "transposed":  # doubles the size: K, S=2, P=K//2, output_padding=1
        return lambda x: ops.conv_transpose2d(x, torch.ones(c, c, k, k), stride=STRIDE, padding=pad, output_padding=1)
    if variant in ("grouped", "depthwise"):
        g = GROUPS if variant == "grouped" else c
        return lambda x: ops.conv2d(x, torch.ones(c, c // g, k, k), padding=pad, groups=g)
    if variant == "separable":
        return lambda x: ops.conv2d(ops.conv2d(x, torch.ones(c, 1, k, k), padding=pad, groups=c), torch.ones(c, c, 1, 1))
    mask_type = variant[-1]
    return lambda x: ops.masked_conv2d(x, torch.ones(c, c, k, k), mask_type=mask_type)


def variant_footprint(variant: str, kernel_size: int, col_offset: int = 0) -> VariantFootprint:
    """Measure which inputs reach the centre output of ``variant`` (weights of ones, gradients).

    Args:
        variant: one of :data:`VARIANTS`.
        kernel_size: K, odd.
        col_offset: look at the output this many columns right of the centre instead.

    Returns:
        A :class:`VariantFootprint`.
    """
    _check(variant, kernel_size)
    layer = _layer(variant, kernel_size)
    x = torch.zeros(1, CHANNELS, GRID, GRID, requires_grad=True)
    y = layer(x)
    size = y.shape[-1]
    r, col = size // 2, size // 2 + col_offset
    grads = torch.stack([torch.autograd.grad(y[0, o, r, col], x, retain_graph=True)[0][0] for o in range(CHANNELS)])
    # (C_out, C_in, H, W): with weights of ones, a gradient counts the paths (taps) from an input to the output.
    channels = (grads != 0).flatten(2).any(-1)
    per_channel = grads[0]  # output channel 0
    taps = per_channel.amax(0).round().to(torch.int64)
    return VariantFootprint(taps=taps, channels=channels, output=(r, col), output_size=size)


def variant_cost(variant: str, kernel_size: int) -> dict[str, int]:
    """Weights and multiply-adds of ``variant`` for a 64 -> 64-channel layer with a 32 x 32 output.

    Args:
        variant: one of :data:`VARIANTS`.
        kernel_size: K.

    Returns:
        ``{"params", "macs", "standard_params", "standard_macs"}`` (no bias), the last two for
        a standard ``K x K`` convolution of the same size; the transposed variant maps
        16 x 16 to 32 x 32, and a masked layer stores a full kernel (see the figure for its
        nonzero taps).
    """
    _check(variant, kernel_size)
    c, k, n = COST_CHANNELS, kernel_size, COST_SIZE
    standard = {"standard_params": arith.conv_params(c, c, k, bias=False), "standard_macs": arith.conv_macs(c, c, k, n)}
    if variant == "transposed":
        cost = {"params": arith.conv_transpose_params(c, c, k, bias=False),
                "macs": arith.conv_transpose_macs(c, c, k, n // STRIDE)}
    elif variant in ("grouped", "depthwise"):
        g = GROUPS if variant == "grouped" else c
        cost = {"params": arith.conv_params(c, c, k, bias=False, groups=g), "macs": arith.conv_macs(c, c, k, n, g)}
    elif variant == "separable":
        cost = {"params": arith.separable_conv_params(c, c, k, bias=False), "macs": arith.separable_conv_macs(c, c, k, n)}
    else:
        cost = {"params": standard["standard_params"], "macs": standard["standard_macs"]}
    return {**cost, **standard}


_SETTINGS = {"standard": "", "dilated": f", dilation {DILATION}", "transposed": f", stride {STRIDE}, x2 upsampling",
             "grouped": f", {GROUPS} groups", "depthwise": ", one filter per channel",
             "separable": ", then 1x1", "masked A": ", centre masked", "masked B": ", centre kept"}


def _draw_counts(ax: plt.Axes, counts: torch.Tensor, centre: tuple[float, float] | None = None,
                 numbers: bool = True) -> None:
    """Cells tinted where ``counts > 0``, the nonzero counts written in, a thin grid; ``centre`` outlined."""
    a = counts.numpy()
    ax.imshow((a > 0).astype(float), cmap="Oranges", vmin=0, vmax=2.5)
    for (i, j), v in np.ndenumerate(a):
        if v and numbers:
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=7)
    n_rows, n_cols = a.shape
    ax.set_xticks(np.arange(-0.5, n_cols), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows), minor=True)
    ax.set_xticks(range(0, n_cols, 2))
    ax.set_yticks(range(0, n_rows, 2))
    ax.grid(which="minor", color="0.75", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(labelsize=7)
    if centre is not None:
        ax.add_patch(Rectangle((centre[1] - 0.5, centre[0] - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.5))


def plot_variant(variant: str, kernel_size: int) -> tuple[str, plt.Figure]:
    """Draw what the centre output of ``variant`` reads, and say what the layer costs.

    Args:
        variant: one of :data:`VARIANTS`.
        kernel_size: K, odd (at most 7 for the dilated variant).

    Returns:
        ``(html, figure)``: a line with the costs, and a two-panel figure (taps per
        input pixel; channel connections).
    """
    fp, cost = variant_footprint(variant, kernel_size), variant_cost(variant, kernel_size)
    fig, (ax_px, ax_ch) = plt.subplots(1, 2, figsize=(6.9, 3.7), gridspec_kw={"width_ratios": [1.5, 1]})
    r, c = fp.output
    scale = fp.output_size / GRID  # the transposed layer's output is twice the input
    _draw_counts(ax_px, fp.taps, centre=(r / scale, c / scale) if scale == 1 else None)
    reached = int((fp.taps > 0).sum())
    ax_px.set(xlabel="input column", ylabel="input row",
              title=f"{variant}, K={kernel_size}: {reached} input pixels reach\n"
                    f"output ({r}, {c}) of {fp.output_size}x{fp.output_size} (number: taps)")
    _draw_counts(ax_ch, fp.channels.int(), numbers=False)
    ax_ch.set(xlabel="input channel", ylabel="output channel",
              title=f"{int(fp.channels[0].sum())} of {CHANNELS} input channels\nreach each output channel")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.86, wspace=0.25)
    ratio = cost["standard_params"] / cost["params"]
    html = (f"<b>{variant}</b>, {kernel_size}x{kernel_size}{_SETTINGS[variant]}, {COST_CHANNELS} &rarr; "
            f"{COST_CHANNELS} channels, {COST_SIZE}x{COST_SIZE} output: <b>{cost['params']:,}</b> weights and "
            f"<b>{cost['macs'] / 1e6:.1f} M</b> multiply-adds (standard: {cost['standard_params']:,} and "
            f"{cost['standard_macs'] / 1e6:.1f} M)")
    if ratio != 1:
        html += f": {ratio:.1f}x fewer weights"
    if variant.startswith("masked"):
        html += f"; only {reached} of {kernel_size * kernel_size} taps are nonzero"
    if variant == "transposed":
        right = int((variant_footprint(variant, kernel_size, col_offset=1).taps > 0).sum())
        html += (f"; its right-hand neighbour reads {right} input pixels, not {reached}: the kernel's stamps "
                 "overlap unevenly, the checkerboard of the chapter" if right != reached else "")
    return html + ".", fig


def variant_explorer(variant: str = "standard", kernel_size: int = 3) -> W.VBox:
    """A variant picker and a kernel-size slider, with the footprint figure and costs below.

    Args:
        variant: the variant shown first (one of :data:`VARIANTS`).
        kernel_size: the kernel size shown first (one of :data:`KERNEL_SIZES`).

    Returns:
        The widget; display it as a cell's last expression. For the book it is a
        :class:`~cnnlib.widgets.static.PrecomputedWidget` over every variant and kernel size.
    """
    _check(variant, kernel_size)
    if kernel_size not in KERNEL_SIZES:
        raise ValueError(f"kernel_size={kernel_size}: the explorer offers {KERNEL_SIZES}.")
    controls = {"variant": W.Dropdown(options=VARIANTS, value=variant, description="variant"),
                "kernel_size": W.SelectionSlider(options=KERNEL_SIZES, value=kernel_size, description="K")}
    if static_mode():
        return precomputed(plot_variant, controls, colors=32)
    text, out = W.HTML(), W.Output()

    def draw(_=None) -> None:
        html, fig = plot_variant(controls["variant"].value, controls["kernel_size"].value)
        text.value = html
        show_figure(out, fig)

    for control in controls.values():
        control.observe(draw, names="value")
    draw()
    return W.VBox([W.Box(list(controls.values())), text, out])
