"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012): five convolutions, three linear layers.

Two versions, both registered:

``alexnet_2012``, the paper's network as the lectures count it: 227 x 227
input, 96/256/384/384/256 filters, local response normalisation after the
first two convolutions, 62,378,344 parameters when every convolution sees all
channels of the layer before. The paper trained on two GPUs, so conv2, conv4
and conv5 saw only the half of the channels on their own GPU; ``groups=2``
builds that network (60,965,224 parameters: those three layers halve).

======  ==============  ==========  ============
layer   output          groups=1    groups=2
======  ==============  ==========  ============
conv1   96 x 55 x 55    34,944      34,944
conv2   256 x 27 x 27   614,656     307,456
conv3   384 x 13 x 13   885,120     885,120
conv4   384 x 13 x 13   1,327,488   663,936
conv5   256 x 13 x 13   884,992     442,624
fc6     4096            37,752,832  37,752,832
fc7     4096            16,781,312  16,781,312
fc8     1000            4,097,000   4,097,000
======  ==============  ==========  ============

``alexnet``, torchvision's: the "one weird trick" variant (Krizhevsky, 2014)
with 64/192/384/256/256 filters, no normalisation, padding 2 in conv1 (so
224 x 224 input works) and an adaptive pooling to 6 x 6 before the classifier:
61,100,840 parameters, and torchvision's ImageNet weights load into it.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_choice, check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["AlexNet", "alexnet", "alexnet_2012"]


def _classifier(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(in_features, 4096), nn.ReLU(inplace=True),
        nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


class AlexNet(nn.Module):
    """AlexNet: ``features`` (convolutions and pools), ``avgpool``, ``classifier`` (three linear layers).

    Args:
        widths: filters of the five convolutions.
        num_classes: number of output logits.
        dropout: dropout probability before fc6 and fc7.
        original: the 2012 layout (no padding in conv1, 227 px input, local
            response normalisation, no adaptive pooling) instead of torchvision's.
        groups: 2 splits conv2, conv4 and conv5 in two halves, as on the two GPUs.

    Shape:
        ``(N, 3, 227, 227)`` (original) or ``(N, 3, 224, 224)`` -> ``(N, num_classes)``.
    """

    def __init__(self, *, widths=(64, 192, 384, 256, 256), num_classes: int = 1000, dropout: float = 0.5,
                 original: bool = False, groups: int = 1) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        pad1 = 0 if original else 2
        lrn = (lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)) if original else None
        layers = [nn.Conv2d(3, c1, 11, stride=4, padding=pad1), nn.ReLU(inplace=True)]
        layers += [lrn()] if lrn else []
        layers += [nn.MaxPool2d(3, 2), nn.Conv2d(c1, c2, 5, padding=2, groups=groups), nn.ReLU(inplace=True)]
        layers += [lrn()] if lrn else []
        layers += [nn.MaxPool2d(3, 2),
                   nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
                   nn.Conv2d(c3, c4, 3, padding=1, groups=groups), nn.ReLU(inplace=True),
                   nn.Conv2d(c4, c5, 3, padding=1, groups=groups), nn.ReLU(inplace=True),
                   nn.MaxPool2d(3, 2)]
        self.features = nn.Sequential(*layers)
        # the 2012 network reads exactly 227 px, so its maps are 6 x 6 already
        self.avgpool = nn.Identity() if original else nn.AdaptiveAvgPool2d(6)
        self.classifier = _classifier(c5 * 6 * 6, num_classes, dropout)
        self.input_size = (3, 227, 227) if original else (3, 224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@register_model()
def alexnet(*, num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet as in torchvision (64/192/384/256/256 filters, 224 px): 61,100,840 parameters."""
    check_positive_int("alexnet", "num_classes", num_classes)
    return AlexNet(num_classes=num_classes, dropout=check_fraction("alexnet", "dropout", dropout))


@register_model()
def alexnet_2012(*, num_classes: int = 1000, dropout: float = 0.5, groups: int = 1) -> AlexNet:
    """AlexNet as published in 2012 (96/256/384/384/256 filters, 227 px): 62,378,344 parameters.

    ``groups=2`` gives the two-GPU split of conv2, conv4 and conv5 (60,965,224 parameters).
    """
    check_positive_int("alexnet_2012", "num_classes", num_classes)
    check_choice("alexnet_2012", "groups", groups, (1, 2))
    return AlexNet(widths=(96, 256, 384, 384, 256), num_classes=num_classes, original=True, groups=groups,
                   dropout=check_fraction("alexnet_2012", "dropout", dropout))
