"""Small building blocks shared by the ImageNet families.

Their submodule names follow torchvision's (``Conv2dNormActivation`` is a
``Sequential`` of conv ``0``, norm ``1``, activation ``2``), so torchvision's
``state_dict`` loads into our networks with ``strict=True``.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvNormAct", "LayerNorm2d", "SqueezeExcitation", "StochasticDepth", "make_divisible"]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never more than 10% down.

    MobileNet and EfficientNet scale widths by a multiplier and round with this
    rule, so that every layer has a hardware-friendly number of channels.
    """
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvNormAct(nn.Sequential):
    """Convolution, then normalisation, then activation ("same" padding for odd kernels).

    Args:
        in_channels, out_channels, kernel_size, stride, groups: as in ``nn.Conv2d``.
        padding: defaults to ``(kernel_size - 1) // 2``, which keeps ``H`` at stride 1.
        norm: normalisation class (``None`` for none); called with ``out_channels``.
        activation: activation class (``None`` for a linear output).
        bias: defaults to ``norm is None`` (a bias before BatchNorm is wasted).

    Shape:
        ``(N, in_channels, H, W) -> (N, out_channels, H_out, W_out)``,
        ``H_out = (H + 2 * padding - kernel_size) // stride + 1``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, *,
                 padding: int | None = None, groups: int = 1, norm=nn.BatchNorm2d, activation=nn.ReLU,
                 bias: bool | None = None) -> None:
        padding = (kernel_size - 1) // 2 if padding is None else padding
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups,
                            bias=norm is None if bias is None else bias)]
        if norm is not None:
            layers.append(norm(out_channels))
        if activation is not None:
            layers.append(activation(inplace=True) if activation is not nn.GELU else activation())
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): rescale each channel by a gate computed from all of them.

    ``x * gate(fc2(act(fc1(mean_hw(x)))))``, with 1x1 convolutions as the two layers.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels: int, squeeze_channels: int, *, activation=nn.ReLU,
                 gate=nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = activation()
        self.scale_activation = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * scale


class StochasticDepth(nn.Module):
    """Drop a residual branch for a whole sample with probability ``p`` while training.

    The kept branches are scaled by ``1 / (1 - p)``; in eval mode this is the identity.

    Shape:
        ``(N, ...) -> (N, ...)``.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of each pixel of an ``(N, C, H, W)`` map (ConvNeXt's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
