"""MobileNet V3 (Howard et al., 2019): V2's blocks with squeeze-and-excitation and hard-swish.

The block layout was found by architecture search: inverted residuals with
3x3 or 5x5 depthwise convolutions, squeeze-and-excitation in some blocks
(gated by a hard sigmoid), and ``hardswish(x) = x * relu6(x + 3) / 6`` in the
deeper half instead of ReLU. The head pools before its last 1x1 layer (a
linear layer on 960 features), which saves multiply-adds. Large: 5,483,032
parameters, about 220M multiply-adds; small: 2,542,856, about 60M.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cnnlib.models._blocks import ConvNormAct, SqueezeExcitation, make_divisible
from cnnlib.models._checks import check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["MOBILENET_V3_LARGE", "MOBILENET_V3_SMALL", "InvertedResidualV3", "MobileNetV3",
           "mobilenet_v3_large", "mobilenet_v3_small"]

#: (in, kernel, expanded, out, squeeze-excite, hard-swish, stride) per block, the paper's Tables 1 and 2.
MOBILENET_V3_LARGE = (
    (16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2), (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2), (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1), (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1), (160, 5, 960, 160, True, True, 1),
)
MOBILENET_V3_SMALL = (
    (16, 3, 16, 16, True, False, 2), (16, 3, 72, 24, False, False, 2), (24, 3, 88, 24, False, False, 1),
    (24, 5, 96, 40, True, True, 2), (40, 5, 240, 40, True, True, 1), (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1), (48, 5, 144, 48, True, True, 1), (48, 5, 288, 96, True, True, 2),
    (96, 5, 576, 96, True, True, 1), (96, 5, 576, 96, True, True, 1),
)

_norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class InvertedResidualV3(nn.Module):
    """1x1 expand, depthwise ``kernel``, optional squeeze-and-excitation, 1x1 linear projection.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels: int, kernel: int, expanded: int, out_channels: int, use_se: bool,
                 use_hs: bool, stride: int) -> None:
        super().__init__()
        act = nn.Hardswish if use_hs else nn.ReLU
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvNormAct(in_channels, expanded, 1, norm=_norm, activation=act))
        layers.append(ConvNormAct(expanded, expanded, kernel, stride, groups=expanded, norm=_norm, activation=act))
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4), gate=nn.Hardsigmoid))
        layers.append(ConvNormAct(expanded, out_channels, 1, norm=_norm, activation=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_res_connect else self.block(x)


class MobileNetV3(nn.Module):
    """MobileNet V3: ``features`` (stem, blocks, 1x1 conv to 6x), pool, ``classifier`` (two linear layers).

    Args:
        setting: :data:`MOBILENET_V3_LARGE` or :data:`MOBILENET_V3_SMALL`.
        last_channel: width of the hidden linear layer (1280 large, 1024 small).
        num_classes: number of output logits.
        dropout: dropout before the last linear layer.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, setting, last_channel: int, *, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(3, setting[0][0], 3, 2, norm=_norm, activation=nn.Hardswish)]
        layers += [InvertedResidualV3(*row) for row in setting]
        last_conv = 6 * setting[-1][3]
        layers.append(ConvNormAct(setting[-1][3], last_conv, 1, norm=_norm, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(last_conv, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(dropout, inplace=True), nn.Linear(last_channel, num_classes))
        self.input_size = (3, 224, 224)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@register_model()
def mobilenet_v3_large(*, num_classes: int = 1000, dropout: float = 0.2) -> MobileNetV3:
    """MobileNet V3 large (2019): searched blocks with SE and hard-swish, 5.5M parameters."""
    check_positive_int("mobilenet_v3_large", "num_classes", num_classes)
    return MobileNetV3(MOBILENET_V3_LARGE, 1280, num_classes=num_classes,
                       dropout=check_fraction("mobilenet_v3_large", "dropout", dropout))


@register_model()
def mobilenet_v3_small(*, num_classes: int = 1000, dropout: float = 0.2) -> MobileNetV3:
    """MobileNet V3 small (2019): 11 searched blocks, 2.5M parameters."""
    check_positive_int("mobilenet_v3_small", "num_classes", num_classes)
    return MobileNetV3(MOBILENET_V3_SMALL, 1024, num_classes=num_classes,
                       dropout=check_fraction("mobilenet_v3_small", "dropout", dropout))
