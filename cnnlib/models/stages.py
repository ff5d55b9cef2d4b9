"""A network read as tables: its weight layers one by one, its stages by resolution.

Both tables are measured from one forward pass (on the ``meta`` device a
138-million-parameter VGG costs no memory), through :func:`profile`::

    with torch.device("meta"):
        net = create_model("alexnet_2012")
    weight_layers(net)     # conv1 ... fc8: output shape, weights, biases, multiply-adds
    stage_table(net)       # one row per resolution: 55x55, 27x27, 13x13, 6x6, head

A *block* is a direct child of the model, or a child of a direct child that
is an ``nn.Sequential`` (VGG's ``features``, a ResNet's ``layer1``); a
*stage* is a run of consecutive blocks whose outputs have the same height and
width. A pooling block that halves the resolution opens the next stage; the
blocks with flat outputs (the classifier) form the ``head``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnlib.models.profile import _input, profile
from cnnlib.models.registry import meta_model  # re-exported: chapters import it from here too

__all__ = ["Stage", "WeightLayer", "meta_model", "stage_table", "weight_layers"]


@dataclass(frozen=True)
class WeightLayer:
    """One convolution or linear layer: where it is, what it outputs, what it holds and costs."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    weights: int
    biases: int
    macs: int

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class Stage:
    """Consecutive blocks at one resolution.

    Attributes:
        name: ``"HxW"`` of the outputs, or ``"head"`` for flat outputs.
        blocks: the blocks' names, in call order.
        output_shape: the last block's output, ``(C, H, W)`` or ``(features,)``.
        params: parameters of the blocks.
        macs: multiply-adds of the blocks for one image.
        activation_bytes: memory of the outputs of the blocks' layers for one image.
    """

    name: str
    blocks: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int


def weight_layers(model: nn.Module, input_size: tuple[int, ...] | None = None) -> list[WeightLayer]:
    """The convolutions and linear layers of ``model`` in call order, measured on one image.

    Args:
        model: any module; ``meta`` works.
        input_size: ``(C, H, W)``; defaults to ``model.input_size``.

    Returns:
        One :class:`WeightLayer` per call of an ``nn.Conv2d`` or ``nn.Linear``.
    """
    rows = []
    for r in profile(model, input_size).rows:
        if r.kind not in ("Conv2d", "Linear"):
            continue
        layer = model.get_submodule(r.name)
        biases = layer.bias.numel() if layer.bias is not None else 0
        rows.append(WeightLayer(r.name, r.kind, r.output_shape, layer.weight.numel(), biases, r.macs))
    return rows


def _blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    blocks = []
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential):
            blocks.extend((f"{name}.{n}", c) for n, c in child.named_children())
        else:
            blocks.append((name, child))
    return blocks


def stage_table(model: nn.Module, input_size: tuple[int, ...] | None = None) -> list[Stage]:
    """Group the blocks of ``model`` by the resolution of their outputs.

    Args:
        model: a network with ``named_children``; ``meta`` works.
        input_size: ``(C, H, W)``; defaults to ``model.input_size``.

    Returns:
        The stages in call order. A block that is called but returns something
        other than a tensor, or is never called (GoogLeNet's auxiliary heads in
        evaluation mode), belongs to no stage; the parameters of all stages
        then add up to less than the model's.
    """
    blocks = _blocks(model)
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no child modules to group into stages; pass a network.")
    outputs: list[tuple[str, tuple[int, ...]]] = []

    def hook(name):
        def record(module, inputs, output):
            if isinstance(output, torch.Tensor):
                outputs.append((name, tuple(output.shape[1:])))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in blocks]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(_input(model, input_size, 1))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    rows = profile(model, input_size).rows
    modules = dict(blocks)
    stages: list[Stage] = []
    current: list[tuple[str, tuple[int, ...]]] = []

    def close():
        if not current:
            return
        names = tuple(n for n, _ in current)
        shape = current[-1][1]
        inside = [r for r in rows if any(r.name == n or r.name.startswith(n + ".") for n in names)]
        params = sum(p.numel() for n in dict.fromkeys(names) for p in modules[n].parameters())
        stages.append(Stage("head" if len(shape) < 3 else f"{shape[-2]}x{shape[-1]}", names, shape, params,
                            sum(r.macs for r in inside), sum(r.activation_bytes for r in inside)))
        current.clear()

    def key(shape):
        return "head" if len(shape) < 3 else shape[-2:]

    for name, shape in outputs:
        if current and key(current[-1][1]) != key(shape):
            close()
        current.append((name, shape))
    close()
    return stages
