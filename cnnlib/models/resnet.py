"""ResNet (He et al., 2016) and ResNeXt (Xie et al., 2017): stacks of residual blocks.

A residual block computes ``relu(F(x) + shortcut(x))``: the layers learn the
change ``F(x) = H(x) - x`` to their input, and the identity path carries the
signal (and the gradient) past them. When a block changes the shape (stride 2
or more channels), the shortcut is a projection: a strided 1x1 convolution
and batch norm (the paper's option B).

=========  ===========  =============  =====================
network    block        blocks/stage   lectures' GFLOPs
=========  ===========  =============  =====================
resnet18   basic        2, 2, 2, 2     1.8
resnet34   basic        3, 4, 6, 3     3.6
resnet50   bottleneck   3, 4, 6, 3     3.8
resnet101  bottleneck   3, 4, 23, 3    7.6
resnet152  bottleneck   3, 8, 36, 3    11.3
=========  ===========  =============  =====================

The "GFLOPs" of the paper are billions of multiply-adds. torchvision's
bottleneck (ResNet "v1.5") strides its 3x3 convolution; the paper strided
the first 1x1, which sees a quarter of the positions afterwards and so costs
less: 4.09 against 3.86 GMACs for ResNet-50. ``stride_in_1x1=True`` builds the
paper's version (same parameters, same ``state_dict``).

ResNeXt widens the bottleneck's 3x3 convolution into ``groups`` parallel paths
(a grouped convolution): ``resnext50_32x4d`` has 32 paths of width 4 in its
first stage, about ResNet-50's parameters and cost with a better accuracy.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnext50_32x4d"]


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """A projection shortcut when the block changes the shape, else ``None`` (the identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (the first may stride) plus the shortcut.

    Shape:
        ``(N, in_channels, H, W) -> (N, planes, H / stride, W / stride)``.
    """

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(in_channels, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand to ``4 * planes``, plus the shortcut.

    Args:
        in_channels: input channels.
        planes: the bottleneck's nominal width; the output has ``4 * planes`` channels.
        stride: 2 to halve the map.
        groups, width_per_group: ResNeXt's cardinality and path width; the
            3x3 convolution has ``planes * width_per_group / 64 * groups`` channels.
        stride_in_1x1: put the stride on the first 1x1 (the 2016 paper)
            instead of the 3x3 (torchvision).

    Shape:
        ``(N, in_channels, H, W) -> (N, 4 * planes, H / stride, W / stride)``.
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, *, groups: int = 1,
                 width_per_group: int = 64, stride_in_1x1: bool = False) -> None:
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride=s1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=s3, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, planes * 4, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(nn.Module):
    """ResNet: 7x7/2 stem and max pool, four stages (64, 128, 256, 512 planes), average pool, fc.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)``.
        num_classes: number of output logits.
        groups, width_per_group, stride_in_1x1: passed to every bottleneck.
        zero_init_residual: start each block's last BN at zero, so every block
            begins as the identity (Goyal et al., 2017).

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``; the stages see 56, 28, 14, 7 px.
    """

    def __init__(self, block, layers, *, num_classes: int = 1000, groups: int = 1, width_per_group: int = 64,
                 stride_in_1x1: bool = False, zero_init_residual: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        options = {"groups": groups, "width_per_group": width_per_group, "stride_in_1x1": stride_in_1x1}
        options = options if block is Bottleneck else {}
        channels = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), start=1):
            blocks = []
            for j in range(n):
                stride = 2 if i > 1 and j == 0 else 1
                blocks.append(block(channels, planes, stride, **options))
                channels = planes * block.expansion
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)
        self.input_size = (3, 224, 224)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.bn3.weight if isinstance(m, Bottleneck) else m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _resnet(name, block, layers, num_classes, **kwargs) -> ResNet:
    check_positive_int(name, "num_classes", num_classes)
    return ResNet(block, layers, num_classes=num_classes, **kwargs)


@register_model()
def resnet18(*, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2), 11.7M parameters, 1.8 GMACs."""
    return _resnet("resnet18", BasicBlock, (2, 2, 2, 2), num_classes, zero_init_residual=zero_init_residual)


@register_model()
def resnet34(*, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3), 21.8M parameters, 3.6 GMACs."""
    return _resnet("resnet34", BasicBlock, (3, 4, 6, 3), num_classes, zero_init_residual=zero_init_residual)


@register_model()
def resnet50(*, num_classes: int = 1000, stride_in_1x1: bool = False, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), 25.6M parameters, 4.1 GMACs (3.9 with the paper's strides)."""
    return _resnet("resnet50", Bottleneck, (3, 4, 6, 3), num_classes, stride_in_1x1=stride_in_1x1,
                   zero_init_residual=zero_init_residual)


@register_model()
def resnet101(*, num_classes: int = 1000, stride_in_1x1: bool = False, zero_init_residual: bool = False) -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3), 44.5M parameters, 7.8 GMACs (7.6 with the paper's strides)."""
    return _resnet("resnet101", Bottleneck, (3, 4, 23, 3), num_classes, stride_in_1x1=stride_in_1x1,
                   zero_init_residual=zero_init_residual)


@register_model()
def resnet152(*, num_classes: int = 1000, stride_in_1x1: bool = False, zero_init_residual: bool = False) -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3), 60.2M parameters, 11.5 GMACs (11.3 with the paper's strides)."""
    return _resnet("resnet152", Bottleneck, (3, 8, 36, 3), num_classes, stride_in_1x1=stride_in_1x1,
                   zero_init_residual=zero_init_residual)


@register_model()
def resnext50_32x4d(*, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32-group 3x3 convolutions, 25.0M parameters."""
    return _resnet("resnext50_32x4d", Bottleneck, (3, 4, 6, 3), num_classes, groups=32, width_per_group=4,
                   zero_init_residual=zero_init_residual)
