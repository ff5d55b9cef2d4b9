"""Small ResNets for 32 x 32 images (He et al., 2016, section 4.2) and their plain twins.

Three stages of ``n`` blocks of two 3x3 convolutions (16, 32 and 64 channels
on 32, 16 and 8 px maps), a 3x3 stem and a linear layer after global average
pooling: ``6n + 2`` weight layers, so n = 3, 5, 9 give ResNet-20, -32, -56.

The plain twins are the same stacks without shortcuts. The paper's
degradation experiment trains both: the deeper plain network reaches a
*higher training* error than the shallower one, which overfitting cannot
explain; with shortcuts, depth helps. When a block halves the map and doubles
the channels, the shortcut is the paper's option A: subsample by 2 and pad the
new channels with zeros (no parameters), so a ResNet and its plain twin have
exactly the same parameters. ``shortcut="B"`` uses 1x1 projections instead.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_choice, check_positive_int, check_positive_ints
from cnnlib.models.registry import register_model

__all__ = ["CifarBlock", "CifarResNet", "cifar_plain20", "cifar_plain32", "cifar_plain56",
           "cifar_resnet20", "cifar_resnet32", "cifar_resnet56"]


class CifarBlock(nn.Module):
    """Two 3x3 conv + BN layers with ReLUs, and a shortcut of the chosen kind.

    Args:
        in_channels, out_channels: channels in and out.
        stride: 2 halves the map (first block of stages 2 and 3).
        shortcut: ``"A"`` (identity, zero-padded), ``"B"`` (1x1 projection when
            the shape changes) or ``None`` (a plain block: no shortcut at all).

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, shortcut: str | None = "A") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut
        self.stride, self.extra_channels = stride, out_channels - in_channels
        reshapes = stride != 1 or in_channels != out_channels
        self.downsample = None
        if shortcut == "B" and reshapes:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out_channels))

    def _identity(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            return self.downsample(x)
        x = x[:, :, ::self.stride, ::self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra_channels))  # zeros for the new channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self._identity(x)
        return torch.relu(out)


class CifarResNet(nn.Module):
    """``6n + 2``-layer network for small images, with or without shortcuts.

    Args:
        n: blocks per stage (3 -> 20 layers, 5 -> 32, 9 -> 56).
        shortcut: ``"A"``, ``"B"`` or ``None`` (the plain twin); see :class:`CifarBlock`.
        in_channels: image channels (3 for CIFAR, 1 for Fashion-MNIST).
        num_classes: number of output logits.
        input_size: side of the square input (32 for CIFAR, 28 for Fashion-MNIST;
            any size works, the head pools globally).
        widths: channels of the three stages (the stem has the first); the
            paper's ``(16, 32, 64)``, or narrower for quick experiments.

    Shape:
        ``(N, in_channels, input_size, input_size) -> (N, num_classes)``.
    """

    def __init__(self, *, n: int = 3, shortcut: str | None = "A", in_channels: int = 3, num_classes: int = 10,
                 input_size: int = 32, widths: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        channels = widths[0]
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        for i, width in enumerate(widths, start=1):
            blocks = []
            for j in range(n):
                blocks.append(CifarBlock(channels, width, 2 if i > 1 and j == 0 else 1, shortcut=shortcut))
                channels = width
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.fc = nn.Linear(widths[-1], num_classes)
        self.input_size = (in_channels, input_size, input_size)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


def _cifar(name: str, n: int, shortcut, in_channels: int, num_classes: int, input_size: int,
           widths) -> CifarResNet:
    check_positive_int(name, "in_channels", in_channels)
    check_positive_int(name, "num_classes", num_classes)
    check_positive_int(name, "input_size", input_size)
    if shortcut is not None:
        check_choice(name, "shortcut", shortcut, ("A", "B"))
    widths = check_positive_ints(name, "widths", widths)
    if len(widths) != 3:
        raise ValueError(f"{name}: widths must hold 3 channel counts, one per stage, e.g. (16, 32, 64); "
                         f"got {widths!r}.")
    if list(widths) != sorted(widths):
        raise ValueError(f"{name}: widths must not shrink from stage to stage (the zero-padded shortcut "
                         f"only adds channels); got {widths!r}.")
    return CifarResNet(n=n, shortcut=shortcut, in_channels=in_channels, num_classes=num_classes,
                       input_size=input_size, widths=widths)


@register_model()
def cifar_resnet20(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
                   shortcut: str = "A", widths=(16, 32, 64)) -> CifarResNet:
    """ResNet-20 for 32 x 32 images: 3 stages of 3 residual blocks, 0.27M parameters."""
    return _cifar("cifar_resnet20", 3, shortcut, in_channels, num_classes, input_size, widths)


@register_model()
def cifar_resnet32(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
                   shortcut: str = "A", widths=(16, 32, 64)) -> CifarResNet:
    """ResNet-32 for 32 x 32 images: 3 stages of 5 residual blocks, 0.46M parameters."""
    return _cifar("cifar_resnet32", 5, shortcut, in_channels, num_classes, input_size, widths)


@register_model()
def cifar_resnet56(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
                   shortcut: str = "A", widths=(16, 32, 64)) -> CifarResNet:
    """ResNet-56 for 32 x 32 images: 3 stages of 9 residual blocks, 0.85M parameters."""
    return _cifar("cifar_resnet56", 9, shortcut, in_channels, num_classes, input_size, widths)


@register_model()
def cifar_plain20(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
                  widths=(16, 32, 64)) -> CifarResNet:
    """Plain 20-layer twin of ResNet-20 (no shortcuts), 0.27M parameters."""
    return _cifar("cifar_plain20", 3, None, in_channels, num_classes, input_size, widths)


@register_model()
def cifar_plain32(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
                  widths=(16, 32, 64)) -> CifarResNet:
    """Plain 32-layer twin of ResNet-32 (no shortcuts), 0.46M parameters."""
    return _cifar("cifar_plain32", 5, None, in_channels, num_classes, input_size, widths)


@register_model()
def cifar_plain56(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 32,
                  widths=(16, 32, 64)) -> CifarResNet:
    """Plain 56-layer twin of ResNet-56 (no shortcuts), 0.85M parameters."""
    return _cifar("cifar_plain56", 9, None, in_channels, num_classes, input_size, widths)
