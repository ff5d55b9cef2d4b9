"""A multilayer perceptron baseline: flatten the image, then fully connected layers.

It sees every pixel as an unrelated input, so it has no notion of "nearby"
and must learn a digit at every position separately: the comparison point
for the CNNs. Parameters of a layer from ``n_in`` to ``n_out`` features:
``n_in * n_out + n_out``.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.models._checks import check_fraction, check_positive_int, check_positive_ints
from cnnlib.models.registry import register_model

__all__ = ["MLP", "mlp"]


class MLP(nn.Module):
    """Flatten -> [Linear -> ReLU (-> Dropout)] x K -> Linear.

    Args:
        in_channels: channels of the input image.
        input_size: side of the square input image.
        hidden_features: widths of the hidden layers, e.g. ``(64,)``; ``()``
            gives multinomial logistic regression.
        num_classes: number of output logits.
        dropout: dropout probability after each hidden layer.

    Shape:
        - Input: ``(N, in_channels, input_size, input_size)``
        - Output: ``(N, num_classes)`` logits.
    """

    def __init__(self, *, in_channels: int = 1, input_size: int = 8, hidden_features=(64,),
                 num_classes: int = 10, dropout: float = 0.0) -> None:
        super().__init__()
        check_positive_int("MLP", "in_channels", in_channels)
        check_positive_int("MLP", "input_size", input_size)
        hidden_features = check_positive_ints("MLP", "hidden_features", hidden_features)
        check_positive_int("MLP", "num_classes", num_classes)
        check_fraction("MLP", "dropout", dropout)
        self.input_size = (in_channels, input_size, input_size)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_channels * input_size * input_size
        for hidden in hidden_features:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@register_model()
def mlp(*, in_channels: int = 1, input_size: int = 8, hidden_features=(64,), num_classes: int = 10,
        dropout: float = 0.0) -> MLP:
    """Fully connected baseline: flatten, hidden ReLU layers, logits (4,810 parameters on 8x8 digits).

    See :class:`MLP` for the arguments.
    """
    return MLP(in_channels=in_channels, input_size=input_size, hidden_features=hidden_features,
               num_classes=num_classes, dropout=dropout)
