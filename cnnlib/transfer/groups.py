"""Optimizer parameter groups with discriminative learning rates.

Pretrained early layers compute generic features (edges, textures) that the
new task needs almost unchanged; later layers are more specific to the
pretraining task; the new head starts from random. So the head gets the
largest learning rate and the backbone smaller ones
(Howard and Ruder, 2018)::

    groups = param_groups(model, lr=1e-3, backbone_lr=1e-4)         # two rates
    groups = param_groups(model, lr=1e-3, decay=0.5)                # halve per stage towards the input
    optimizer = torch.optim.AdamW(groups)

Frozen parameters (``requires_grad=False``) are left out. Use a scheduler
that scales every group's rate (``TrainConfig(scheduler="cosine")``);
``"onecycle"`` sets every group to the same peak rate.
"""
from __future__ import annotations

from torch import nn

from cnnlib.transfer.split import stage_modules, stage_names

__all__ = ["param_groups"]


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"param_groups({name}={value!r}): must be a number > 0.")
    return float(value)


def param_groups(model: nn.Module, lr: float, *, backbone_lr: float | None = None,
                 decay: float | None = None) -> list[dict]:
    """One optimizer group per stage, each with its own learning rate.

    Args:
        model: a model with a split.
        lr: the head's learning rate.
        backbone_lr: one rate for every backbone stage (default: ``lr``).
        decay: instead, stage ``k`` steps before the head gets ``lr * decay**k``
            (``0 < decay <= 1``).

    Returns:
        A list of dicts ``{"params", "lr", "name"}`` for ``torch.optim``, head
        last; stages without trainable parameters are left out.

    Raises:
        ValueError: both ``backbone_lr`` and ``decay`` given, a rate or decay out
            of range, or nothing to train.
    """
    lr = _positive("lr", lr)
    if backbone_lr is not None and decay is not None:
        raise ValueError("param_groups: give backbone_lr (one rate for the backbone) or decay (a rate per "
                         "stage), not both.")
    if backbone_lr is not None:
        backbone_lr = _positive("backbone_lr", backbone_lr)
    if decay is not None and not 0 < _positive("decay", decay) <= 1:
        raise ValueError(f"param_groups(decay={decay!r}): must be in (0, 1].")
    names = stage_names(model)
    groups = []
    for k, stage in enumerate(reversed(names)):
        params = [p for m in stage_modules(model, stage) for p in m.parameters() if p.requires_grad]
        if not params:
            continue
        if stage == "head":
            rate = lr
        elif decay is not None:
            rate = lr * decay ** k
        else:
            rate = backbone_lr if backbone_lr is not None else lr
        groups.append({"params": params, "lr": rate, "name": stage})
    if not groups:
        raise ValueError("param_groups: every parameter is frozen; unfreeze('head') or some stages first.")
    return groups[::-1]
