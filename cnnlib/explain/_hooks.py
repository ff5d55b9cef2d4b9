"""One context manager for every hook an explanation method needs.

:func:`explaining` puts the model in eval mode, records the outputs of the
layers asked for, optionally rewrites the backward pass of every ReLU and ReLU6
for guided backpropagation, and optionally stops the forward pass early. On the
way out (``finally``) it removes every hook and puts the model back in the mode
it was in, so the caller's model is never changed.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
from torch import nn

__all__ = ["GUIDED_ACTIVATIONS", "Recording", "StopForward", "explaining"]

#: Activations whose backward pass guided backpropagation rewrites. ReLU6 is
#: here on purpose: MobileNetV2 and EfficientNet-Lite use it, and a method that
#: only hooks ``nn.ReLU`` silently returns the plain gradient for them.
GUIDED_ACTIVATIONS = (nn.ReLU, nn.ReLU6)


class StopForward(Exception):
    """Raised inside the forward pass once the last recorded layer has run (caught by :func:`explaining`)."""


@dataclass
class Recording:
    """What the hooks saw during the forward pass inside :func:`explaining`.

    Attributes:
        outputs: module -> its output tensor of the last forward pass (still part
            of the autograd graph, so ``torch.autograd.grad(score, outputs[layer])``
            gives the gradient with respect to it).
        stopped: True when the forward pass was cut short after ``stop_after``.
    """

    outputs: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    stopped: bool = False

    def __getitem__(self, layer: nn.Module) -> torch.Tensor:
        if layer not in self.outputs:
            raise RuntimeError(
                f"The layer {type(layer).__name__} did not run during the forward pass: pass a module that "
                "is part of the model and is called in its forward (for example model.features[-1]).")
        return self.outputs[layer]


def _guided_backward(module: nn.Module, inputs, output: torch.Tensor) -> None:
    # The gradient reaching the activation's output is clamped at zero; the
    # activation's own backward then multiplies by its mask (0 < x, and x < 6
    # for ReLU6). Together: relu(grad_out) * mask = relu(grad_out * mask), the
    # guided rule of Springenberg et al. A tensor hook (not a module backward
    # hook) keeps in-place activations working.
    if output.requires_grad:
        output.register_hook(lambda grad: grad.clamp(min=0))


def _check_layers(model: nn.Module, layers: Sequence[nn.Module]) -> None:
    members = set(map(id, model.modules()))
    for layer in layers:
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be an nn.Module of the model (e.g. model.features[-1]), got {type(layer).__name__}.")
        if id(layer) not in members:
            raise ValueError(f"The layer {type(layer).__name__} is not a submodule of the model: pass one of "
                             "model.named_modules(), for example model.features[-1].")


@contextmanager
def explaining(model: nn.Module, *, record: Sequence[nn.Module] = (), guided: bool = False,
               stop_after: nn.Module | None = None) -> Iterator[Recording]:
    """Hooks for one explanation, removed in ``finally``; the model's mode is restored.

    Args:
        model: the network; it runs in eval mode inside the block.
        record: modules whose outputs are kept in the yielded :class:`Recording`.
        guided: rewrite the backward pass of every ``nn.ReLU`` and ``nn.ReLU6``
            (guided backpropagation). The forward pass, and so the logits, are unchanged.
        stop_after: stop the forward pass once this module has run (its output is
            recorded); the model call then raises :class:`StopForward`, which
            :func:`cnnlib.explain.forward` catches. Used when only a layer's features are needed.

    Yields:
        A :class:`Recording` filled by each forward pass inside the block.

    Example::

        with explaining(model, record=[layer]) as rec:
            logits = model(images)
            grads, = torch.autograd.grad(logits[:, 3].sum(), rec[layer])
    """
    layers = list(record) + ([stop_after] if stop_after is not None else [])
    _check_layers(model, layers)
    recording = Recording()
    handles = []
    was_training = model.training
    try:
        model.eval()
        for layer in layers:
            def keep(module, inputs, output, _stop=layer is stop_after):
                recording.outputs[module] = output
                if _stop:
                    recording.stopped = True
                    raise StopForward
            handles.append(layer.register_forward_hook(keep))
        if guided:
            handles += [m.register_forward_hook(_guided_backward) for m in model.modules()
                        if isinstance(m, GUIDED_ACTIVATIONS)]
        yield recording
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
