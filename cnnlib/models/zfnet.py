"""ZFNet (Zeiler and Fergus, 2013): AlexNet with a finer first layer.

Changes from AlexNet, as the lectures list them: conv1 is 7 x 7 with stride 2
(instead of 11 x 11, stride 4), so the first maps keep more detail; conv3,
conv4 and conv5 have 512, 1024 and 512 filters (instead of 384, 384, 256).
Input 224 x 224; the maps are 110, 55, 26, 13 and 6 pixels wide.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_fraction, check_positive_int, check_positive_ints
from cnnlib.models.registry import register_model

__all__ = ["ZFNet", "zfnet"]


class ZFNet(nn.Module):
    """ZFNet: ``features`` (five convolutions, three pools), ``classifier`` (three linear layers).

    Args:
        widths: filters of conv1..conv5; ``(96, 256, 384, 384, 256)`` gives the
            paper's first model, the default the larger one the lectures quote.
        num_classes: number of output logits.
        dropout: dropout probability before fc6 and fc7.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, *, widths=(96, 256, 512, 1024, 512), num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = widths

        def lrn():
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 7, stride=2, padding=1), nn.ReLU(inplace=True), lrn(),       # 110 x 110
            nn.MaxPool2d(3, 2, padding=1),                                                # 55 x 55
            nn.Conv2d(c1, c2, 5, stride=2), nn.ReLU(inplace=True), lrn(),                 # 26 x 26
            nn.MaxPool2d(3, 2, padding=1),                                                # 13 x 13
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),                                                           # 6 x 6
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        self.input_size = (3, 224, 224)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@register_model()
def zfnet(*, num_classes: int = 1000, widths=(96, 256, 512, 1024, 512), dropout: float = 0.5) -> ZFNet:
    """ZFNet (2013): AlexNet with a 7x7 stride-2 conv1 and 512/1024/512 filters in conv3-5."""
    check_positive_int("zfnet", "num_classes", num_classes)
    widths = check_positive_ints("zfnet", "widths", widths)
    if len(widths) != 5:
        raise ValueError(f"zfnet(widths={widths!r}): give the filters of the five convolutions.")
    return ZFNet(widths=widths, num_classes=num_classes, dropout=check_fraction("zfnet", "dropout", dropout))
