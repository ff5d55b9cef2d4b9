"""GoogLeNet (Szegedy et al., 2015): a stem, nine inception modules, a pooled head.

An inception module applies 1x1, 3x3 and 5x5 convolutions and a 3x3 max pool
to the same input and concatenates the results along the channels. Done
naively, every branch reads all input channels and the pool passes them all
through, so the width (and the cost of the next module) grows with depth.
The bottleneck module puts 1x1 convolutions ("reductions") before the 3x3
and 5x5 branches and after the pool, which keeps the cost down: see
:class:`InceptionNaive` and :class:`Inception`.

Stem: 7x7/2 conv, pool, 1x1 and 3x3 convs, pool (224 -> 28). Body: modules
3a-3b, pool, 4a-4e, pool, 5a-5b. Head: global average pool, dropout, one
linear layer: no large fully connected layers, hence 6.6M parameters against
AlexNet's 61M. Two auxiliary classifiers (after 4a and 4d) add gradient signal
during training only; ``aux_logits=True`` builds them.

torchvision's GoogLeNet (and so ``googlenet()``) uses a 3x3 convolution in the
"5x5" branch, a known slip kept for its weights; ``five_by_five=True`` builds
the paper's 5x5. Every convolution is followed by batch normalisation
(torchvision's ``BasicConv2d``), which the 2014 network did not have.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from cnnlib.models._checks import check_choice, check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["BasicConv2d", "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "InceptionNaive",
           "googlenet"]

#: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) of each module, the paper's Table 1.
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class BasicConv2d(nn.Module):
    """Convolution (no bias), batch normalisation, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class InceptionNaive(nn.Module):
    """The naive inception module: 1x1, 3x3, 5x5 convolutions and a 3x3 max pool, concatenated.

    Shape:
        ``(N, C, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + C, H, W)``: the pool
        passes all ``C`` input channels through.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = BasicConv2d(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch3 = BasicConv2d(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True)
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class Inception(nn.Module):
    """The inception module with 1x1 bottlenecks (the one GoogLeNet uses).

    Branches: 1x1; 1x1 to ``ch3x3red`` then 3x3; 1x1 to ``ch5x5red`` then
    ``kernel_5x5`` (5 in the paper, 3 in torchvision); 3x3 max pool then 1x1 to ``pool_proj``.

    Shape:
        ``(N, C, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, *, kernel_5x5: int = 3) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=kernel_5x5, padding=kernel_5x5 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: pool to 4 x 4, 1x1 conv to 128, fc 1024, dropout, fc to the classes."""

    def __init__(self, in_channels: int, num_classes: int, *, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(nn.functional.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))


class GoogLeNetOutputs(NamedTuple):
    """What a GoogLeNet with auxiliary classifiers returns in training mode."""

    logits: torch.Tensor
    aux_logits2: torch.Tensor
    aux_logits1: torch.Tensor


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1).

    Args:
        num_classes: number of output logits.
        aux_logits: build the two auxiliary classifiers; in training mode the
            forward pass then returns :class:`GoogLeNetOutputs`, in eval mode the logits.
        inception: ``"bottleneck"`` (the paper's modules) or ``"naive"`` (no
            1x1 reductions; the same table's ``ch1x1, ch3x3, ch5x5``).
        five_by_five: use 5x5 kernels in the 5x5 branch (the paper) instead of torchvision's 3x3.
        dropout: dropout before the last linear layer.
        transform_input: re-normalise ImageNet-normalised input to the ``(x - 0.5) / 0.5``
            scaling that torchvision's ImageNet weights (ported from TensorFlow) expect.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, *, num_classes: int = 1000, aux_logits: bool = False, inception: str = "bottleneck",
                 five_by_five: bool = False, dropout: float = 0.2, dropout_aux: float = 0.7,
                 transform_input: bool = False) -> None:
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        channels = 192
        for name, (c1, c3r, c3, c5r, c5, pp) in INCEPTION_TABLE.items():
            if inception == "naive":
                module = InceptionNaive(channels, c1, c3, c5)
            else:
                module = Inception(channels, c1, c3r, c3, c5r, c5, pp, kernel_5x5=5 if five_by_five else 3)
            setattr(self, f"inception{name}", module)
            if name == "4a":
                aux1_channels = module.out_channels
            if name == "4d":
                aux2_channels = module.out_channels
            channels = module.out_channels
            if name == "3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            if name == "4e":
                self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        if aux_logits:
            self.aux1 = InceptionAux(aux1_channels, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(aux2_channels, num_classes, dropout=dropout_aux)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes)
        self.input_size = (3, 224, 224)

    def forward(self, x: torch.Tensor):
        if self.transform_input:
            mean = x.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
            std = x.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
            x = (x * std + mean - 0.5) / 0.5
        x = self.maxpool1(self.conv1(x))                            # 64 x 56 x 56
        x = self.maxpool2(self.conv3(self.conv2(x)))                # 192 x 28 x 28
        x = self.maxpool3(self.inception3b(self.inception3a(x)))    # 480 x 14 x 14
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux_logits and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux_logits and self.training else None
        x = self.maxpool4(self.inception4e(x))                      # 832 x 7 x 7
        x = self.inception5b(self.inception5a(x))                   # 1024 x 7 x 7
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if aux1 is not None:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model()
def googlenet(*, num_classes: int = 1000, aux_logits: bool = False, inception: str = "bottleneck",
              five_by_five: bool = False, dropout: float = 0.2, transform_input: bool = False) -> GoogLeNet:
    """GoogLeNet (2014): inception modules with 1x1 bottlenecks, 6.6M parameters (torchvision's layout)."""
    check_positive_int("googlenet", "num_classes", num_classes)
    check_choice("googlenet", "inception", inception, ("bottleneck", "naive"))
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, inception=inception,
                     five_by_five=five_by_five, dropout=check_fraction("googlenet", "dropout", dropout),
                     transform_input=transform_input)
