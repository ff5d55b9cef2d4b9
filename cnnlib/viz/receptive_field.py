"""Which input cells one output of a stack of convolutions can see, drawn layer by layer.

Shown in 1-D (one row of cells per layer) because the 2-D receptive field is
the product of a row range and a column range. Layers are given the way
:func:`cnnlib.arith.receptive_field` takes them: ``(kernel_size, stride)`` or
``(kernel_size, stride, dilation)``, no padding.

Going down one layer, output cell ``i`` of a layer with kernel ``K``, stride
``S`` and dilation ``D`` reads input cells ``i*S + D*t`` for ``t = 0 .. K-1``.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from cnnlib.arith import receptive_field_table
from cnnlib.ops._geometry import kernel_span, output_length
from cnnlib.viz.grid import HIGHLIGHT

__all__ = ["layer_sizes", "plot_receptive_field", "receptive_field_path"]


def _normalize(layers: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    out = []
    for n, layer in enumerate(layers):
        if len(layer) not in (2, 3) or any(int(v) != v or v < 1 for v in layer):
            raise ValueError(
                f"layer {n}: expected (kernel_size, stride) or (kernel_size, stride, dilation) "
                f"with positive ints, got {tuple(layer)!r}."
            )
        k, s, d = (*map(int, layer), 1)[:3]
        out.append((k, s, d))
    if not out:
        raise ValueError("receptive field: give at least one layer.")
    return out


def layer_sizes(layers: Sequence[Sequence[int]], input_size: int) -> list[int]:
    """Sizes of the input and of each layer's output (no padding).

    ``n_out = (n_in - D(K-1) - 1) // S + 1``; raises if a layer gets no output.
    """
    sizes = [input_size]
    for n, (k, s, d) in enumerate(_normalize(layers)):
        span = kernel_span(k, d)
        if output_length(sizes[-1], k, s, 0, d) == 0:
            raise ValueError(f"layer {n}: kernel span {span} exceeds its input of {sizes[-1]} cells; "
                             "use a larger input_size.")
        sizes.append(output_length(sizes[-1], k, s, 0, d))
    return sizes


def receptive_field_path(layers: Sequence[Sequence[int]], index: int = 0) -> list[list[int]]:
    """The cells each level contributes to output cell ``index`` of the last layer.

    Returns:
        One sorted list per level, from the input (level 0) to the last layer's
        output (``[index]``). ``len(result[0])`` is the receptive field when no
        dilation leaves gaps; with dilation, ``result[0][-1] - result[0][0] + 1``
        is its span.
    """
    path = [[index]]
    for k, s, d in reversed(_normalize(layers)):
        path.append(sorted({i * s + d * t for i in path[-1] for t in range(k)}))
    return path[::-1]


def plot_receptive_field(layers: Sequence[Sequence[int]], input_size: int | None = None,
                         index: int | None = None, *, title: str | None = None) -> plt.Figure:
    """Rows of cells, input at the bottom, with one top cell traced down to the input.

    Args:
        layers: ``(kernel_size, stride[, dilation])`` per layer, first layer first.
        input_size: input length; default: enough for three outputs at the top.
        index: the top cell to trace; default: the middle one.
        title: the figure title; by default it states the receptive field.
    """
    norm = _normalize(layers)
    if input_size is None:
        last = receptive_field_table(norm)[-1]
        input_size = last.size + 2 * last.jump
    sizes = layer_sizes(norm, input_size)
    index = sizes[-1] // 2 if index is None else index
    if not 0 <= index < sizes[-1]:
        raise ValueError(f"index {index} is outside the last layer's {sizes[-1]} cells.")
    path = receptive_field_path(norm, index)
    width = max(sizes)
    fig, ax = plt.subplots(figsize=(min(7.0, 2.5 + 0.42 * width), 0.95 * len(sizes) + 1.0))
    # Centre every row so the picture reads as a pyramid.
    offsets = [(width - n) / 2 for n in sizes]
    for level, n in enumerate(sizes):
        chosen = set(path[level])
        for i in range(n):
            ax.add_patch(Rectangle((offsets[level] + i, level * 1.6), 0.9, 0.9,
                                   facecolor=HIGHLIGHT if i in chosen else "0.9", edgecolor="0.4", linewidth=0.8))
        label = "input" if level == 0 else "layer {}: K={}, S={}{}".format(
            level, norm[level - 1][0], norm[level - 1][1],
            f", D={norm[level - 1][2]}" if norm[level - 1][2] > 1 else "")
        ax.text(-0.6, level * 1.6 + 0.45, label, ha="right", va="center", fontsize=9)
        ax.text(width + 0.4, level * 1.6 + 0.45, f"{len(chosen)} cell{'s' * (len(chosen) != 1)}",
                ha="left", va="center", fontsize=9, color="0.25")
    for level in range(1, len(sizes)):
        k, s, d = norm[level - 1]
        for i in path[level]:
            for t in range(k):
                j = i * s + d * t
                ax.plot([offsets[level] + i + 0.45, offsets[level - 1] + j + 0.45],
                        [level * 1.6, (level - 1) * 1.6 + 0.9], color="0.35", linewidth=0.6)
    extent = path[0][-1] - path[0][0] + 1
    ax.set_xlim(-0.8 - 0.17 * 22, width + 3.2)
    ax.set_ylim(-0.4, 1.6 * (len(sizes) - 1) + 1.3)
    ax.axis("off")
    ax.set_title(title or f"one output cell sees {extent} input cells (receptive field {extent})")
    fig.tight_layout()
    return fig
