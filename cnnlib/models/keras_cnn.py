"""The "vanilla" Keras CNN of the computer-vision lecture, in PyTorch.

Three blocks of a 3x3 convolution (valid padding, ``16 * (i + 1)`` filters)
with ReLU and 2x2 max pooling, then one dense layer. On 64 x 64 x 3 inputs
with 3 classes its summary is:

========================  ==============  ===========================
layer                     output shape    parameters
========================  ==============  ===========================
conv 3x3, 16 + ReLU       16 x 62 x 62    16 * (3*9 + 1)   =    448
max pool 2x2              16 x 31 x 31    0
conv 3x3, 32 + ReLU       32 x 29 x 29    32 * (16*9 + 1)  =  4,640
max pool 2x2              32 x 14 x 14    0
conv 3x3, 48 + ReLU       48 x 12 x 12    48 * (32*9 + 1)  = 13,872
max pool 2x2              48 x 6 x 6      0
flatten                   1728            0
linear                    3               1728*3 + 3       =  5,187
========================  ==============  ===========================

Total: 24,147 parameters, as in the lecture. Keras lists shapes channels-last
(``(None, 62, 62, 16)``); PyTorch puts channels first. The lecture's model
ends in a softmax; here the model returns logits and
``nn.CrossEntropyLoss`` applies the (log-)softmax.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnlib.models._checks import check_positive_int, check_positive_ints
from cnnlib.models.registry import register_model

__all__ = ["KerasCNN", "keras_cnn"]


class KerasCNN(nn.Module):
    """[Conv 3x3 -> ReLU -> MaxPool 2x2] x len(widths) -> Flatten -> Linear.

    Args:
        in_channels: channels of the input image.
        num_classes: number of output logits.
        input_size: side of the square input image.
        widths: filters per block; the lecture's loop gives ``(16, 32, 48)``.

    Shape:
        - Input: ``(N, in_channels, input_size, input_size)``
        - Output: ``(N, num_classes)`` logits.
    """

    def __init__(self, *, in_channels: int = 3, num_classes: int = 3, input_size: int = 64,
                 widths=(16, 32, 48)) -> None:
        super().__init__()
        check_positive_int("KerasCNN", "in_channels", in_channels)
        check_positive_int("KerasCNN", "num_classes", num_classes)
        check_positive_int("KerasCNN", "input_size", input_size)
        widths = check_positive_ints("KerasCNN", "widths", widths)
        self.input_size = (in_channels, input_size, input_size)
        layers: list[tuple[str, nn.Module]] = []
        channels, side = in_channels, input_size
        for i, width in enumerate(widths, start=1):
            layers += [(f"conv{i}", nn.Conv2d(channels, width, kernel_size=3)), (f"relu{i}", nn.ReLU()),
                       (f"pool{i}", nn.MaxPool2d(2))]
            channels, side = width, (side - 2) // 2
            if side < 1:
                raise ValueError(
                    f"KerasCNN(input_size={input_size}): {len(widths)} blocks of a 3x3 convolution and 2x2 "
                    "pooling leave no pixels. Use a bigger input_size or fewer widths."
                )
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("dense", nn.Linear(channels * side * side, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_model()
def keras_cnn(*, in_channels: int = 3, num_classes: int = 3, input_size: int = 64, widths=(16, 32, 48)) -> KerasCNN:
    """The lecture's vanilla Keras CNN: three conv-pool blocks and a dense layer (24,147 parameters on 64x64x3).

    See :class:`KerasCNN` for the arguments.
    """
    return KerasCNN(in_channels=in_channels, num_classes=num_classes, input_size=input_size, widths=widths)
