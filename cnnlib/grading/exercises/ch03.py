"""Chapter 3 exercises: the arithmetic of convolution layers.

3.1-3.4 are counts in plain Python: the student's functions may not build
layers or run convolutions (no ``torch``, no ``cnnlib``). 3.5 chooses the
costliest of four layers (again without running them); 3.6 diagnoses a
"same" convolution whose padding is wrong.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "conv_output_size",
    "conv2d_num_params",
    "conv2d_mult_adds",
    "receptive_field",
    "costliest_layer",
    "explain_costliest_layer",
    "conv_same",
]

#: Formulas only: no PyTorch (which could measure the answer) and no cnnlib.
FORMULA_ONLY = ("torch", "aten::.", "cnnlib")


def _ints(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1))


# ---------------------------------------------------------------- 3.1
def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> int:
    """The length of a convolution's output along one axis.

    Args:
        size: input length H.
        kernel_size: K.
        stride: S.
        padding: P, added on both sides.
        dilation: D, the spacing between kernel taps.

    Returns:
        The number of positions along this axis at which the (dilated) kernel
        fits inside the padded input, the way torch.nn.Conv1d and Conv2d
        count
        them.
    """
    return (
        size + 2 * padding - dilation * (kernel_size - 1) - 1
    ) // stride + 1


def _visible_3_1() -> list[Case]:
    return [
        Case(
            (32, 5),
            {"padding": 2},
            expected=32,
            label="32 wide, 5x5 kernel, padding 2 keeps the size",
        ),
        Case(
            (7, 3),
            {"stride": 2},
            expected=3,
            label="7 wide, 3x3 kernel, stride 2",
            hint="List the positions of the kernel's first tap by hand: 0, 2, ... where must they stop?",
        ),
        Case(
            (7, 3),
            {"dilation": 2},
            expected=3,
            label="7 wide, 3x3 kernel, dilation 2",
            hint="How many input pixels does a 3-tap kernel with gaps of one pixel span?",
        ),
        Case(
            (224, 11),
            {"stride": 4, "padding": 2},
            expected=55,
            label="AlexNet's first layer",
        ),
    ]


def _hidden_3_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 8:
        h, k, s, p, d = (
            _ints(rng, 1, 64),
            _ints(rng, 1, 7),
            _ints(rng, 1, 4),
            _ints(rng, 0, 3),
            _ints(rng, 1, 3),
        )
        if h + 2 * p - d * (k - 1) - 1 >= 0:
            cases.append(
                Case(
                    (h, k, s, p, d),
                    label=f"size={h}, kernel={k}, stride={s}, padding={p}, dilation={d}",
                )
            )
    return cases


register(
    Exercise(
        "3.1",
        "Output size with padding, stride and dilation",
        solution=conv_output_size,
        visible=_visible_3_1,
        hidden=_hidden_3_1,
        points=2,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Count the room the kernel has to move in the padded input, then how many strides fit in that room.",
    )
)


# ---------------------------------------------------------------- 3.2
def conv2d_num_params(
    in_channels: int, out_channels: int, kernel_size: int, bias: bool = True
) -> int:
    """The number of learnable parameters of a 2-D convolution layer.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K, for a K x K kernel.
        bias: whether each output channel has a bias.

    Returns:
        The number of weights plus biases (if any), as
        sum(p.numel() for p in nn.Conv2d(...).parameters()) would count them,
        without building the layer.
    """
    return (
        kernel_size * kernel_size * in_channels + (1 if bias else 0)
    ) * out_channels


def _visible_3_2() -> list[Case]:
    return [
        Case(
            (3, 10, 5),
            expected=760,
            label="ten 5x5 filters on an RGB input",
            hint="How many numbers does one filter hold, if it looks at every input channel?",
        ),
        Case(
            (3, 10, 3), expected=280, label="ten 3x3 filters on an RGB input"
        ),
        Case(
            (64, 128, 3),
            {"bias": False},
            expected=73728,
            label="64 -> 128 channels, 3x3, no bias",
        ),
    ]


def _hidden_3_2(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (_ints(rng, 1, 512), _ints(rng, 1, 512), _ints(rng, 1, 7)),
            {"bias": bool(rng.integers(2))},
            label="random layer",
        )
        for _ in range(6)
    ]


register(
    Exercise(
        "3.2",
        "Parameters of a convolution layer",
        solution=conv2d_num_params,
        visible=_visible_3_2,
        hidden=_hidden_3_2,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Which numbers does the layer learn? None of them depends on the image size.",
    )
)


# ---------------------------------------------------------------- 3.3
def conv2d_mult_adds(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    out_height: int,
    out_width: int,
) -> int:
    """The multiply-add operations of one forward pass of a convolution
    layer.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K, for a K x K kernel.
        out_height: H_out.
        out_width: W_out.

    Returns:
        The number of multiply-adds (a multiplication and the addition that
        accumulates it count as one) to compute the whole output of one
        image,
        ignoring the bias.
    """
    return (
        out_channels
        * out_height
        * out_width
        * in_channels
        * kernel_size
        * kernel_size
    )


def _visible_3_3() -> list[Case]:
    return [
        Case(
            (3, 10, 5, 32, 32),
            expected=768_000,
            label="ten 5x5 filters, 3 x 32 x 32 input, padding 2",
            hint="How many numbers does the layer output, and how much work is one of them?",
        ),
        Case(
            (1, 1, 3, 4, 4), expected=144, label="one 3x3 filter, 4x4 output"
        ),
    ]


def _hidden_3_3(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (
                _ints(rng, 1, 256),
                _ints(rng, 1, 256),
                _ints(rng, 1, 7),
                _ints(rng, 1, 112),
                _ints(rng, 1, 112),
            ),
            label="random layer",
        )
        for _ in range(5)
    ]


register(
    Exercise(
        "3.3",
        "Multiply-adds of a convolution layer",
        solution=conv2d_mult_adds,
        visible=_visible_3_3,
        hidden=_hidden_3_3,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="The same kernels are used at every output position.",
    )
)


# ---------------------------------------------------------------- 3.4
def receptive_field(
    kernel_sizes: list,
    strides: list | None = None,
    dilations: list | None = None,
) -> int:
    """The receptive field of a stack of convolutions, in input pixels.

    Args:
        kernel_sizes: K_1, ..., K_L from the first layer to the last.
        strides: S_1, ..., S_L (all 1 if None).
        dilations: D_1, ..., D_L (all 1 if None).

    Returns:
        The width, in input pixels, of the region that one output value of
        the
        last layer depends on.
    """
    strides = strides or [1] * len(kernel_sizes)
    dilations = dilations or [1] * len(kernel_sizes)
    r, jump = 1, 1
    for k, s, d in zip(kernel_sizes, strides, dilations):
        r += d * (k - 1) * jump
        jump *= s
    return r


def _visible_3_4() -> list[Case]:
    return [
        Case(
            ([3, 3, 3],),
            expected=7,
            label="three 3x3 layers see as far as one 7x7",
            hint="How much wider does the region get with each 3x3 layer?",
        ),
        Case(([5, 5],), expected=9, label="two 5x5 layers"),
        Case(
            ([3, 3], [2, 1]),
            expected=7,
            label="3x3 stride 2, then 3x3",
            hint="After a stride-2 layer, how far apart in the input are two neighbouring values?",
        ),
        Case(
            ([3, 3], None, [1, 2]),
            expected=7,
            label="3x3, then 3x3 with dilation 2",
        ),
    ]


def _hidden_3_4(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(6):
        n = _ints(rng, 1, 6)
        ks = [_ints(rng, 1, 7) for _ in range(n)]
        ss = [_ints(rng, 1, 3) for _ in range(n)]
        ds = [_ints(rng, 1, 3) for _ in range(n)]
        cases.append(Case((ks, ss, ds), label=f"{n} random layers"))
    return cases


register(
    Exercise(
        "3.4",
        "Receptive field of a stack",
        solution=receptive_field,
        visible=_visible_3_4,
        hidden=_hidden_3_4,
        points=2,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Go through the layers in order; keep track of how many input pixels one step of the current "
        "layer is worth.",
    )
)


# ---------------------------------------------------------------- 3.5 (choose)
def costliest_layer(input_shape, layers):
    """Which of four convolution layers costs the most multiply-adds on one
    image?

    Args:
        input_shape: (C_in, H, W), the same input for every layer.
        layers: maps a letter to (out_channels, kernel_size, stride, padding)
            of a square convolution with a bias (dilation 1).

    Returns:
        The letter (a str) of the layer that needs the most multiply-adds.
    """
    c_in, h, w = input_shape
    best, best_cost = None, -1
    for letter, (c_out, k, s, p) in layers.items():
        out_h, out_w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        cost = (
            out_h * out_w * c_out * c_in * k * k
        )  # outputs x work per output
        if cost > best_cost:
            best, best_cost = letter, cost
    return best


def _cost_and_params(input_shape, layer) -> tuple[int, int, int]:
    c_in, h, w = input_shape
    c_out, k, s, p = layer
    out_h = (h + 2 * p - k) // s + 1
    out_w = (w + 2 * p - k) // s + 1
    return (
        out_h * out_w * c_out * c_in * k * k,
        (k * k * c_in + 1) * c_out,
        out_h * out_w,
    )


def explain_costliest_layer(input_shape, layers) -> str:
    """The cost of every option, and why parameters do not decide it (shown
    after a wrong answer)."""
    parts = []
    for letter, layer in layers.items():
        cost, params, positions = _cost_and_params(input_shape, layer)
        parts.append(
            f"{letter}: {positions:,} output positions x {layer[0]} channels x {input_shape[0]}x{layer[1]}x"
            f"{layer[1]} = {cost:,} multiply-adds ({params:,} parameters)"
        )
    return (
        "cost = output values x multiply-adds per value; stride shrinks the output, kernel size and "
        "channels grow the work, and the parameter count says nothing about the number of positions. "
        + "; ".join(parts)
        + "."
    )


def _visible_3_5() -> list[Case]:
    return [
        Case(
            (
                (3, 224, 224),
                {
                    "A": (64, 7, 2, 3),
                    "B": (96, 11, 4, 2),
                    "C": (64, 3, 1, 1),
                    "D": (16, 1, 1, 0),
                },
            ),
            label="four first layers for a 224x224 RGB image",
            hint="A larger kernel is more work per position, but how many positions does each layer have?",
        ),
        Case(
            (
                (64, 56, 56),
                {
                    "A": (64, 3, 1, 1),
                    "B": (256, 1, 1, 0),
                    "C": (128, 3, 2, 1),
                    "D": (512, 3, 4, 1),
                },
            ),
            label="four layers on a 64-channel 56x56 feature map",
        ),
    ]


def _hidden_3_5(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 6:
        shape = (int(rng.choice([3, 16, 32, 64, 128])),) + (
            int(rng.choice([28, 32, 56, 64, 112])),
        ) * 2
        layers = {}
        for letter in "ABCD":
            k = int(rng.choice([1, 3, 5, 7]))
            layers[letter] = (
                int(rng.choice([16, 32, 64, 128, 256, 512])),
                k,
                int(rng.choice([1, 2, 4])),
                k // 2,
            )
        costs = [_cost_and_params(shape, layer) for layer in layers.values()]
        by_cost = sorted(range(4), key=lambda i: -costs[i][0])
        by_params = max(range(4), key=lambda i: costs[i][1])
        # One clear winner, and not the layer with the most parameters: the question tests the difference.
        if (
            costs[by_cost[0]][0] > 1.2 * costs[by_cost[1]][0]
            and by_params != by_cost[0]
        ):
            cases.append(
                Case(
                    (shape, layers),
                    label=f"four layers on a {shape[0]}x{shape[1]}x{shape[2]} input",
                )
            )
    return cases


register(
    Exercise(
        "3.5",
        "Which layer costs the most?",
        solution=costliest_layer,
        kind="choose",
        choices=tuple("ABCD"),
        explain=explain_costliest_layer,
        visible=_visible_3_5,
        hidden=_hidden_3_5,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Parameters and compute are different budgets: the chapter's VGG layer shows by how much.",
    )
)


# ---------------------------------------------------------------- 3.6 (diagnose)
def _buggy_conv_same(x, weight, dilation):
    """A "same" convolution: the output keeps the input's height and width.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: kernels of shape (C_out, C_in, K, K), K odd.
        dilation: D >= 1, the spacing between kernel taps.

    Returns:
        The cross-correlation of x with weight (stride 1, dilation D, zero
        padding, no bias), of shape (N, C_out, H, W), each output centred on
        its input pixel.
    """
    padding = weight.shape[-1] // 2
    return torch.nn.functional.conv2d(
        x, weight, padding=padding, dilation=dilation
    )


def conv_same(x, weight, dilation):
    """A "same" convolution: the output keeps the input's height and width.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: kernels of shape (C_out, C_in, K, K), K odd.
        dilation: D >= 1, the spacing between kernel taps.

    Returns:
        The cross-correlation of x with weight (stride 1, dilation D, zero
        padding, no bias), of shape (N, C_out, H, W), each output centred on
        its input pixel.
    """
    # The fix: a dilated kernel spans D (K - 1) + 1 pixels, so "same" needs D (K - 1) / 2 on each side.
    padding = dilation * (weight.shape[-1] - 1) // 2
    return torch.nn.functional.conv2d(
        x, weight, padding=padding, dilation=dilation
    )


def _visible_3_6() -> list[Case]:
    rng = np.random.default_rng(36)
    x = torch.from_numpy(
        rng.standard_normal((1, 2, 9, 9)).astype(np.float32)
    )
    w3 = torch.from_numpy(
        rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    )
    w5 = torch.from_numpy(
        rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    )
    return [
        Case(
            (x, w3, 1),
            label="3x3 kernels, no dilation (the bug does not show here)",
        ),
        Case(
            (x, w3, 2),
            label="3x3 kernels, dilation 2",
            hint="Look at the shape you get, then at how wide a dilated 3x3 kernel is.",
        ),
        Case((x, w5, 3), label="a 5x5 kernel, dilation 3"),
    ]


def _hidden_3_6(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(
        5
    ):  # dilated kernels, where the bug shows, and one 1x1 kernel, where it cannot
        k, d = (
            (int(rng.choice([3, 5, 7])), int(rng.integers(2, 5)))
            if i
            else (1, int(rng.integers(1, 5)))
        )
        h, w = (int(v) for v in rng.integers(5, 20, size=2))
        x = torch.from_numpy(
            rng.standard_normal((2, 3, h, w)).astype(np.float32)
        )
        weight = torch.from_numpy(
            rng.standard_normal((4, 3, k, k)).astype(np.float32)
        )
        cases.append(
            Case(
                (x, weight, d),
                label=f"{k}x{k} kernels, dilation {d}, {h}x{w} input",
            )
        )
    return cases


register(
    Exercise(
        "3.6",
        "Diagnose a 'same' convolution",
        solution=conv_same,
        kind="diagnose",
        buggy=_buggy_conv_same,
        visible=_visible_3_6,
        hidden=_hidden_3_6,
        points=2,
        forbid=("cnnlib",),
        hint="The function is right for dilation 1. What changes about the kernel when it is dilated?",
    )
)
