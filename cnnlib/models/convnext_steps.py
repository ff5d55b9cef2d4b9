"""The road from ResNet-50 to ConvNeXt-T (Liu et al., 2022), one buildable network per step.

The ConvNeXt paper changes a ResNet-50 one design decision at a time and
reports the ImageNet top-1 accuracy and cost after each (its Figure 2).
:class:`ModernizedResNet` builds any point on that road from a
:class:`ModernizeConfig`, and :data:`CONVNEXT_STEPS` lists the paper's
steps in order, each config adding one change to the one before::

    for step in CONVNEXT_STEPS:
        with torch.device("meta"):
            net = ModernizedResNet(step.config)
        print(step.name, count_parameters(net), count_macs(net, (3, 224, 224)))

The first config is exactly torchvision's ResNet-50 (stride on the 3x3
convolution) and the last has exactly the parameters and multiply-adds of
``convnext_tiny`` (tested). In between, where the paper leaves a detail open,
we choose the plainest reading: a block that changes the map's size or width
strides its spatial convolution and takes a strided 1x1 projection shortcut
(with a norm), as in ResNet, until separate downsampling layers replace
both; a convolution directly followed by a batch norm has no bias, every
other convolution has one.

The training recipe (the paper's first step: longer training, AdamW,
stronger augmentation and regularisation) changes no parameter and no
multiply-add, so it is a row with the architecture of ResNet-50.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from cnnlib.models._blocks import LayerNorm2d
from cnnlib.models._checks import check_choice, check_positive_int, check_positive_ints

__all__ = ["CONVNEXT_STEPS", "ConvNeXtStep", "ModernizeConfig", "ModernizedBlock", "ModernizedResNet"]


@dataclass(frozen=True)
class ModernizeConfig:
    """One network on the road from ResNet-50 to ConvNeXt-T.

    Attributes:
        depths: blocks per stage.
        width: channels of the first stage's blocks where they are thin: the
            3x3 layer of a bottleneck (64 in ResNet-50), the block input of an
            inverted bottleneck (96 in ConvNeXt-T); doubled in every stage.
        stem: ``"resnet"`` (7x7 convolution, stride 2, then 3x3 max pooling,
            stride 2) or ``"patchify"`` (4x4 convolution, stride 4).
        block: ``"bottleneck"`` (1x1 to ``width``, spatial convolution, 1x1
            to 4 x ``width``) or ``"inverted"`` (1x1 to 4 x ``width`` and back,
            the spatial convolution on the wide or, with ``depthwise_first``,
            on the thin end).
        depthwise: spatial convolutions with one filter per channel.
        depthwise_first: the inverted block starts with its spatial convolution.
        kernel: side of the spatial convolution.
        activation: ``"relu"`` or ``"gelu"``.
        fewer_activations: only one activation per block, between the 1x1 layers.
        fewer_norms: only one norm per block, after the spatial convolution.
        norm: ``"batch"`` or ``"layer"`` (over the channels of each pixel).
        separate_downsampling: a norm and a 2x2 stride-2 convolution between
            stages instead of strided blocks; with it, a norm after the stem
            and before the classifier, and a learned per-channel scale on each
            block's branch (``layer_scale``), as in ConvNeXt.
    """

    depths: tuple[int, ...] = (3, 4, 6, 3)
    width: int = 64
    stem: str = "resnet"
    block: str = "bottleneck"
    depthwise: bool = False
    depthwise_first: bool = False
    kernel: int = 3
    activation: str = "relu"
    fewer_activations: bool = False
    fewer_norms: bool = False
    norm: str = "batch"
    separate_downsampling: bool = False

    def __post_init__(self) -> None:
        name = "ModernizeConfig"
        check_positive_ints(name, "depths", self.depths)
        check_positive_int(name, "width", self.width)
        check_positive_int(name, "kernel", self.kernel)
        if self.kernel % 2 == 0:
            raise ValueError(f"{name}(kernel={self.kernel}): the kernel must be odd so that padding keeps the size.")
        check_choice(name, "stem", self.stem, ("resnet", "patchify"))
        check_choice(name, "block", self.block, ("bottleneck", "inverted"))
        check_choice(name, "activation", self.activation, ("relu", "gelu"))
        check_choice(name, "norm", self.norm, ("batch", "layer"))
        if self.block == "bottleneck" and (self.depthwise_first or self.fewer_activations or self.fewer_norms
                                           or self.separate_downsampling):
            raise ValueError(f"{name}: depthwise_first, fewer_activations, fewer_norms and separate_downsampling "
                             "are steps for the inverted block; set block='inverted'.")


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else LayerNorm2d(channels, eps=1e-6)


def _act(kind: str) -> nn.Module:
    return nn.ReLU(inplace=True) if kind == "relu" else nn.GELU()


class ModernizedBlock(nn.Module):
    """A residual block of any step: a list of (convolution, norm, activation) layers plus the shortcut.

    Args:
        in_channels: channels in.
        width: the block's thin channels (see :class:`ModernizeConfig`).
        stride: 2 halves the map (on the spatial convolution).
        config: the step.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)`` with
        ``out_channels`` 4 x ``width`` for a bottleneck, ``width`` for an inverted block.
    """

    def __init__(self, in_channels: int, width: int, stride: int, config: ModernizeConfig) -> None:
        super().__init__()
        c = config
        wide = 4 * width
        self.out_channels = wide if c.block == "bottleneck" else width
        # (in, out, kernel, stride, spatial?) of the three convolutions, in order
        if c.block == "bottleneck":
            convs = [(in_channels, width, 1, 1, False), (width, width, c.kernel, stride, True), (width, wide, 1, 1, False)]
        elif c.depthwise_first:
            convs = [(in_channels, in_channels, c.kernel, stride, True), (in_channels, wide, 1, 1, False),
                     (wide, width, 1, 1, False)]
        else:
            convs = [(in_channels, wide, 1, 1, False), (wide, wide, c.kernel, stride, True), (wide, width, 1, 1, False)]
        layers: list[nn.Module] = []
        for i, (cin, cout, k, s, spatial) in enumerate(convs):
            normed = i == 0 if c.fewer_norms else True
            groups = cin if spatial and c.depthwise else 1
            bias = not (normed and c.norm == "batch")
            layers.append(nn.Conv2d(cin, cout, k, stride=s, padding=k // 2, groups=groups, bias=bias))
            if normed:
                layers.append(_norm(c.norm, cout))
            if (i == 1) if c.fewer_activations else (i < 2):
                layers.append(_act(c.activation))
        self.branch = nn.Sequential(*layers)
        self.layer_scale = nn.Parameter(torch.full((self.out_channels, 1, 1), 1e-6)) if c.separate_downsampling else None
        self.shortcut = None
        if stride != 1 or in_channels != self.out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, self.out_channels, 1, stride=stride,
                                                    bias=c.norm != "batch"), _norm(c.norm, self.out_channels))
        self.final_act = None if c.fewer_activations else _act(c.activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.layer_scale is not None:
            out = out * self.layer_scale
        out = out + (x if self.shortcut is None else self.shortcut(x))
        return out if self.final_act is None else self.final_act(out)


class ModernizedResNet(nn.Module):
    """Stem, four stages of :class:`ModernizedBlock`, global average pooling and a linear classifier.

    Args:
        config: the step (:class:`ModernizeConfig`).
        num_classes: number of output logits.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``; the stages see 56, 28, 14 and 7 px.
    """

    def __init__(self, config: ModernizeConfig = ModernizeConfig(), *, num_classes: int = 1000) -> None:
        super().__init__()
        if not isinstance(config, ModernizeConfig):
            raise TypeError(f"ModernizedResNet: config must be a ModernizeConfig, got {type(config).__name__}.")
        check_positive_int("ModernizedResNet", "num_classes", num_classes)
        c = config
        stem_channels = 64 if c.block == "bottleneck" and c.stem == "resnet" else c.width
        if c.stem == "resnet":
            stem = [nn.Conv2d(3, stem_channels, 7, stride=2, padding=3, bias=False), _norm(c.norm, stem_channels),
                    _act(c.activation), nn.MaxPool2d(3, stride=2, padding=1)]
        else:
            stem = [nn.Conv2d(3, stem_channels, 4, stride=4, bias=c.norm != "batch"), _norm(c.norm, stem_channels)]
        layers: list[nn.Module] = [nn.Sequential(*stem)]
        channels = stem_channels
        for i, depth in enumerate(c.depths):
            width = c.width * 2 ** i
            if c.separate_downsampling and i > 0:
                layers.append(nn.Sequential(_norm(c.norm, channels), nn.Conv2d(channels, width, 2, stride=2)))
                channels = width
            blocks = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 and not c.separate_downsampling else 1
                blocks.append(ModernizedBlock(channels, width, stride, c))
                channels = blocks[-1].out_channels
            layers.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(*layers)
        head = [_norm(c.norm, channels)] if c.separate_downsampling else []
        self.head = nn.Sequential(*head, nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(channels, num_classes))
        self.input_size = (3, 224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass(frozen=True)
class ConvNeXtStep:
    """A row of the paper's Figure 2: the change, the resulting network, and what the paper reports.

    Attributes:
        name: the change made in this step.
        config: the network after it.
        paper_gflops: the cost the paper prints (it calls multiply-adds FLOPs).
        paper_top1: the ImageNet-1k top-1 accuracy (%) the paper reports after the step.
    """

    name: str
    config: ModernizeConfig
    paper_gflops: float
    paper_top1: float


def _steps() -> tuple[ConvNeXtStep, ...]:
    # (change, the fields it sets, paper GFLOPs, paper top-1): Liu et al. (2022), Figure 2 and section 2.
    changes = (
        ("ResNet-50", {}, 4.1, 76.1),
        ("training recipe", {}, 4.1, 78.8),
        ("stage ratio 3:3:9:3", {"depths": (3, 3, 9, 3)}, 4.5, 79.4),
        ("patchify stem 4x4, stride 4", {"stem": "patchify"}, 4.4, 79.5),
        ("depthwise convolution, width 96", {"depthwise": True, "width": 96}, 5.3, 80.5),
        ("inverted bottleneck", {"block": "inverted"}, 4.6, 80.6),
        ("depthwise layer moved up", {"depthwise_first": True}, 4.1, 79.9),
        ("kernel 7x7", {"kernel": 7}, 4.2, 80.6),
        ("ReLU -> GELU", {"activation": "gelu"}, 4.2, 80.6),
        ("fewer activations", {"fewer_activations": True}, 4.2, 81.3),
        ("fewer norms", {"fewer_norms": True}, 4.2, 81.4),
        ("BatchNorm -> LayerNorm", {"norm": "layer"}, 4.2, 81.5),
        ("separate downsampling layers", {"separate_downsampling": True}, 4.5, 82.0),
    )
    config, steps = ModernizeConfig(), []
    for name, fields, gflops, top1 in changes:
        config = dataclasses.replace(config, **fields)
        steps.append(ConvNeXtStep(name, config, gflops, top1))
    return tuple(steps)


#: The steps from ResNet-50 to ConvNeXt-T in the paper's order; each config adds one change.
CONVNEXT_STEPS = _steps()
