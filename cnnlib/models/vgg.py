"""VGG (Simonyan and Zisserman, 2014): only 3x3 convolutions and 2x2 max pools.

Five blocks of 3x3 convolutions (stride 1, padding 1) each end in a 2x2 max
pool that halves the map: 224 -> 112 -> 56 -> 28 -> 14 -> 7. Two stacked 3x3
layers see a 5x5 window, three see 7x7, with fewer parameters (``2 * 9 C^2``
or ``3 * 9 C^2`` against ``25 C^2`` or ``49 C^2``) and more non-linearities.
The configurations of the paper's Table 1 (convolutions per block):

=======  =========  ==============  ==================
name     column     convolutions    parameters
=======  =========  ==============  ==================
vgg11    A          1, 1, 2, 2, 2   132,863,336 (133M)
vgg13    B          2, 2, 2, 2, 2   133,047,848 (133M)
vgg16    D          2, 2, 3, 3, 3   138,357,544 (138M)
vgg19    E          2, 2, 4, 4, 4   143,667,240 (144M)
=======  =========  ==============  ==================

Column C (VGG-16 with 1x1 convolutions, 134M) is not built. The ``_bn`` builders put batch
normalisation after every convolution (torchvision's variants, not in the paper).
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_choice, check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["VGG", "VGG_CONFIGS", "make_vgg_features", "vgg", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]

#: Output channels of each 3x3 convolution; "M" is a 2x2 max pool.
VGG_CONFIGS: dict[int, tuple] = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}


def make_vgg_features(config, *, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """The convolutional part of a VGG: 3x3 conv (+ BN) + ReLU for each number, max pool for "M"."""
    layers: list[nn.Module] = []
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: ``features`` (3x3 convolution blocks), ``avgpool`` to 7 x 7, ``classifier`` (three linear layers).

    Args:
        features: the convolutional part, from :func:`make_vgg_features`.
        num_classes: number of output logits.
        dropout: dropout probability after fc6 and fc7.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``; any input of at least 32 px
        works (the adaptive pool makes the last map 7 x 7).
    """

    def __init__(self, features: nn.Sequential, *, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        self.input_size = (3, 224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg(*, depth: int = 16, batch_norm: bool = False, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11, -13, -16 or -19 (``depth``), with or without batch normalisation."""
    check_choice("vgg", "depth", depth, tuple(VGG_CONFIGS))
    check_positive_int("vgg", "num_classes", num_classes)
    features = make_vgg_features(VGG_CONFIGS[depth], batch_norm=batch_norm)
    return VGG(features, num_classes=num_classes, dropout=check_fraction("vgg", "dropout", dropout))


@register_model()
def vgg11(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11: column A of the paper, 224 px."""
    return vgg(depth=11, batch_norm=False, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg11_bn(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11 with batch normalisation: column A of the paper plus BN, 224 px."""
    return vgg(depth=11, batch_norm=True, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg13(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13: column B of the paper, 224 px."""
    return vgg(depth=13, batch_norm=False, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg13_bn(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13 with batch normalisation: column B of the paper plus BN, 224 px."""
    return vgg(depth=13, batch_norm=True, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg16(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16: column D of the paper, 224 px."""
    return vgg(depth=16, batch_norm=False, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg16_bn(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch normalisation: column D of the paper plus BN, 224 px."""
    return vgg(depth=16, batch_norm=True, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg19(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19: column E of the paper, 224 px."""
    return vgg(depth=19, batch_norm=False, num_classes=num_classes, dropout=dropout)


@register_model()
def vgg19_bn(*, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19 with batch normalisation: column E of the paper plus BN, 224 px."""
    return vgg(depth=19, batch_norm=True, num_classes=num_classes, dropout=dropout)
