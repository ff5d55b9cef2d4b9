"""Chapter 9 exercises: what a CNN looks at.

Two compute Grad-CAM from a layer's activations and gradients (no model, no
autograd: the student combines the given tensors); two test understanding of
the methods' limits (how coarse a map is, when CAM applies); one asks for a
prediction (how many forward passes an occlusion map costs) and one for a
diagnosis (guided backprop that silently stays the plain gradient on ReLU6).
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = ["cam_applicable", "grad_cam_map", "grad_cam_weights", "guided_relu6_backward", "map_side", "occlusion_passes"]

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


# ---------------------------------------------------------------- 9.5 (predict)
def occlusion_passes(image_size, window, stride):
    """Predict how many forward passes an occlusion map of one image costs.

    The square image is covered by a window x window square placed every
    stride pixels along each axis, starting at the top-left corner, until the
    last row and column of pixels are covered (a square that sticks out of
    the image is cut at its edge). Every placement is one forward pass, and
    one more pass scores the uncovered image.

    Args:
        image_size: the image's height and width in pixels.
        window: the side of the occluding square, 1 <= window <= image_size.
        stride: the step between squares, 1 <= stride <= window.

    Returns:
        The number of forward passes (an int).
    """
    per_axis = -(-(image_size - window) // stride) + 1
    return per_axis * per_axis + 1


def explain_occlusion_passes(image_size, window, stride) -> str:
    """The count worked out (shown after a wrong answer)."""
    per_axis = -(-(image_size - window) // stride) + 1
    last = (per_axis - 1) * stride
    return (
        f"Along one axis the squares start at 0, {stride}, ..., {last}: the "
        f"first start at which the square reaches the last pixel is the "
        f"smallest multiple of {stride} that is at least {image_size} - "
        f"{window} = {image_size - window}, so {per_axis} positions. Rows "
        f"times columns: {per_axis} x {per_axis} = {per_axis * per_axis} "
        f"occluded copies, plus 1 pass for the uncovered image."
    )


def _visible_9_5() -> list[Case]:
    return [
        Case(
            (224, 56, 28),
            label="the chapter's occlusion map: 56-pixel square, stride 28",
            hint="Count the positions along one axis first.",
        ),
        Case(
            (224, 32, 16),
            label="cnnlib's default window and stride",
        ),
        Case(
            (100, 30, 20),
            label="a stride that does not divide the distance",
            hint="The last pixels must be covered too: where does the last "
            "square start?",
        ),
        Case((64, 64, 8), label="one square the size of the image"),
    ]


def _hidden_9_5(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(8):
        size = int(rng.integers(8, 300))
        window = int(rng.integers(1, size + 1))
        stride = int(rng.integers(1, window + 1))
        cases.append(
            Case(
                (size, window, stride),
                label=f"{size} px, window {window}, stride {stride}",
            )
        )
    return cases


register(
    Exercise(
        "9.5",
        "Predict the cost of an occlusion map",
        solution=occlusion_passes,
        kind="predict",
        explain=explain_occlusion_passes,
        visible=_visible_9_5,
        hidden=_hidden_9_5,
        points=1,
        forbid=("torch", "cnnlib"),
        setup="",
        hint="Occlusion has no gradient: every covered copy of the image is "
        "one more forward pass. Count the copies row by row.",
    )
)


# ---------------------------------------------------------------- 9.6 (diagnose)
def _buggy_guided_relu6_backward(inputs, grad_output):
    """The gradient guided backpropagation sends back through a ReLU6.

    The chapter's warning: this version gives MobileNetV2 the plain gradient
    instead of guided backprop. Find out why and fix it.

    Args:
        inputs: what entered the ReLU6 in the forward pass, any shape.
        grad_output: the gradient arriving from the layer above, the same
            shape.

    Returns:
        The gradient with respect to ``inputs`` that guided backpropagation
        (Springenberg et al., 2015) passes on, the same shape.
    """
    passes = (inputs > 0) & (inputs < 6)  # where ReLU6 has slope 1
    return grad_output * passes


def guided_relu6_backward(inputs, grad_output):
    """The gradient guided backpropagation sends back through a ReLU6.

    The chapter's warning: this version gives MobileNetV2 the plain gradient
    instead of guided backprop. Find out why and fix it.

    Args:
        inputs: what entered the ReLU6 in the forward pass, any shape.
        grad_output: the gradient arriving from the layer above, the same
            shape.

    Returns:
        The gradient with respect to ``inputs`` that guided backpropagation
        (Springenberg et al., 2015) passes on, the same shape.
    """
    passes = (inputs > 0) & (inputs < 6)  # where ReLU6 has slope 1
    # The fix: only positive gradients from above pass, as well.
    return grad_output.clamp(min=0) * passes


def _relu6_case(rng: np.random.Generator, shape: tuple) -> tuple:
    inputs = torch.from_numpy((4 * rng.standard_normal(shape) + 2).astype(np.float32))
    grad = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
    return inputs, grad


def _visible_9_6() -> list[Case]:
    rng = np.random.default_rng(96)
    positive = torch.tensor([[-1.0, 0.5, 3.0, 7.0]])
    return [
        Case(
            (positive, torch.tensor([[1.0, 2.0, 3.0, 4.0]])),
            label="every gradient from above positive (the bug does not "
            "show here)",
        ),
        Case(
            (positive, torch.tensor([[-1.0, -2.0, 3.0, -4.0]])),
            label="negative gradients from above",
            hint="Which of these four values should reach the input, and "
            "which does the plain gradient let through?",
        ),
        Case(
            _relu6_case(rng, (2, 3, 4, 4)),
            label="a random (2, 3, 4, 4) layer",
        ),
    ]


register(
    Exercise(
        "9.6",
        "Diagnose guided backprop through ReLU6",
        solution=guided_relu6_backward,
        kind="diagnose",
        buggy=_buggy_guided_relu6_backward,
        visible=_visible_9_6,
        hidden=lambda rng: [
            Case(
                _relu6_case(rng, tuple(int(s) for s in rng.integers(1, 6, size=4))),
                label="a random layer",
            )
            for _ in range(6)
        ],
        points=1,
        forbid=NO_LIBRARY,
        hint="Guided backprop changes one thing about the backward pass of "
        "the activation; compare its rule with the plain gradient's.",
    )
)
