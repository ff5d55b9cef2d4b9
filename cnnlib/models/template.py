"""The classic CNN template, configured by a dataclass.

``Input -> [[Conv -> ReLU] x N -> Pool] x M -> [FC -> ReLU] x K -> FC``

The convolutions extract features, the fully connected layers classify.
Early CNNs used ``0 <= N <= 3``, ``0 <= M <= 3`` and ``0 <= K <= 2``. Each
convolution maps ``H -> H + 2P - K + 1`` (stride 1) and each pool
``H -> H // pool_size``; the flattened size feeding the first linear layer is
``C_last * H_last * W_last``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnlib.models._checks import check_choice, check_fraction, check_positive_int, check_positive_ints
from cnnlib.models.registry import register_model

__all__ = ["ClassicCNN", "ClassicCNNConfig", "classic_cnn"]


@dataclass(frozen=True)
class ClassicCNNConfig:
    """The shape of a classic CNN.

    Attributes:
        in_channels: channels of the input image.
        input_size: side of the square input image.
        stages: one tuple of convolution widths per stage: ``M = len(stages)``
            and ``N = len(stages[i])``. ``((16, 16), (32, 32))`` (the default) is N = 2, M = 2.
        fc_features: widths of the hidden linear layers (``K = len(fc_features)``).
        num_classes: number of output logits.
        kernel_size: side of every convolution kernel.
        padding: zero padding of every convolution; ``None`` means "same",
            ``(kernel_size - 1) // 2``, so that only pooling shrinks the maps.
        pool: ``"max"`` or ``"avg"``.
        pool_size: side and stride of every pooling window.
        dropout: dropout probability before each linear layer after the first.
    """

    in_channels: int = 1
    input_size: int = 28
    stages: tuple[tuple[int, ...], ...] = ((16, 16), (32, 32))
    fc_features: tuple[int, ...] = (64,)
    num_classes: int = 10
    kernel_size: int = 3
    padding: int | None = None
    pool: str = "max"
    pool_size: int = 2
    dropout: float = 0.0

    @classmethod
    def from_counts(cls, *, n: int, m: int, k: int, width: int = 16, fc_width: int = 64, **fields) -> "ClassicCNNConfig":
        """The template with ``N`` convs per stage, ``M`` stages and ``K`` hidden linear layers.

        Stage ``i`` uses ``width * 2**i`` channels; hidden linear layers are ``fc_width`` wide.
        """
        for name, value in (("n", n), ("m", m), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ClassicCNNConfig.from_counts({name}={value!r}): {name} must be an int >= 0.")
        stages = tuple(tuple([width * 2**i] * n) for i in range(m))
        return cls(stages=stages, fc_features=(fc_width,) * k, **fields)


class ClassicCNN(nn.Module):
    """A network built from a :class:`ClassicCNNConfig`.

    Shape:
        - Input: ``(N, in_channels, input_size, input_size)``
        - Output: ``(N, num_classes)`` logits.

    Raises:
        ValueError: a bad field, or a configuration whose feature maps shrink
            to nothing before the classifier (the message says at which stage).
    """

    def __init__(self, config: ClassicCNNConfig) -> None:
        super().__init__()
        name = "ClassicCNN"
        if not isinstance(config, ClassicCNNConfig):
            raise TypeError(f"{name}(config={config!r}): pass a ClassicCNNConfig.")
        c = config
        check_positive_int(name, "in_channels", c.in_channels)
        check_positive_int(name, "input_size", c.input_size)
        check_positive_int(name, "num_classes", c.num_classes)
        check_positive_int(name, "kernel_size", c.kernel_size)
        check_positive_int(name, "pool_size", c.pool_size)
        check_choice(name, "pool", c.pool, ("max", "avg"))
        check_fraction(name, "dropout", c.dropout)
        fc_features = check_positive_ints(name, "fc_features", c.fc_features)
        if isinstance(c.stages, (int, str)) or not hasattr(c.stages, "__iter__"):
            raise ValueError(f"{name}(stages={c.stages!r}): stages must be a tuple of tuples of widths, e.g. ((32,), (64,)).")
        stages = tuple(check_positive_ints(name, "stages[i]", s) for s in c.stages)
        padding = (c.kernel_size - 1) // 2 if c.padding is None else c.padding
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"{name}(padding={c.padding!r}): padding must be an int >= 0 or None for 'same'.")
        Pool = nn.MaxPool2d if c.pool == "max" else nn.AvgPool2d

        self.config = c
        self.input_size = (c.in_channels, c.input_size, c.input_size)
        layers: list[nn.Module] = []
        channels, size = c.in_channels, c.input_size
        for i, widths in enumerate(stages):
            for width in widths:
                layers += [nn.Conv2d(channels, width, c.kernel_size, padding=padding), nn.ReLU()]
                channels, size = width, size + 2 * padding - c.kernel_size + 1
                if size < 1:
                    raise ValueError(
                        f"{name}: the feature maps vanish in stage {i + 1} (a {c.kernel_size}x{c.kernel_size} "
                        f"convolution with padding {padding} on {c.input_size}x{c.input_size} input). "
                        "Use fewer stages, padding=None ('same') or a bigger input_size."
                    )
            layers.append(Pool(c.pool_size, c.pool_size))
            size //= c.pool_size
            if size < 1:
                raise ValueError(
                    f"{name}: stage {i + 1}'s {c.pool_size}x{c.pool_size} pooling leaves no pixels of a "
                    f"{c.input_size}x{c.input_size} input. Use fewer stages or a bigger input_size."
                )
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten()]
        width = channels * size * size
        for j, hidden in enumerate(fc_features):
            if c.dropout and j > 0:
                head.append(nn.Dropout(c.dropout))
            head += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        if c.dropout and fc_features:
            head.append(nn.Dropout(c.dropout))
        head.append(nn.Linear(width, c.num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_model()
def classic_cnn(*, config: ClassicCNNConfig | None = None, in_channels: int | None = None,
                input_size: int | None = None, stages=None, fc_features=None, num_classes: int | None = None,
                kernel_size: int | None = None, padding: int | None = None, pool: str | None = None,
                pool_size: int | None = None, dropout: float | None = None) -> ClassicCNN:
    """The classic template [[Conv -> ReLU] x N -> Pool] x M -> [FC -> ReLU] x K -> FC.

    Pass either a whole ``config`` or individual fields (the rest keep the
    :class:`ClassicCNNConfig` defaults); a field that contradicts the given
    ``config`` is an error rather than a silent override.

    Raises:
        ValueError: a field given both in ``config`` and as an argument, with
            different values.
    """
    given = {k: v for k, v in dict(in_channels=in_channels, input_size=input_size, stages=stages,
                                    fc_features=fc_features, num_classes=num_classes, kernel_size=kernel_size,
                                    padding=padding, pool=pool, pool_size=pool_size, dropout=dropout).items()
             if v is not None}
    if config is None:
        return ClassicCNN(ClassicCNNConfig(**given))
    if not isinstance(config, ClassicCNNConfig):
        raise TypeError(f"classic_cnn(config={config!r}): pass a ClassicCNNConfig or None.")
    conflicts = {k: v for k, v in given.items() if getattr(config, k) != v}
    if conflicts:
        detail = ", ".join(f"{k}={v!r} but config.{k}={getattr(config, k)!r}" for k, v in conflicts.items())
        raise ValueError(
            f"classic_cnn: conflicting arguments ({detail}). Pass either config or the fields, "
            "or change the config with dataclasses.replace(config, ...)."
        )
    return ClassicCNN(config)
