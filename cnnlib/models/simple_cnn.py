"""SimpleCNN: two conv blocks, a hidden linear layer and 50% dropout.

The self-designed network of the lecture notes, for 28 x 28 inputs:

======================  ==============
layer                   output shape
======================  ==============
conv 3x3, 64 + ReLU     64 x 26 x 26
max pool 2x2            64 x 13 x 13
conv 3x3, 32 + ReLU     32 x 11 x 11
max pool 2x2            32 x 5 x 5
linear + ReLU           64
dropout p = 0.5         64
linear (logits)         num_classes
======================  ==============

The notes read 3-channel images and end in one sigmoid output (binary
classification); here the channels and classes are arguments and the
network returns logits (use ``nn.CrossEntropyLoss``, or
``nn.BCEWithLogitsLoss`` with ``num_classes=1``, which applies the sigmoid
inside the loss where it is numerically safer).
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["SimpleCNN", "simple_cnn"]


class SimpleCNN(nn.Module):
    """Conv(64) -> pool -> Conv(32) -> pool -> Linear(64) -> Dropout -> Linear.

    Args:
        in_channels: channels of the input image (the lecture's photos: 3).
        num_classes: number of output logits (the lecture's binary task: 1).
        input_size: side of the square input image; at least 14.
        dropout: dropout probability between the two linear layers.

    Shape:
        - Input: ``(N, in_channels, input_size, input_size)``
        - Output: ``(N, num_classes)`` logits.
    """

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
                 dropout: float = 0.5) -> None:
        super().__init__()
        check_positive_int("SimpleCNN", "in_channels", in_channels)
        check_positive_int("SimpleCNN", "num_classes", num_classes)
        check_positive_int("SimpleCNN", "input_size", input_size)
        check_fraction("SimpleCNN", "dropout", dropout)
        side = ((input_size - 2) // 2 - 2) // 2
        if side < 1:
            raise ValueError(
                f"SimpleCNN(input_size={input_size}): two 3x3 convolutions and two 2x2 poolings need at least "
                "14x14 inputs. Upsample the images (e.g. load_digits(size=28)) or use classic_cnn."
            )
        self.input_size = (in_channels, input_size, input_size)
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(64, 32, kernel_size=3)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(32 * side * side, 64)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(64, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu(self.conv1(x)))
        x = self.pool2(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)


@register_model()
def simple_cnn(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 28,
               dropout: float = 0.5) -> SimpleCNN:
    """The lecture notes' SimpleCNN: two conv blocks, Linear(64), dropout 0.5 (71,018 parameters on digits).

    See :class:`SimpleCNN` for the arguments.
    """
    return SimpleCNN(in_channels=in_channels, num_classes=num_classes, input_size=input_size, dropout=dropout)
