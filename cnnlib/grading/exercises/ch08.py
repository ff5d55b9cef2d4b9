"""Chapter 8 exercises: residual and dense connections.

8.1 writes a dense block's forward pass from given weights. 8.2 chooses the
shortcut a residual block needs, 8.3 predicts a bottleneck block's
parameters (ResNet and ResNeXt), both without building a layer. 8.4
diagnoses a residual block whose shortcut carries the wrong tensor.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "bottleneck_parameters",
    "dense_block",
    "explain_bottleneck_parameters",
    "explain_shortcut_for",
    "residual_block",
    "shortcut_for",
]

#: Reasoning only: no PyTorch (which could build the block) and no cnnlib.
FORMULA_ONLY = ("torch", "aten::.", "cnnlib")


def _tensor(rng: np.random.Generator, *shape: int, scale=1.0) -> torch.Tensor:
    values = scale * rng.standard_normal(shape)
    return torch.from_numpy(values.astype(np.float32))


# ---------------------------------------------------------------- 8.1 (write)
def dense_block(x, weights):
    """The forward pass of a dense block (DenseNet), from given weights.

    Every layer of the block is a 3 x 3 convolution with padding 1 and no
    bias, followed by a ReLU; it reads every feature map the block has
    seen so far: the block's input and the outputs of all earlier layers,
    in that order along the channels.

    Args:
        x: the block's input, shape (N, C, H, W).
        weights: a list of L kernels; weights[l] has shape
            (k, C + l * k, 3, 3) for the growth rate k.

    Returns:
        The block's output, shape (N, C + L * k, H, W): the input followed
        by the new maps of layers 0 .. L-1, in that order along the
        channels.
    """
    features = [x]
    for weight in weights:
        inputs = torch.cat(features, dim=1)
        out = torch.nn.functional.conv2d(inputs, weight, padding=1)
        features.append(torch.relu(out))
    return torch.cat(features, dim=1)


def _dense_case(rng, n, c, h, k, layers, label, hint=""):
    weights = [
        _tensor(rng, k, c + i * k, 3, 3, scale=0.3) for i in range(layers)
    ]
    return Case((_tensor(rng, n, c, h, h), weights), label=label, hint=hint)


def _visible_8_1() -> list[Case]:
    rng = np.random.default_rng(81)
    return [
        _dense_case(
            rng, 1, 2, 4, 1, 1,
            "one layer, growth rate 1: the input plus one new map",
            hint="What shape must the output have, and where is the input in it?",
        ),
        _dense_case(
            rng, 2, 3, 5, 2, 3,
            "three layers, growth rate 2, on 3 channels: 9 channels out",
            hint="Which maps does the third layer read? Check its kernel's shape.",
        ),
        _dense_case(rng, 1, 4, 6, 4, 2, "two layers, growth rate 4"),
    ]


def _hidden_8_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        n, c, h, k, layers = (
            int(rng.integers(1, 3)),
            int(rng.integers(1, 6)),
            int(rng.integers(3, 8)),
            int(rng.integers(1, 5)),
            int(rng.integers(1, 5)),
        )
        cases.append(
            _dense_case(
                rng, n, c, h, k, layers,
                f"{layers} layers, growth rate {k}, {c} input channels",
            )
        )
    return cases


register(
    Exercise(
        "8.1",
        "A dense block's forward pass",
        solution=dense_block,
        visible=_visible_8_1,
        hidden=_hidden_8_1,
        points=2,
        forbid=("cnnlib", "torchvision"),
        hint="Keep a list of every map the block has produced so far.",
    )
)


# ---------------------------------------------------------------- 8.2 (choose)
SHORTCUTS = ("identity", "1x1 conv, stride 1", "1x1 conv, stride 2")


def shortcut_for(in_channels, planes, stride, block):
    """Which shortcut does a ResNet block need?

    Args:
        in_channels: channels of the block's input.
        planes: the block's planes, as torchvision's BasicBlock and
            Bottleneck take them.
        stride: the stride of the block's strided convolution (1 or 2).
        block: "basic" or "bottleneck".

    Returns:
        One of "identity", "1x1 conv, stride 1" or "1x1 conv, stride 2":
        the shortcut that lets the block add its input to its output, the
        cheapest that works (ResNet's option B).
    """
    out_channels = planes if block == "basic" else 4 * planes
    if stride == 1 and in_channels == out_channels:
        return "identity"
    return f"1x1 conv, stride {stride}"


def explain_shortcut_for(in_channels, planes, stride, block) -> str:
    """The block's output shape against its input's (shown after a wrong answer)."""
    out = planes if block == "basic" else 4 * planes
    grow = "x 4 " if block == "bottleneck" else ""
    return (
        f"A {block} block with {planes} planes ends with {planes} {grow}= "
        f"{out} channels; its input has {in_channels}. With stride {stride} "
        f"the map is {'halved' if stride == 2 else 'kept'}. The shortcut must "
        f"turn the input into the output's shape: "
        f"{shortcut_for(in_channels, planes, stride, block)!r}."
    )


def _visible_8_2() -> list[Case]:
    return [
        Case(
            (64, 64, 1, "basic"),
            label="ResNet-18, a block inside the first stage",
        ),
        Case(
            (64, 128, 2, "basic"),
            label="ResNet-18, the first block of the second stage",
        ),
        Case(
            (64, 64, 1, "bottleneck"),
            label="ResNet-50, the first block after the stem",
            hint="How many channels does a bottleneck block put out?",
        ),
        Case(
            (512, 128, 1, "bottleneck"),
            label="ResNet-50, the second block of the second stage",
        ),
    ]


def _hidden_8_2(rng: np.random.Generator) -> list[Case]:
    shown = {case.args for case in _visible_8_2()}
    cases = []
    while len(cases) < 8:
        block = str(rng.choice(["basic", "bottleneck"]))
        planes = int(rng.choice([16, 32, 64, 128, 256, 512]))
        stride = int(rng.choice([1, 2]))
        grow = 1 if block == "basic" else 4
        in_channels = int(
            rng.choice([planes * grow, planes * grow // 2, planes])
        )
        if (in_channels, planes, stride, block) in shown:
            continue
        cases.append(
            Case(
                (in_channels, planes, stride, block),
                label=f"{block}, {in_channels} in, {planes} planes, "
                f"stride {stride}",
            )
        )
    return cases


register(
    Exercise(
        "8.2",
        "Choose the shortcut of a residual block",
        solution=shortcut_for,
        kind="choose",
        choices=SHORTCUTS,
        explain=explain_shortcut_for,
        visible=_visible_8_2,
        hidden=_hidden_8_2,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Compare the shape of what the block adds with the shape of its input.",
    )
)


# ---------------------------------------------------------------- 8.3 (predict)
def bottleneck_parameters(
    in_channels, planes, stride, groups=1, width_per_group=64
):
    """Predict the trainable parameters of a bottleneck block.

    Args:
        in_channels: channels of the block's input.
        planes: the block's planes (its output has 4 x planes channels).
        stride: 1 or 2.
        groups: groups of its 3 x 3 convolution (32 in ResNeXt-50 32x4d).
        width_per_group: channels per group (64 in ResNet, 4 in ResNeXt).

    Returns:
        An int: the trainable parameters of torchvision's
        Bottleneck(in_channels, planes, stride, downsample, groups,
        width_per_group), the block of this chapter, with the projection
        shortcut (a 1 x 1 convolution and a batch norm) exactly when the
        block needs one. Its convolutions have no bias.
    """
    width = int(planes * width_per_group / 64) * groups
    out = 4 * planes
    convs = in_channels * width + width * width * 9 // groups + width * out
    norms = 2 * (width + width + out)
    total = convs + norms
    if stride != 1 or in_channels != out:
        total += in_channels * out + 2 * out
    return total


def explain_bottleneck_parameters(
    in_channels, planes, stride, groups=1, width_per_group=64
) -> str:
    """The count, layer by layer (shown after a wrong answer)."""
    width = int(planes * width_per_group / 64) * groups
    out = 4 * planes
    parts = [
        f"1x1 {in_channels}->{width}: {in_channels * width:,}",
        f"3x3 {width}->{width} in {groups} group(s): "
        f"{width * width * 9 // groups:,}",
        f"1x1 {width}->{out}: {width * out:,}",
        f"three batch norms, 2 per channel: {2 * (2 * width + out):,}",
    ]
    if stride != 1 or in_channels != out:
        parts.append(
            f"projection 1x1 {in_channels}->{out} and its batch norm: "
            f"{in_channels * out + 2 * out:,}"
        )
    total = bottleneck_parameters(
        in_channels, planes, stride, groups, width_per_group
    )
    return "; ".join(parts) + f". Total {total:,}."


def _visible_8_3() -> list[Case]:
    return [
        Case(
            (256, 64, 1),
            label="ResNet-50, the second block of the first stage",
            hint="Count each convolution's weights, then the norms' weights and biases.",
        ),
        Case(
            (64, 64, 1),
            label="ResNet-50, the first block after the stem",
            hint="Does this block need a projection? Compare 64 with its output channels.",
        ),
        Case(
            (256, 128, 1, 32, 4),
            label="ResNeXt-50 32x4d, the first block of the second stage "
            "(torchvision strides it, here stride 1)",
        ),
    ]


def _hidden_8_3(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(6):
        planes = int(rng.choice([16, 32, 64, 128, 256, 512]))
        in_channels = int(rng.choice([planes * 4, planes * 2, planes]))
        stride = int(rng.choice([1, 2]))
        groups, wpg = (
            (1, 64) if rng.random() < 0.5 else (32, int(rng.choice([4, 8])))
        )
        cases.append(
            Case(
                (in_channels, planes, stride, groups, wpg),
                label=f"{in_channels} in, {planes} planes, stride {stride}, "
                f"{groups} groups of {wpg}",
            )
        )
    return cases


register(
    Exercise(
        "8.3",
        "Predict a bottleneck block's parameters",
        solution=bottleneck_parameters,
        kind="predict",
        explain=explain_bottleneck_parameters,
        visible=_visible_8_3,
        hidden=_hidden_8_3,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Draw the block: three convolutions, their norms and maybe a shortcut.",
    )
)


# ---------------------------------------------------------------- 8.4 (diagnose)
def _buggy_residual_block(x, w1, w2):
    """A residual block without batch norm: two 3 x 3 convolutions.

    Args:
        x: input of shape (N, C, H, W).
        w1, w2: kernels of shape (C, C, 3, 3) (padding 1, no bias).

    Returns:
        relu(F(x) + x), where F is the branch conv, ReLU, conv; shape
        (N, C, H, W). With w2 all zeros the block passes relu(x).
    """
    x = torch.relu(torch.nn.functional.conv2d(x, w1, padding=1))
    out = torch.nn.functional.conv2d(x, w2, padding=1)
    return torch.relu(out + x)


def residual_block(x, w1, w2):
    """A residual block without batch norm: two 3 x 3 convolutions.

    Args:
        x: input of shape (N, C, H, W).
        w1, w2: kernels of shape (C, C, 3, 3) (padding 1, no bias).

    Returns:
        relu(F(x) + x), where F is the branch conv, ReLU, conv; shape
        (N, C, H, W). With w2 all zeros the block passes relu(x).
    """
    h = torch.relu(torch.nn.functional.conv2d(x, w1, padding=1))
    out = torch.nn.functional.conv2d(h, w2, padding=1)
    return torch.relu(out + x)  # the fix: the shortcut carries the input


def _visible_8_4() -> list[Case]:
    rng = np.random.default_rng(84)
    x = _tensor(rng, 1, 2, 5, 5)
    zeros = torch.zeros(2, 2, 3, 3)
    return [
        Case(
            (x, _tensor(rng, 2, 2, 3, 3, scale=0.3), zeros),
            label="a zero last convolution: the block must pass relu(x)",
            hint="With F = 0 only the shortcut is left. What does it add?",
        ),
        Case(
            (_tensor(rng, 2, 3, 4, 4), _tensor(rng, 3, 3, 3, 3, scale=0.3),
             _tensor(rng, 3, 3, 3, 3, scale=0.3)),
            label="random weights",
        ),
    ]


def _hidden_8_4(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        n, c, h = (
            int(rng.integers(1, 3)),
            int(rng.integers(1, 5)),
            int(rng.integers(3, 8)),
        )
        cases.append(
            Case(
                (_tensor(rng, n, c, h, h),
                 _tensor(rng, c, c, 3, 3, scale=0.3),
                 _tensor(rng, c, c, 3, 3, scale=0.3)),
                label=f"{c} channels, {h}x{h}",
            )
        )
    return cases


register(
    Exercise(
        "8.4",
        "Diagnose a residual block",
        solution=residual_block,
        kind="diagnose",
        buggy=_buggy_residual_block,
        visible=_visible_8_4,
        hidden=_hidden_8_4,
        points=2,
        forbid=("cnnlib", "torchvision"),
        hint="The shapes are right and the branch is right. What reaches the addition?",
    )
)
