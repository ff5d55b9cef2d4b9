"""ReLU6 that libraries which hook only ``nn.ReLU`` (captum, pytorch-grad-cam) still see."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HookableReLU6", "hookable_relu6"]


class HookableReLU6(nn.ReLU):
    """``min(max(x, 0), 6)``, but an ``nn.ReLU`` subclass, so ``isinstance(m, nn.ReLU)`` hooks find it.

    Never in place: module backward hooks refuse in-place outputs.
    """

    def __init__(self) -> None:
        super().__init__(inplace=False)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.relu6(input)


def hookable_relu6(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every ``nn.ReLU6`` replaced by :class:`HookableReLU6`, and every ReLU not in place.

    The copy computes the same function. Our own methods do not need it
    (:func:`cnnlib.explain.explaining` handles ReLU6); it is for comparing with
    captum's ``GuidedBackprop`` and ``GuidedGradCam``, which otherwise leave
    ReLU6 alone and return the plain gradient on MobileNetV2.
    """
    clone = copy.deepcopy(model)
    for module in list(clone.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.ReLU6):
                setattr(module, name, HookableReLU6())
            elif isinstance(child, nn.ReLU):
                child.inplace = False
    return clone
