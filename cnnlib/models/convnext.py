"""ConvNeXt (Liu et al., 2022): a ResNet modernised step by step with the recipe of vision transformers.

The steps from ResNet-50: stages of 3, 3, 9, 3 blocks; a "patchify" stem (4x4
convolution, stride 4); depthwise 7x7 convolutions; an inverted bottleneck
(1x1 to 4x the width and back, as in MobileNet V2); one GELU and one
LayerNorm per block instead of ReLUs and BatchNorms; separate downsampling
layers (LayerNorm, 2x2 convolution, stride 2) between stages. Each block
scales its branch by a learned per-channel ``layer_scale`` (initially 1e-6)
before adding the identity. ConvNeXt-T: widths 96, 192, 384, 768, 28,589,128
parameters, about 4.5G multiply-adds.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._blocks import ConvNormAct, LayerNorm2d, StochasticDepth
from cnnlib.models._checks import check_fraction, check_positive_int
from cnnlib.models.registry import register_model

__all__ = ["CNBlock", "ConvNeXt", "convnext_tiny"]


class Permute(nn.Module):
    """Reorder the dimensions (channels last for LayerNorm and Linear, and back)."""

    def __init__(self, dims) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class CNBlock(nn.Module):
    """Depthwise 7x7, LayerNorm, Linear to 4x, GELU, Linear back, times ``layer_scale``, plus the identity.

    The two Linear layers act on each pixel's channels: they are 1x1 convolutions.

    Shape:
        ``(N, dim, H, W) -> (N, dim, H, W)``.
    """

    def __init__(self, dim: int, *, layer_scale: float = 1e-6, stochastic_depth_prob: float = 0.0) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim),
            Permute((0, 2, 3, 1)),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute((0, 3, 1, 2)),
        )
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.stochastic_depth(self.layer_scale * self.block(x))


class ConvNeXt(nn.Module):
    """ConvNeXt: ``features`` (stem, 4 stages with downsampling between), pool, ``classifier``.

    Args:
        widths: channels of the four stages.
        depths: blocks per stage.
        num_classes: number of output logits.
        stochastic_depth_prob: drop probability of the last block (linearly less before).

    Shape:
        ``(N, 3, 224, 224) -> (N, num_classes)``; stages see 56, 28, 14, 7 px.
    """

    def __init__(self, *, widths=(96, 192, 384, 768), depths=(3, 3, 9, 3), num_classes: int = 1000,
                 stochastic_depth_prob: float = 0.1) -> None:
        super().__init__()

        def norm(c):
            return LayerNorm2d(c, eps=1e-6)

        layers: list[nn.Module] = [ConvNormAct(3, widths[0], 4, 4, padding=0, norm=norm, activation=None,
                                               bias=True)]
        total, block_id = sum(depths), 0
        for i, (width, depth) in enumerate(zip(widths, depths)):
            blocks = []
            for _ in range(depth):
                p = stochastic_depth_prob * block_id / (total - 1.0)
                blocks.append(CNBlock(width, stochastic_depth_prob=p))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
            if i + 1 < len(widths):
                layers.append(nn.Sequential(norm(width), nn.Conv2d(width, widths[i + 1], 2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(norm(widths[-1]), nn.Flatten(1), nn.Linear(widths[-1], num_classes))
        self.input_size = (3, 224, 224)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


@register_model()
def convnext_tiny(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.1) -> ConvNeXt:
    """ConvNeXt-T (2022): a ResNet-50-sized network modernised step by step, 28.6M parameters."""
    check_positive_int("convnext_tiny", "num_classes", num_classes)
    check_fraction("convnext_tiny", "stochastic_depth_prob", stochastic_depth_prob)
    return ConvNeXt(num_classes=num_classes, stochastic_depth_prob=stochastic_depth_prob)
