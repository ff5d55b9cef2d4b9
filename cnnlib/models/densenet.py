"""DenseNet (Huang et al., 2017): every layer of a block reads all the maps before it.

In a dense block, layer ``l`` receives the concatenation of the block's input
and the outputs of layers ``1 .. l-1``, and adds ``growth_rate`` new channels
(BN-ReLU-1x1 conv to ``4 * growth_rate`` channels, then BN-ReLU-3x3 conv). A
block of ``L`` layers on ``C`` channels therefore ends with ``C + L * k``
channels. Between blocks, a transition (BN-ReLU-1x1 conv, 2x2 average pool)
halves both the channels and the map. DenseNet-121: growth rate 32, blocks of
6, 12, 24 and 16 layers, 64 stem channels, 7,978,856 parameters.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnlib.models._checks import check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["DenseBlock", "DenseLayer", "DenseNet", "Transition", "densenet121"]


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (``bn_size * growth_rate``), BN-ReLU-3x3 conv (``growth_rate``).

    Shape:
        a list of ``(N, C_i, H, W)`` maps with ``sum C_i = in_channels`` -> ``(N, growth_rate, H, W)``.
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; each sees all previous outputs.

    Shape:
        ``(N, C, H, W) -> (N, C + num_layers * growth_rate, H, W)``.
    """

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        for i in range(num_layers):
            self[f"denselayer{i + 1}"] = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv to ``out_channels``, then 2x2 average pooling (halves the map)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(in_channels)),
            ("relu", nn.ReLU(inplace=True)),
            ("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False)),
            ("pool", nn.AvgPool2d(2, 2)),
        ]))


class DenseNet(nn.Module):
    """DenseNet: 7x7/2 stem and pool, dense blocks with transitions, BN, global pool, fc.

    Args:
        growth_rate: channels each dense layer adds (``k``).
        block_config: layers per dense block.
        num_init_features: channels of the stem.
        bn_size: the 1x1 bottleneck has ``bn_size * growth_rate`` channels.
        num_classes: number of output logits.

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, *, growth_rate: int = 32, block_config=(6, 12, 24, 16), num_init_features: int = 64,
                 bn_size: int = 4, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, 7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
        ]))
        channels = num_init_features
        for i, num_layers in enumerate(block_config, start=1):
            self.features.add_module(f"denseblock{i}", DenseBlock(num_layers, channels, growth_rate, bn_size))
            channels += num_layers * growth_rate
            if i < len(block_config):
                self.features.add_module(f"transition{i}", Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        self.input_size = (3, 224, 224)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.features(x))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


@register_model()
def densenet121(*, num_classes: int = 1000, growth_rate: int = 32) -> DenseNet:
    """DenseNet-121: growth rate 32, dense blocks of 6, 12, 24, 16 layers, 8.0M parameters."""
    check_positive_int("densenet121", "num_classes", num_classes)
    check_positive_int("densenet121", "growth_rate", growth_rate)
    return DenseNet(growth_rate=growth_rate, num_classes=num_classes)
