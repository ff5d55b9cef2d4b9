"""MobileNet V1 (Howard et al., 2017): a VGG-like stack of depthwise separable convolutions.

A depthwise separable convolution splits a ``k x k`` convolution from
``C_in`` to ``C_out`` channels into a depthwise ``k x k`` convolution (one
filter per channel, ``groups=C_in``) and a pointwise 1x1 convolution that
mixes the channels: ``k^2 C_in + C_in C_out`` weights instead of
``k^2 C_in C_out``, 8-9 times fewer for 3x3 kernels. Each is followed by
batch norm and ReLU. The body, Table 1 of the paper (as in the lectures):

=============================  ============  ==============
layer                          stride        output
=============================  ============  ==============
conv 3x3, 32                   2             112 x 112 x 32
dw + pw 64                     1             112 x 112 x 64
dw + pw 128                    2             56 x 56 x 128
dw + pw 128                    1             56 x 56 x 128
dw + pw 256                    2             28 x 28 x 256
dw + pw 256                    1             28 x 28 x 256
dw + pw 512                    2             14 x 14 x 512
5 x (dw + pw 512)              1             14 x 14 x 512
dw + pw 1024                   2             7 x 7 x 1024
dw + pw 1024                   1             7 x 7 x 1024
avg pool 7x7, fc 1000                        1000
=============================  ============  ==============

The table prints stride 2 for the last depthwise layer, but its input and
output are both 7 x 7: the stride is 1 (as in every released model).
4,231,976 parameters and about 569M multiply-adds at 224 px, the paper's 4.2M and 569M.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._blocks import ConvNormAct, make_divisible
from cnnlib.models._checks import check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["MOBILENET_V1_BODY", "DepthwiseSeparable", "MobileNetV1", "mobilenet_v1"]

#: (output channels, stride) of each depthwise separable layer.
MOBILENET_V1_BODY = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                     (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3x3 conv + BN + ReLU, then pointwise 1x1 conv + BN + ReLU.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = ConvNormAct(in_channels, out_channels, 1)


class MobileNetV1(nn.Module):
    """MobileNet V1: ``features`` (stem and 13 separable layers), global average pool, ``classifier``.

    Args:
        num_classes: number of output logits.
        width_mult: the paper's width multiplier alpha (0.25 to 1.0) scaling every layer's channels.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, *, num_classes: int = 1000, width_mult: float = 1.0) -> None:
        super().__init__()
        channels = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvNormAct(3, channels, 3, 2)]
        for out, stride in MOBILENET_V1_BODY:
            out = make_divisible(out * width_mult)
            layers.append(DepthwiseSeparable(channels, out, stride))
            channels = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        self.input_size = (3, 224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@register_model()
def mobilenet_v1(*, num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV1:
    """MobileNet V1 (2017): 13 depthwise separable layers, 4.2M parameters, 569M multiply-adds."""
    check_positive_int("mobilenet_v1", "num_classes", num_classes)
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not 0 < width_mult <= 4:
        raise ValueError(f"mobilenet_v1(width_mult={width_mult!r}): width_mult must be a number in (0, 4], "
                         "e.g. 0.25, 0.5, 0.75 or 1.0 as in the paper.")
    return MobileNetV1(num_classes=num_classes, width_mult=float(width_mult))
