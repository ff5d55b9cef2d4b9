"""Chapter 9 exercises: what a CNN looks at.

Two compute Grad-CAM from a layer's activations and gradients (no model, no
autograd: the student combines the given tensors); two test understanding of
the methods' limits (how coarse a map is, when CAM applies).
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = ["cam_applicable", "grad_cam_map", "grad_cam_weights", "map_side"]

NO_LIBRARY = ("cnnlib", "captum", "aten::.*backward", "torch.autograd.grad")
LAYERS = (
    "conv",
    "relu",
    "bn",
    "maxpool",
    "dropout",
    "gap",
    "flatten",
    "linear",
)


def _ag(
    rng: np.random.Generator, n: int = 2, k: int = 4, h: int = 5, w: int = 5
) -> tuple:
    a = torch.from_numpy(rng.random((n, k, h, w)).astype(np.float32))
    g = torch.from_numpy(
        rng.standard_normal((n, k, h, w)).astype(np.float32)
    )
    return a, g


# ---------------------------------------------------------------- 9.1
def grad_cam_weights(
    activations: torch.Tensor, gradients: torch.Tensor
) -> torch.Tensor:
    """The importance Grad-CAM gives each channel of a layer, for each image.

    Args:
        activations: ``(N, K, h, w)``, the layer's feature maps ``A``.
        gradients: ``(N, K, h, w)``, the target score's gradient with respect
            to ``A``.

    Returns:
        ``(N, K)``: one weight per image and channel (Selvaraju et al., 2017,
        eq. 1).
    """
    return gradients.mean(dim=(2, 3))


def _visible_9_1() -> list[Case]:
    a = torch.ones(1, 2, 2, 2)
    g = torch.tensor(
        [[[[1.0, 3.0], [0.0, 0.0]], [[-2.0, -2.0], [-2.0, -2.0]]]]
    )
    return [
        Case(
            (a, g),
            expected=torch.tensor([[1.0, -2.0]]),
            label="two channels of 2x2 gradients",
            hint="A channel's weight summarises its gradient map in one number, the same way for every channel.",
        ),
        Case(
            _ag(np.random.default_rng(9)),
            label="two images, four channels, 5x5",
        ),
    ]


register(
    Exercise(
        "9.1",
        "Grad-CAM's channel weights",
        solution=grad_cam_weights,
        visible=_visible_9_1,
        hidden=lambda rng: [
            Case(
                _ag(
                    rng,
                    int(rng.integers(1, 4)),
                    int(rng.integers(1, 9)),
                    int(rng.integers(1, 8)),
                    int(rng.integers(1, 8)),
                ),
                label="random activations and gradients",
            )
            for _ in range(5)
        ],
        points=1,
        forbid=NO_LIBRARY,
        setup="import torch",
        hint="Each channel's weight is one number computed from that channel's gradient map alone.",
    )
)


# ---------------------------------------------------------------- 9.2
def grad_cam_map(
    activations: torch.Tensor, gradients: torch.Tensor
) -> torch.Tensor:
    """The Grad-CAM map of a layer, from its activations and the target
    score's gradients.

    Args:
        activations: ``(N, K, h, w)``, the layer's feature maps ``A``.
        gradients: ``(N, K, h, w)``, the gradient of the target score with
            respect to ``A``.

    Returns:
        ``(N, h, w)``: the map at the layer's resolution, keeping only the
        evidence *for* the class (Selvaraju et al., 2017, eq. 2).
    """
    return (
        (gradients.mean(dim=(2, 3), keepdim=True) * activations)
        .sum(dim=1)
        .clamp(min=0)
    )


def _visible_9_2() -> list[Case]:
    a = torch.tensor([[[[1.0, 0.0], [0.0, 2.0]], [[0.0, 3.0], [1.0, 0.0]]]])
    g = torch.tensor(
        [[[[1.0, 1.0], [1.0, 1.0]], [[-1.0, -1.0], [-1.0, -1.0]]]]
    )
    return [
        Case(
            (a, g),
            expected=torch.tensor([[[1.0, 0.0], [0.0, 2.0]]]),
            label="one channel for the class, one against it",
            hint="Negative evidence is dropped at the end, after the channels are combined.",
        ),
        Case(
            _ag(np.random.default_rng(92)),
            label="two images, four channels, 5x5",
        ),
    ]


register(
    Exercise(
        "9.2",
        "A Grad-CAM map from activations and gradients",
        solution=grad_cam_map,
        visible=_visible_9_2,
        hidden=lambda rng: [
            Case(
                _ag(
                    rng,
                    int(rng.integers(1, 4)),
                    int(rng.integers(1, 9)),
                    int(rng.integers(1, 8)),
                    int(rng.integers(1, 8)),
                ),
                label="random activations and gradients",
            )
            for _ in range(5)
        ],
        points=2,
        forbid=NO_LIBRARY,
        setup="import torch",
        hint="Weight each channel, add the weighted channels, then keep only what argues for the class.",
    )
)


# ---------------------------------------------------------------- 9.3
def map_side(input_size: int, strides: list) -> int:
    """The side of a Grad-CAM map taken after a stack of layers, in cells.

    Every layer pads so that at stride 1 it keeps the size ("same" padding,
    as MobileNetV2 and ResNet do), and a layer with stride ``s`` keeps every
    ``s``-th position, starting with the first.

    Args:
        input_size: the image side in pixels.
        strides: the stride of every layer up to and including the chosen
            one.

    Returns:
        The map's side; the image is ``input_size / side`` pixels per map
        cell.
    """
    side = input_size
    for s in strides:
        side = -(-side // s)
    return side


def _visible_9_3() -> list[Case]:
    return [
        Case(
            (224, [2, 1, 2, 2, 2, 1, 2, 1]),
            expected=7,
            label="MobileNetV2's last layer at 224 px",
            hint="Follow the side through the layers one stride at a time.",
        ),
        Case(
            (224, [2, 1, 2, 2]),
            expected=28,
            label="a middle layer of MobileNetV2",
        ),
        Case(
            (225, [2, 2]),
            expected=57,
            label="an odd size",
            hint="A half-covered cell still counts.",
        ),
    ]


register(
    Exercise(
        "9.3",
        "How coarse is a map?",
        solution=map_side,
        visible=_visible_9_3,
        hidden=lambda rng: [
            Case(
                (
                    int(rng.integers(8, 400)),
                    [
                        int(s)
                        for s in rng.integers(1, 4, size=rng.integers(0, 9))
                    ],
                ),
                label="random size and strides",
            )
            for _ in range(8)
        ],
        points=1,
        forbid=("torch", "cnnlib"),
        setup="",
    )
)


# ---------------------------------------------------------------- 9.4
def cam_applicable(layers: list) -> bool:
    """Whether CAM can explain a network as it is, taking the map at its last
    ``"conv"``.

    Args:
        layers: the network from input to output, each one of ``"conv"``,
            ``"relu"``, ``"bn"``, ``"maxpool"``, ``"dropout"``, ``"gap"``
            (global average pooling), ``"flatten"``, ``"linear"``.

    Returns:
        True when CAM (Zhou et al., 2016) applies without changing or
        retraining
        the network. Dropout does nothing at test time.
    """
    last_conv = max(
        (i for i, name in enumerate(layers) if name == "conv"), default=None
    )
    if last_conv is None:
        return False
    tail = [name for name in layers[last_conv + 1 :] if name != "dropout"]
    while tail and tail[0] in ("relu", "bn"):
        tail = tail[1:]
    return tail in (["gap", "linear"], ["gap", "flatten", "linear"])


def _visible_9_4() -> list[Case]:
    return [
        Case(
            (
                [
                    "conv",
                    "relu",
                    "conv",
                    "bn",
                    "relu",
                    "gap",
                    "flatten",
                    "dropout",
                    "linear",
                ],
            ),
            expected=True,
            label="MobileNetV2's shape",
        ),
        Case(
            (
                [
                    "conv",
                    "relu",
                    "maxpool",
                    "conv",
                    "relu",
                    "maxpool",
                    "flatten",
                    "linear",
                    "relu",
                    "linear",
                ],
            ),
            expected=False,
            label="a VGG-like network",
            hint="What does the classifier see: averages of feature maps, or every position separately?",
        ),
        Case(
            (["conv", "relu", "gap", "linear", "relu", "linear"],),
            expected=False,
            label="two linear layers",
            hint="CAM's map is the last layer's weights applied to the feature maps; what if another layer follows?",
        ),
        Case(
            (["conv", "relu", "conv", "gap", "linear"],),
            expected=True,
            label="no activation before pooling",
        ),
    ]


def _hidden_9_4(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(12):
        body = [
            str(x)
            for x in rng.choice(
                ["conv", "relu", "bn", "maxpool"], size=rng.integers(1, 6)
            )
        ]
        head = [
            ["gap", "linear"],
            ["gap", "flatten", "linear"],
            ["flatten", "linear"],
            ["gap", "linear", "relu", "linear"],
            ["maxpool", "flatten", "linear"],
            ["gap", "flatten", "dropout", "linear"],
            ["linear"],
        ][rng.integers(7)]
        cases.append(Case((body + head,), label=" ".join(body + head)))
    return cases


register(
    Exercise(
        "9.4",
        "When does CAM apply?",
        solution=cam_applicable,
        visible=_visible_9_4,
        hidden=_hidden_9_4,
        points=1,
        forbid=("torch", "cnnlib"),
        setup="",
    )
)
