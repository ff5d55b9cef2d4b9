"""EfficientNet (Tan and Le, 2019): one baseline, scaled in depth, width and resolution together.

EfficientNet-B0 was found by architecture search: MobileNet V2's inverted
residual blocks ("MBConv") with squeeze-and-excitation and SiLU ("swish"),
7 stages, 5,288,548 parameters, about 0.39G multiply-adds at 224 px.

Compound scaling: instead of making a network only deeper, only wider or
only fed larger images, scale all three with one coefficient ``phi``::

    depth = alpha ** phi,  width = beta ** phi,  resolution = gamma ** phi
    with alpha = 1.2, beta = 1.1, gamma = 1.15 and alpha * beta**2 * gamma**2 ~ 2

so each step of ``phi`` about doubles the multiply-adds (they grow with
depth, width squared and resolution squared). :func:`compound_scaling`
computes the rule; :data:`EFFICIENTNET_VARIANTS` holds the rounded values of
the released B0-B7 (the paper tuned them by hand), which
``efficientnet(variant="b3")`` builds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from cnnlib.models._blocks import ConvNormAct, SqueezeExcitation, StochasticDepth, make_divisible
from cnnlib.models._checks import check_choice, check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["EFFICIENTNET_B0_STAGES", "EFFICIENTNET_VARIANTS", "EfficientNet", "EfficientNetScale", "MBConv",
           "compound_scaling", "efficientnet", "efficientnet_b0"]

#: (expand ratio, kernel, stride, in, out, layers) of B0's seven stages, the paper's Table 1.
EFFICIENTNET_B0_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                          (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))


@dataclass(frozen=True)
class EfficientNetScale:
    """Multipliers of one scaled EfficientNet: depth (layers), width (channels), input resolution (px)."""

    depth_mult: float
    width_mult: float
    resolution: int
    dropout: float = 0.2


#: The released B0-B7 (torchvision's and the paper's values).
EFFICIENTNET_VARIANTS = {
    "b0": EfficientNetScale(1.0, 1.0, 224, 0.2), "b1": EfficientNetScale(1.1, 1.0, 240, 0.2),
    "b2": EfficientNetScale(1.2, 1.1, 260, 0.3), "b3": EfficientNetScale(1.4, 1.2, 300, 0.3),
    "b4": EfficientNetScale(1.8, 1.4, 380, 0.4), "b5": EfficientNetScale(2.2, 1.6, 456, 0.4),
    "b6": EfficientNetScale(2.6, 1.8, 528, 0.5), "b7": EfficientNetScale(3.1, 2.0, 600, 0.5),
}


def compound_scaling(phi: float, *, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15,
                     base_resolution: int = 224) -> EfficientNetScale:
    """The compound scaling rule: depth ``alpha**phi``, width ``beta**phi``, resolution ``gamma**phi``.

    Args:
        phi: the compound coefficient (0 gives B0; about 1..7 the larger models).
        alpha, beta, gamma: the paper's grid-searched constants.
        base_resolution: B0's input side.

    Returns:
        an :class:`EfficientNetScale` (resolution rounded to a whole pixel).
    """
    if isinstance(phi, bool) or not isinstance(phi, (int, float)) or phi < 0:
        raise ValueError(f"compound_scaling(phi={phi!r}): phi must be a number >= 0 (0 is B0).")
    return EfficientNetScale(alpha ** phi, beta ** phi, round(base_resolution * gamma ** phi))


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise ``kernel``, squeeze-excite, 1x1 linear projection.

    SiLU activations; the squeeze-excite hidden width is a quarter of the block's input channels.
    The identity is added (after stochastic depth) when the shape does not change.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, expand_ratio: int, kernel: int, stride: int,
                 stochastic_depth_prob: float, norm=nn.BatchNorm2d) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvNormAct(in_channels, expanded, 1, norm=norm, activation=nn.SiLU))
        layers += [ConvNormAct(expanded, expanded, kernel, stride, groups=expanded, norm=norm, activation=nn.SiLU),
                   SqueezeExcitation(expanded, max(1, in_channels // 4), activation=partial(nn.SiLU, inplace=True)),
                   ConvNormAct(expanded, out_channels, 1, norm=norm, activation=None)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out


class EfficientNet(nn.Module):
    """EfficientNet: ``features`` (stem, 7 stages of MBConv, 1x1 conv to 4x), pool, ``classifier``.

    Args:
        scale: depth and width multipliers (and the intended resolution) applied to B0's stages.
        num_classes: number of output logits.
        stochastic_depth_prob: drop probability of the last block's branch (earlier blocks less).

    Shape:
        ``(N, 3, R, R) -> (N, num_classes)`` with ``R = scale.resolution`` (any size works).
    """

    def __init__(self, scale: EfficientNetScale = EFFICIENTNET_VARIANTS["b0"], *, num_classes: int = 1000,
                 stochastic_depth_prob: float = 0.2) -> None:
        super().__init__()
        # torchvision's B5-B7 use TensorFlow's batch-norm constants; keep them so its weights load the same
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) if scale.width_mult >= 1.6 else nn.BatchNorm2d

        def width(c):
            return make_divisible(c * scale.width_mult)

        stages = [(t, k, s, width(i), width(o), int(math.ceil(n * scale.depth_mult)))
                  for t, k, s, i, o, n in EFFICIENTNET_B0_STAGES]
        total, block_id = sum(row[-1] for row in stages), 0
        layers: list[nn.Module] = [ConvNormAct(3, stages[0][3], 3, 2, norm=norm, activation=nn.SiLU)]
        for t, k, s, c_in, c_out, n in stages:
            blocks = []
            for i in range(n):
                p = stochastic_depth_prob * block_id / total
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, expand_ratio=t, kernel=k,
                                     stride=s if i == 0 else 1, stochastic_depth_prob=p, norm=norm))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
        last = 4 * stages[-1][4]
        layers.append(ConvNormAct(stages[-1][4], last, 1, norm=norm, activation=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(scale.dropout, inplace=True), nn.Linear(last, num_classes))
        self.input_size = (3, scale.resolution, scale.resolution)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@register_model()
def efficientnet_b0(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.2) -> EfficientNet:
    """EfficientNet-B0 (2019): MBConv blocks with squeeze-excite and SiLU, 5.3M parameters, 224 px."""
    return efficientnet(variant="b0", num_classes=num_classes, stochastic_depth_prob=stochastic_depth_prob)


@register_model()
def efficientnet(*, variant: str = "b0", num_classes: int = 1000, stochastic_depth_prob: float = 0.2) -> EfficientNet:
    """EfficientNet-B0..B7: B0 scaled by the released compound-scaling multipliers."""
    check_choice("efficientnet", "variant", variant, tuple(EFFICIENTNET_VARIANTS))
    check_positive_int("efficientnet", "num_classes", num_classes)
    check_fraction("efficientnet", "stochastic_depth_prob", stochastic_depth_prob)
    return EfficientNet(EFFICIENTNET_VARIANTS[variant], num_classes=num_classes,
                        stochastic_depth_prob=stochastic_depth_prob)
