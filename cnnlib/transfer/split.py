"""One documented backbone/head split for every CNN family that has one.

As in timm, a classifier is ``forward_head(forward_features(x))``:

* :func:`forward_features` runs the *backbone*, the stages in order, and
  returns the last feature map ``(N, C, h, w)``;
* :func:`forward_head` pools it (plus whatever sits between the pooling and
  the last linear layer: MobileNetV3's hidden layer, ConvNeXt's LayerNorm,
  dropout) to the ``(N, num_features)`` *pre-logits*, and applies the last
  ``nn.Linear``, the *head*;
* :func:`reset_classifier` replaces that linear layer for a new number of
  classes.

Every family names its stages the same way: ``"stem"`` (the first
convolution), ``"stage1"`` ... (groups of blocks, a new one where the
resolution halves or the paper starts a new row), ``"conv_head"`` (the 1x1
convolution before pooling, where there is one), ``"neck"`` (layers with
parameters between pooling and the last linear layer, where there are any)
and ``"head"``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cnnlib.transfer.errors import UnknownStageError, UnsupportedModelError

__all__ = [
    "Split",
    "forward_features",
    "forward_head",
    "get_split",
    "head_module",
    "num_features",
    "reset_classifier",
    "stage_modules",
    "stage_names",
]


@dataclass(frozen=True)
class Split:
    """Where one model's backbone ends and its head begins.

    Attributes:
        family: the model's class name.
        stages: ordered ``(stage name, module paths)``; running every path in
            order is the backbone.
        head: dotted path of the last ``nn.Linear``.
        pre_logits: ``(model, feature map) -> (N, num_features)``.
        neck: paths of layers with parameters between the pooling and the
            head (MobileNetV3's hidden linear layer, ConvNeXt's LayerNorm):
            the stage ``"neck"``, part of the backbone, run by ``pre_logits``.
    """

    family: str
    stages: tuple[tuple[str, tuple[str, ...]], ...]
    head: str
    pre_logits: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    neck: tuple[str, ...] = ()


def _pool(model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
    return torch.flatten(nn.functional.adaptive_avg_pool2d(fmap, 1), 1)


def _classifier_neck(model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
    """Pool, then every classifier layer but the last (dropout, hidden layers)."""
    x = _pool(model, fmap)
    for layer in list(model.classifier)[:-1]:
        x = layer(x)
    return x


def _convnext_neck(model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
    x = model.classifier[0](nn.functional.adaptive_avg_pool2d(fmap, 1))  # LayerNorm2d on (N, C, 1, 1)
    return torch.flatten(x, 1)


def _densenet_neck(model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
    return _pool(model, torch.relu(fmap))


def _lite_neck(model: nn.Module, fmap: torch.Tensor) -> torch.Tensor:
    return model._dropout(_pool(model, fmap))


def _strided(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) and max(m.stride) > 1 for m in module.modules())


def _group_by_resolution(prefix: str, modules) -> list[tuple[str, ...]]:
    """Consecutive blocks, a new group at every block that downsamples."""
    groups: list[list[str]] = []
    for i, block in enumerate(modules):
        if not groups or _strided(block):
            groups.append([])
        groups[-1].append(f"{prefix}.{i}")
    return [tuple(g) for g in groups]


def _group_by_counts(prefix: str, counts, start: int = 0) -> list[tuple[str, ...]]:
    groups, i = [], start
    for n in counts:
        groups.append(tuple(f"{prefix}.{j}" for j in range(i, i + n)))
        i += n
    return groups


def _named(stem, groups, conv_head=None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    stages = [("stem", tuple(stem))] + [(f"stage{i}", g) for i, g in enumerate(groups, start=1)]
    if conv_head:
        stages.append(("conv_head", tuple(conv_head)))
    return tuple(stages)


def _mobilenet_v2(model) -> Split:
    from cnnlib.models.mobilenet_v2 import MOBILENET_V2_SETTING

    groups = _group_by_counts("features", [n for _, _, n, _ in MOBILENET_V2_SETTING], start=1)
    last = len(model.features) - 1
    return Split("MobileNetV2", _named(["features.0"], groups, [f"features.{last}"]), "classifier.1",
                 _classifier_neck)


def _efficientnet_lite(model) -> Split:
    from cnnlib.models.efficientnet import EFFICIENTNET_B0_STAGES

    groups = _group_by_counts("_blocks", [row[-1] for row in EFFICIENTNET_B0_STAGES])
    return Split("EfficientNetLite", _named(["_conv_stem", "_bn0", "relu"], groups, ["_conv_head", "_bn1", "relu"]),
                 "_fc", _lite_neck)


def _features_sequential(family: str, neck) -> Callable[[nn.Module], Split]:
    """``features[0]`` the stem, ``features[1:-1]`` the stages, ``features[-1]`` the 1x1 conv head."""

    def split(model) -> Split:
        last = len(model.features) - 1
        if family == "EfficientNet":  # one Sequential per stage already
            groups = [(f"features.{i}",) for i in range(1, last)]
        else:
            groups = [tuple(f"features.{int(p.split('.')[1]) + 1}" for p in g)
                      for g in _group_by_resolution("features", list(model.features)[1:last])]
        head = f"classifier.{len(model.classifier) - 1}"
        hidden = tuple(f"classifier.{i}" for i, m in enumerate(list(model.classifier)[:-1]) if isinstance(m, nn.Linear))
        return Split(family, _named(["features.0"], groups, [f"features.{last}"]), head, neck, hidden)

    return split


def _resnet(model) -> Split:
    return Split("ResNet", _named(["conv1", "bn1", "relu", "maxpool"], [(f"layer{i}",) for i in range(1, 5)]),
                 "fc", _pool)


def _convnext(model) -> Split:
    # features: stem, stage 1, then (downsample, stage) three times
    groups = [("features.1",)] + [(f"features.{i}", f"features.{i + 1}") for i in range(2, len(model.features), 2)]
    return Split("ConvNeXt", _named(["features.0"], groups), "classifier.2", _convnext_neck, ("classifier.0",))


def _densenet(model) -> Split:
    names = [n for n, _ in model.features.named_children()]
    stem = [f"features.{n}" for n in names[:4]]
    groups, current = [], []
    for n in names[4:]:
        if n.startswith("transition") and current:
            groups.append(tuple(current))
            current = []
        current.append(f"features.{n}")
    groups.append(tuple(current))
    return Split("DenseNet", _named(stem, groups), "classifier", _densenet_neck)


def _builders() -> dict[str, Callable[[nn.Module], Split]]:
    return {
        "MobileNetV2": _mobilenet_v2,
        "EfficientNetLite": _efficientnet_lite,
        "MobileNetV3": _features_sequential("MobileNetV3", _classifier_neck),
        "EfficientNet": _features_sequential("EfficientNet", _classifier_neck),
        "ResNet": _resnet,
        "ConvNeXt": _convnext,
        "DenseNet": _densenet,
    }


def get_split(model: nn.Module) -> Split:
    """The :class:`Split` of ``model``.

    Raises:
        UnsupportedModelError: the model's family has no split here; the
            message lists the families that do.
    """
    builders = _builders()
    family = type(model).__name__
    if family not in builders:
        raise UnsupportedModelError(
            f"no backbone/head split is defined for {family}. Transfer learning here works with "
            f"{', '.join(builders)} (for example create_model('mobilenet_v2', weights='DEFAULT')). "
            "VGG, AlexNet and GoogLeNet end in several linear layers, so where their head starts is a choice; "
            "take model.features as the backbone yourself.")
    return builders[family](model)


def stage_names(model: nn.Module) -> list[str]:
    """The model's stage names in forward order, ending with ``"head"`` (``"neck"`` before it, if any)."""
    split = get_split(model)
    return [name for name, _ in split.stages] + (["neck"] if split.neck else []) + ["head"]


def stage_modules(model: nn.Module, stage: str) -> list[nn.Module]:
    """The modules of one stage (``"head"``: the last linear layer).

    Raises:
        UnknownStageError: ``stage`` is not one of :func:`stage_names`.
    """
    split = get_split(model)
    if stage == "head":
        return [model.get_submodule(split.head)]
    paths = dict(split.stages, **({"neck": split.neck} if split.neck else {})).get(stage) \
        if isinstance(stage, str) else None
    if paths is None:
        raise UnknownStageError(
            f"{type(model).__name__} has no stage {stage!r}. Its stages, input to output: "
            f"{', '.join(stage_names(model))}.")
    return [model.get_submodule(p) for p in paths]


def head_module(model: nn.Module) -> nn.Linear:
    """The last linear layer (the head)."""
    return model.get_submodule(get_split(model).head)


def num_features(model: nn.Module) -> int:
    """The width of the pre-logits, the head's ``in_features``."""
    return head_module(model).in_features


def forward_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The backbone: ``(N, 3, H, W)`` images -> ``(N, C, h, w)``, the last feature map before pooling."""
    for _, paths in get_split(model).stages:
        for path in paths:
            module = model.get_submodule(path)
            if isinstance(module, nn.ModuleList):
                for block in module:
                    x = block(x)
            else:
                x = module(x)
    return x


def forward_head(model: nn.Module, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
    """The head on a feature map: ``(N, C, h, w) -> (N, num_classes)`` logits.

    Args:
        model: the classifier.
        features: :func:`forward_features`'s output.
        pre_logits: stop before the last linear layer and return ``(N, num_features)``.
    """
    split = get_split(model)
    x = split.pre_logits(model, features)
    return x if pre_logits else model.get_submodule(split.head)(x)


def reset_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace the head, in place, by a new ``nn.Linear(num_features, num_classes)``.

    The new layer is initialised by PyTorch's default (seed the generators
    first for a reproducible head). Returns the model.

    Raises:
        ValueError: ``num_classes`` is not a positive int.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(
            f"reset_classifier(num_classes={num_classes!r}): a head needs at least one output; pass the number "
            "of classes of the new task (for two classes, 2, or 1 with a sigmoid loss).")
    split = get_split(model)
    old = model.get_submodule(split.head)
    parent_path, _, name = split.head.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    new = nn.Linear(old.in_features, num_classes, device=old.weight.device, dtype=old.weight.dtype)
    setattr(parent, name, new) if not name.isdigit() else parent.__setitem__(int(name), new)
    return model
