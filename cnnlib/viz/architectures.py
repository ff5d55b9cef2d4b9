"""Chapter 7 figures: where a network's parameters and compute live, its stages, and the ImageNet timeline.

Every function takes measured rows (from :mod:`cnnlib.models.stages`) or
plain numbers, and returns a figure drawn at the page column's width. Colours
are from the Okabe-Ito palette and the two series of a panel also differ in
hatching or marker, so the figures read in grayscale.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from cnnlib.viz.layout import COLUMN_WIDTH, OKABE_ITO

__all__ = ["TimelineEntry", "plot_cost_split", "plot_stages", "plot_timeline"]

BLUE, ORANGE, GREEN = OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"]


def plot_cost_split(names: Sequence[str], params: Sequence[int], macs: Sequence[int], *,
                    title: str = "") -> plt.Figure:
    """Each layer's share of the parameters and of the multiply-adds, side by side.

    Args:
        names: the layers' labels (``"conv1"``, ..., ``"fc8"``).
        params: their parameters.
        macs: their multiply-adds for one image.
        title: the figure's title.

    Returns:
        A one-panel bar chart in percent of each total.
    """
    if not (len(names) == len(params) == len(macs)) or not names:
        raise ValueError(f"plot_cost_split: give as many params ({len(params)}) and macs ({len(macs)}) as "
                         f"names ({len(names)}), at least one.")
    p = 100 * np.asarray(params, dtype=float) / max(sum(params), 1)
    m = 100 * np.asarray(macs, dtype=float) / max(sum(macs), 1)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 3.0))
    ax.bar(x - 0.2, p, 0.4, color=BLUE, label="parameters")
    ax.bar(x + 0.2, m, 0.4, color=ORANGE, hatch="//", edgecolor="black", linewidth=0.4, label="multiply-adds")
    for xi, (pi, mi) in enumerate(zip(p, m)):
        ax.text(xi - 0.2, pi + 1, f"{pi:.0f}", ha="center", fontsize=9)
        ax.text(xi + 0.2, mi + 1, f"{mi:.0f}", ha="center", fontsize=9)
    ax.set_xticks(x, list(names))
    ax.set(ylabel="share of the total (%)", xlabel="layer", ylim=(0, max(p.max(), m.max()) * 1.15),
           title=title or "where the parameters and the compute are")
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def plot_stages(stages, *, title: str = "") -> plt.Figure:
    """Parameters, multiply-adds and activation memory per stage, one row of bars per stage.

    Args:
        stages: :class:`cnnlib.models.stages.Stage` rows (``name``, ``output_shape``,
            ``params``, ``macs``, ``activation_bytes``).
        title: the figure's title.

    Returns:
        A three-panel horizontal bar chart sharing the stage labels.
    """
    stages = list(stages)
    if not stages:
        raise ValueError("plot_stages: no stages to draw; pass stage_table(model).")
    labels = [f"{s.name}: " + "x".join(map(str, s.output_shape[:1])) + " ch" if len(s.output_shape) == 3
              else f"head: {s.output_shape[0]}" for s in stages]
    columns = [("parameters (M)", [s.params / 1e6 for s in stages], BLUE),
               ("multiply-adds (M)", [s.macs / 1e6 for s in stages], ORANGE),
               ("activations (MiB)", [s.activation_bytes / 2**20 for s in stages], GREEN)]
    height = 1.2 + 0.28 * len(stages)
    fig, axes = plt.subplots(1, 3, figsize=(COLUMN_WIDTH, height), sharey=True)
    y = np.arange(len(stages))
    for ax, (label, values, colour) in zip(axes, columns):
        ax.barh(y, values, color=colour)
        top = max(values) or 1.0
        for yi, v in zip(y, values):
            text = "0" if v == 0 else f"{v:.2f}" if v < 1 else f"{v:,.1f}" if v < 100 else f"{v:,.0f}"
            ax.text(v + top * 0.03, yi, text, va="center", fontsize=9)
        ax.set_xlim(0, top * 1.45)
        ax.set_xlabel(label, fontsize=9)
        ax.tick_params(labelsize=9)
        ax.set_xticks([])
    axes[0].set_yticks(y, labels)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("stage (output)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class TimelineEntry:
    """One point of the accuracy-vs-parameters timeline.

    Attributes:
        year: the year quoted with it.
        name: the model.
        top1: quoted ImageNet top-1 accuracy in percent.
        quoted_params: quoted parameters, in millions.
        measured_params: our count, in millions, where the book builds the model; else ``None``.
    """

    year: int
    name: str
    top1: float
    quoted_params: float
    measured_params: float | None = None


def plot_timeline(entries: Sequence[TimelineEntry], *, title: str = "") -> plt.Figure:
    """Quoted top-1 accuracy, and quoted against measured parameter counts, model by model.

    Args:
        entries: the timeline's points, in the order to draw them (by year).
        title: the figure's title.

    Returns:
        Two stacked panels over one axis of models (labelled with name and
        year): the quoted accuracy, and the parameters on a log scale, quoted
        (circles) and measured (crosses) where the book builds the model.
    """
    entries = list(entries)
    if not entries:
        raise ValueError("plot_timeline: no entries to draw.")
    x = np.arange(len(entries))
    fig, (acc, par) = plt.subplots(2, 1, figsize=(COLUMN_WIDTH, 5.4), sharex=True)
    acc.plot(x, [e.top1 for e in entries], "o-", color=BLUE, markersize=4)
    for xi, e in zip(x, entries):
        acc.annotate(f"{e.top1:g}", (xi, e.top1), textcoords="offset points", xytext=(0, 6), ha="center",
                     fontsize=9)
    acc.set(ylabel="top-1 accuracy (%)", title="quoted ImageNet top-1 accuracy")
    acc.set_ylim(min(e.top1 for e in entries) - 3, max(e.top1 for e in entries) + 4)
    par.scatter(x, [e.quoted_params for e in entries], facecolors="none", edgecolors=BLUE, label="quoted")
    measured = [(xi, e.measured_params) for xi, e in zip(x, entries) if e.measured_params is not None]
    if measured:
        mx, my = zip(*measured)
        par.scatter(mx, my, marker="x", color=ORANGE, s=45, label="measured here")
    par.set_yscale("log")
    par.set(ylabel="parameters (millions)", title="parameters, log scale")
    par.legend(frameon=False, fontsize=9, loc="upper left")
    par.set_xticks(x, [f"{e.name} ({e.year})" for e in entries], rotation=40, ha="right")
    for ax in (acc, par):
        ax.tick_params(labelsize=9)
        ax.grid(axis="y", color="0.85", linewidth=0.6)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
