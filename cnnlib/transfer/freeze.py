"""Freeze and unfreeze a backbone, whole or by stage, with batch norm handled explicitly.

Freezing sets ``requires_grad=False`` on a stage's parameters: no gradient
reaches them and an optimizer built afterwards does not hold them, so their
values stay bit-identical however long the rest trains.

Batch norm also has *buffers*, the running mean and variance, which change
in train mode whatever ``requires_grad`` says. ``freeze`` therefore takes a
``bn`` mode for the batch-norm layers inside the frozen stages:

* ``bn="eval"`` (default): they always run in eval mode, even after
  ``model.train()``: they normalise with the stored (ImageNet) statistics
  and never update them. A frozen backbone is then a fixed function, the
  same one whose features :class:`~cnnlib.transfer.FeatureCache` stores.
* ``bn="train"``: they follow the model's mode. In train mode they normalise
  each batch with its own statistics and move the running statistics
  towards the new data (momentum 0.1 in PyTorch's default), so a "frozen"
  backbone still changes what it computes in eval mode.

``unfreeze`` undoes both.
"""
from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from cnnlib.transfer.split import stage_modules, stage_names

__all__ = ["BN_MODES", "freeze", "frozen_stages", "is_bn_pinned", "trainable_summary", "unfreeze"]

BN_MODES = ("eval", "train")
_HOOK = "_cnnlib_bn_eval_hook"


def _pin_eval(module: nn.Module, inputs) -> None:  # forward pre-hook: the layer runs in eval mode
    module.training = False


def _stages(model: nn.Module, stages: str | Iterable[str] | None, *, default_all_but_head: bool) -> list[str]:
    if stages is None:
        names = stage_names(model)
        return names[:-1] if default_all_but_head else names
    stages = [stages] if isinstance(stages, str) else list(stages)
    for stage in stages:
        stage_modules(model, stage)  # raises UnknownStageError with the valid names
    return stages


def _batch_norms(modules: Iterable[nn.Module]):
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                yield m


def _set(model: nn.Module, names: list[str], *, trainable: bool, bn: str) -> nn.Module:
    """Set ``requires_grad`` of the stages' parameters and pin (``bn="eval"``) or free their batch norms."""
    modules = [m for s in names for m in stage_modules(model, s)]
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(trainable)
    for layer in _batch_norms(modules):
        handle = getattr(layer, _HOOK, None)
        if bn == "eval" and handle is None:
            setattr(layer, _HOOK, layer.register_forward_pre_hook(_pin_eval))
        elif bn == "train" and handle is not None:
            handle.remove()
            delattr(layer, _HOOK)
            layer.training = model.training
    return model


def freeze(model: nn.Module, stages: str | Iterable[str] | None = None, *, bn: str = "eval") -> nn.Module:
    """Stop training some stages: the whole backbone by default.

    Args:
        model: a model with a split (see :func:`~cnnlib.transfer.stage_names`).
        stages: a stage name or names (``"stem"``, ``"stage1"``, ...,
            ``"head"``); ``None`` means every stage but the head.
        bn: ``"eval"`` pins the batch-norm layers of those stages in eval
            mode (statistics fixed); ``"train"`` lets them follow the model's
            mode (statistics updated in training). See the module docstring.

    Returns:
        The model, changed in place.

    Raises:
        UnknownStageError: a stage the model does not have (the message lists them).
        ValueError: an unknown ``bn`` mode.
    """
    if bn not in BN_MODES:
        raise ValueError(f"freeze(bn={bn!r}): choose 'eval' (batch-norm statistics stay fixed) or 'train' "
                         "(they keep updating in train mode).")
    return _set(model, _stages(model, stages, default_all_but_head=True), trainable=False, bn=bn)


def unfreeze(model: nn.Module, stages: str | Iterable[str] | None = None, *, bn: str = "train") -> nn.Module:
    """Train some stages again (all of them by default).

    Args:
        model: a model with a split.
        stages: a stage name or names; ``None`` means all, head included.
        bn: ``"train"`` (default) lets their batch-norm layers follow the
            model's mode again; ``"eval"`` keeps them pinned in eval mode, so
            their weights train while their statistics stay the pretrained
            ones (a common choice when fine-tuning with small batches).

    Raises:
        UnknownStageError: a stage the model does not have.
        ValueError: an unknown ``bn`` mode.
    """
    if bn not in BN_MODES:
        raise ValueError(f"unfreeze(bn={bn!r}): choose 'train' (statistics follow the model's mode) or 'eval' "
                         "(statistics stay fixed).")
    return _set(model, _stages(model, stages, default_all_but_head=False), trainable=True, bn=bn)


def is_bn_pinned(layer: nn.Module) -> bool:
    """Whether :func:`freeze` pinned this batch-norm layer in eval mode."""
    return getattr(layer, _HOOK, None) is not None


def frozen_stages(model: nn.Module) -> list[str]:
    """The stages none of whose parameters train."""
    out = []
    for stage in stage_names(model):
        params = [p for m in stage_modules(model, stage) for p in m.parameters()]
        if params and not any(p.requires_grad for p in params):
            out.append(stage)
    return out


def trainable_summary(model: nn.Module) -> list[tuple[str, int, int]]:
    """Per stage: ``(name, trainable parameters, all parameters)``."""
    rows = []
    for stage in stage_names(model):
        params = [p for m in stage_modules(model, stage) for p in m.parameters()]
        rows.append((stage, sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)))
    return rows
