"""Small networks with hand-set weights for the explanation tests (as captum's own tests use)."""
from __future__ import annotations

import torch
from torch import nn


class TinyGapNet(nn.Module):
    """conv 1->2 (2x2), act, conv 2->3 (2x2), act, global average pooling, linear 3->2.

    ``act`` is ``nn.ReLU`` or ``nn.ReLU6`` (in place, as in MobileNetV2).
    """

    def __init__(self, act=nn.ReLU) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 2)
        self.act1 = act(inplace=True)
        self.conv2 = nn.Conv2d(2, 3, 2)
        self.act2 = act(inplace=True)
        self.fc = nn.Linear(3, 2)
        with torch.no_grad():
            self.conv1.weight.copy_(torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[-1.0, 2.0], [1.0, -1.0]]]]))
            self.conv1.bias.copy_(torch.tensor([0.0, -1.0]))
            self.conv2.weight.copy_(torch.arange(24.0).view(3, 2, 2, 2) / 8 - 1)
            self.conv2.bias.copy_(torch.tensor([0.5, -0.5, 0.0]))
            self.fc.weight.copy_(torch.tensor([[1.0, -1.0, 2.0], [-2.0, 1.0, 1.0]]))
            self.fc.bias.copy_(torch.tensor([0.1, -0.2]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.fc(a.mean(dim=(2, 3)))


class TinyFlattenNet(TinyGapNet):
    """The same layers, but flattened (no pooling) into two linear layers: CAM does not apply."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3 * 4 * 4, 3)
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.fc(torch.relu(self.fc1(a.flatten(1))))


def hand_images(scale: float = 1.0) -> torch.Tensor:
    """Two 1 x 6 x 6 images: a fixed signed pattern and its mirror, times ``scale``."""
    pattern = ((torch.arange(36.0).view(6, 6) * 5) % 7 - 3) / 2
    return scale * torch.stack([pattern, pattern.flip(-1)])[:, None]
