"""MobileNet V2 (Sandler et al., 2018): inverted residual blocks with linear bottlenecks.

An inverted residual block expands its thin input ``t`` times with a 1x1
convolution, filters the wide tensor with a 3x3 depthwise convolution (both
with ReLU6), and projects back to a thin output with a 1x1 convolution and
*no* activation (a ReLU on few channels would destroy information). The
shortcut joins the thin ends, when the shape allows. 3,504,872 parameters
and about 300M multiply-adds at 224 px.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._blocks import ConvNormAct, make_divisible
from cnnlib.models._checks import check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["MOBILENET_V2_SETTING", "InvertedResidual", "MobileNetV2", "mobilenet_v2"]

#: (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
MOBILENET_V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class InvertedResidual(nn.Module):
    """1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear projection, plus the identity when shapes match.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [ConvNormAct(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
                   nn.Conv2d(hidden, out_channels, 1, bias=False),
                   nn.BatchNorm2d(out_channels)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet V2: ``features`` (stem, 17 inverted residuals, 1x1 conv to 1280), pool, ``classifier``.

    Args:
        num_classes: number of output logits.
        width_mult: scales every layer's channels (rounded to multiples of 8).
        dropout: dropout before the linear layer.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, *, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        channels = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [ConvNormAct(3, channels, 3, 2, activation=nn.ReLU6)]
        for t, c, n, s in MOBILENET_V2_SETTING:
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(ConvNormAct(channels, last, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))
        self.input_size = (3, 224, 224)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


@register_model()
def mobilenet_v2(*, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> MobileNetV2:
    """MobileNet V2 (2018): inverted residuals with linear bottlenecks, 3.5M parameters."""
    check_positive_int("mobilenet_v2", "num_classes", num_classes)
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not 0 < width_mult <= 4:
        raise ValueError(f"mobilenet_v2(width_mult={width_mult!r}): width_mult must be a number in (0, 4].")
    return MobileNetV2(num_classes=num_classes, width_mult=float(width_mult),
                       dropout=check_fraction("mobilenet_v2", "dropout", dropout))
