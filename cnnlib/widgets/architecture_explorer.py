"""Chapter 7's widget: pick a network, see its stages, their shapes, parameters and cost.

Every view is measured: the network is built on the ``meta`` device (shapes,
no memory) and :func:`cnnlib.models.stages.stage_table` groups its blocks by
output resolution. The line above the figure gives the totals.

For the book (``CNNLIB_STATIC_WIDGETS=1``) the chapter's networks are drawn in
advance with :func:`~cnnlib.widgets.static.precomputed`; a running kernel
offers every registered ImageNet network.
"""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from cnnlib.models import create_model, list_models
from cnnlib.models.stages import stage_table
from cnnlib.viz.architectures import plot_stages
from cnnlib.widgets._show import show_figure
from cnnlib.widgets.static import precomputed, static_mode

__all__ = ["CHAPTER_MODELS", "architecture_explorer", "describe_architecture", "imagenet_models"]

#: The networks the static page offers (the chapter's).
CHAPTER_MODELS = ("alexnet_2012", "alexnet", "zfnet", "vgg11", "vgg16", "vgg19", "vgg16_bn", "googlenet")


def imagenet_models() -> list[str]:
    """The registered networks that take ``3 x H x W`` ImageNet-sized images and give 1,000 logits."""
    names = []
    for name in list_models():
        with torch.device("meta"):
            try:
                model = create_model(name)
            except TypeError:  # a builder that needs arguments (mlp, classic_cnn)
                continue
        size = getattr(model, "input_size", None)
        if size is not None and size[0] == 3 and size[-1] >= 200:
            names.append(name)
    return names


def describe_architecture(name: str) -> tuple[str, plt.Figure]:
    """The totals line and the per-stage figure of one registered network.

    Args:
        name: a registered model name (built with its defaults, on ``meta``).

    Returns:
        ``(html, figure)``.
    """
    with torch.device("meta"):
        model = create_model(name)
    stages = stage_table(model)
    total = sum(p.numel() for p in model.parameters())
    macs = sum(s.macs for s in stages)
    memory = sum(s.activation_bytes for s in stages)
    size = "x".join(map(str, model.input_size))
    html = (f"<b>{name}</b>, input {size}: <b>{total / 1e6:.2f} M</b> parameters, <b>{macs / 1e9:.2f} G</b> "
            f"multiply-adds and {memory / 2**20:.1f} MiB of layer outputs per image, in {len(stages)} stages.")
    fig = plot_stages(stages, title=f"{name}: per stage (label: output size and channels)")
    return html, fig


def architecture_explorer(model: str = "alexnet_2012", models: tuple[str, ...] | None = None) -> W.VBox:
    """A network picker with the stage figure and totals below.

    Args:
        model: the network shown first.
        models: the networks offered; default: :data:`CHAPTER_MODELS` on the
            static page, every ImageNet network in a running kernel.

    Returns:
        The widget; display it as a cell's last expression.
    """
    static = static_mode()
    if models is None:
        models = CHAPTER_MODELS if static else tuple(imagenet_models())
    models = tuple(models)
    if model not in models:
        raise ValueError(f"model {model!r} is not among the offered models: {', '.join(models)}.")
    control = W.Dropdown(options=models, value=model, description="network")
    if static:
        return precomputed(describe_architecture, {"name": control}, colors=32)
    text, out = W.HTML(), W.Output()

    def draw(_=None) -> None:
        html, fig = describe_architecture(control.value)
        text.value = html
        show_figure(out, fig)

    control.observe(draw, names="value")
    draw()
    return W.VBox([control, text, out])
