"""Chapter 3 exercises: the arithmetic of convolution layers.

Each answer is a formula in plain Python: the student's functions may not
build layers or run convolutions (no ``torch``, no ``cnnlib``).
"""
from __future__ import annotations

import numpy as np

from cnnlib.grading.registry import Case, Exercise, register

__all__ = ["conv_output_size", "conv2d_num_params", "conv2d_mult_adds", "receptive_field"]

#: Formulas only: no PyTorch (which could measure the answer) and no cnnlib.
FORMULA_ONLY = ("torch", "aten::.", "cnnlib")


def _ints(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1))


# ---------------------------------------------------------------- 3.1
def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """The length of a convolution's output along one axis.

    Args:
        size: input length H.
        kernel_size: K.
        stride: S.
        padding: P, added on both sides.
        dilation: D, the spacing between kernel taps.

    Returns:
        floor((H + 2P - D(K - 1) - 1) / S) + 1.
    """
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def _visible_3_1() -> list[Case]:
    return [
        Case((32, 5), {"padding": 2}, expected=32, label="32 wide, 5x5 kernel, padding 2 keeps the size"),
        Case((7, 3), {"stride": 2}, expected=3, label="7 wide, 3x3 kernel, stride 2",
             hint="Divide by the stride, round down, then add 1."),
        Case((7, 3), {"dilation": 2}, expected=3, label="7 wide, 3x3 kernel, dilation 2",
             hint="A dilated kernel spans D(K - 1) + 1 pixels."),
        Case((224, 11), {"stride": 4, "padding": 2}, expected=55, label="AlexNet's first layer"),
    ]


def _hidden_3_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 8:
        h, k, s, p, d = _ints(rng, 1, 64), _ints(rng, 1, 7), _ints(rng, 1, 4), _ints(rng, 0, 3), _ints(rng, 1, 3)
        if h + 2 * p - d * (k - 1) - 1 >= 0:
            cases.append(Case((h, k, s, p, d), label=f"size={h}, kernel={k}, stride={s}, padding={p}, dilation={d}"))
    return cases


register(Exercise(
    "3.1", "Output size with padding, stride and dilation", solution=conv_output_size,
    visible=_visible_3_1, hidden=_hidden_3_1, points=2, forbid=FORMULA_ONLY, setup="",
    hint="H_out = floor((H + 2P - D(K - 1) - 1) / S) + 1; // rounds down for positive numbers.",
))


# ---------------------------------------------------------------- 3.2
def conv2d_num_params(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> int:
    """The number of learnable parameters of a 2-D convolution layer.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K, for a K x K kernel.
        bias: whether each output channel has a bias.

    Returns:
        (K * K * C_in + 1) * C_out with a bias, K * K * C_in * C_out without.
    """
    return (kernel_size * kernel_size * in_channels + (1 if bias else 0)) * out_channels


def _visible_3_2() -> list[Case]:
    return [
        Case((3, 10, 5), expected=760, label="ten 5x5 filters on an RGB input",
             hint="Each filter has K*K*C_in weights and one bias."),
        Case((3, 10, 3), expected=280, label="ten 3x3 filters on an RGB input"),
        Case((64, 128, 3), {"bias": False}, expected=73728, label="64 -> 128 channels, 3x3, no bias"),
    ]


def _hidden_3_2(rng: np.random.Generator) -> list[Case]:
    return [Case((_ints(rng, 1, 512), _ints(rng, 1, 512), _ints(rng, 1, 7)), {"bias": bool(rng.integers(2))},
                 label="random layer") for _ in range(6)]


register(Exercise(
    "3.2", "Parameters of a convolution layer", solution=conv2d_num_params,
    visible=_visible_3_2, hidden=_hidden_3_2, points=1, forbid=FORMULA_ONLY, setup="",
))


# ---------------------------------------------------------------- 3.3
def conv2d_mult_adds(in_channels: int, out_channels: int, kernel_size: int, out_height: int, out_width: int) -> int:
    """The multiply-add operations of one forward pass of a convolution layer.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K, for a K x K kernel.
        out_height: H_out.
        out_width: W_out.

    Returns:
        C_out * H_out * W_out * (C_in * K * K): every output value is the inner
        product of a C_in x K x K window with a kernel.
    """
    return out_channels * out_height * out_width * in_channels * kernel_size * kernel_size


def _visible_3_3() -> list[Case]:
    return [
        Case((3, 10, 5, 32, 32), expected=768_000, label="ten 5x5 filters, 3 x 32 x 32 input, padding 2",
             hint="Count the output values, then the multiply-adds each one needs."),
        Case((1, 1, 3, 4, 4), expected=144, label="one 3x3 filter, 4x4 output"),
    ]


def _hidden_3_3(rng: np.random.Generator) -> list[Case]:
    return [Case((_ints(rng, 1, 256), _ints(rng, 1, 256), _ints(rng, 1, 7), _ints(rng, 1, 112), _ints(rng, 1, 112)),
                 label="random layer") for _ in range(5)]


register(Exercise(
    "3.3", "Multiply-adds of a convolution layer", solution=conv2d_mult_adds,
    visible=_visible_3_3, hidden=_hidden_3_3, points=1, forbid=FORMULA_ONLY, setup="",
))


# ---------------------------------------------------------------- 3.4
def receptive_field(kernel_sizes: list, strides: list | None = None, dilations: list | None = None) -> int:
    """The receptive field of a stack of convolutions, in input pixels.

    Args:
        kernel_sizes: K_1, ..., K_L from the first layer to the last.
        strides: S_1, ..., S_L (all 1 if None).
        dilations: D_1, ..., D_L (all 1 if None).

    Returns:
        r = 1 + sum over l of D_l (K_l - 1) * (S_1 * ... * S_{l-1}); for L
        layers of K x K kernels with stride 1 this is 1 + L(K - 1).
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
        Case(([3, 3, 3],), expected=7, label="three 3x3 layers see as far as one 7x7",
             hint="With stride 1 every K x K layer adds K - 1 pixels."),
        Case(([5, 5],), expected=9, label="two 5x5 layers"),
        Case(([3, 3], [2, 1]), expected=7, label="3x3 stride 2, then 3x3",
             hint="After a stride-2 layer, one step in the next layer is 2 input pixels."),
        Case(([3, 3], None, [1, 2]), expected=7, label="3x3, then 3x3 with dilation 2"),
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


register(Exercise(
    "3.4", "Receptive field of a stack", solution=receptive_field,
    visible=_visible_3_4, hidden=_hidden_3_4, points=2, forbid=FORMULA_ONLY, setup="",
    hint="Track the 'jump' (product of the strides so far): layer l adds D_l (K_l - 1) times the jump.",
))
