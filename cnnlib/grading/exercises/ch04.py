"""Chapter 4 exercises: convolution variants.

4.1 writes a transposed convolution by scattering kernel copies (no library
convolution). 4.2 diagnoses a transposed convolution built from zero
insertion
and an ordinary convolution. 4.3 chooses the transposed layer that meets a
size
requirement and 4.4 predicts what a depthwise separable layer saves, both
without running a layer.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "conv_transpose_scatter",
    "upsampling_layer",
    "explain_upsampling_layer",
    "separable_saving",
    "explain_separable_saving",
    "conv_transpose_by_zeros",
]

#: Formulas only: no PyTorch (which could measure the answer) and no cnnlib.
FORMULA_ONLY = ("torch", "aten::.", "cnnlib")


def _tensor(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# ---------------------------------------------------------------- 4.1 (write)
def conv_transpose_scatter(
    x: torch.Tensor, k: torch.Tensor, stride: int = 1
) -> torch.Tensor:
    """The transposed convolution of one channel, written as a scatter.

    Args:
        x: input of shape (H, W).
        k: kernel of shape (kH, kW).
        stride: S, the distance between the places where neighbouring input
            values put their copies of the kernel.

    Returns:
        y of the shape torch.nn.functional.conv_transpose2d gives for these
        arguments (no padding, no output_padding, dilation 1), with the same
        values, computed without any library convolution.
    """
    h, w = x.shape
    kh, kw = k.shape
    y = torch.zeros(
        (h - 1) * stride + kh, (w - 1) * stride + kw, dtype=x.dtype
    )
    for i in range(h):
        for j in range(w):
            y[
                i * stride : i * stride + kh, j * stride : j * stride + kw
            ] += x[i, j] * k
    return y


def _visible_4_1() -> list[Case]:
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    ones = torch.ones(3, 3)
    return [
        Case(
            (x, ones, 1),
            expected=torch.tensor(
                [
                    [1.0, 3, 3, 2],
                    [4, 10, 10, 6],
                    [4, 10, 10, 6],
                    [3, 7, 7, 4],
                ]
            ),
            label="the chapter's 2x2 input, 3x3 kernel of ones, stride 1: 4x4",
            hint="How many kernel copies cover the centre cells, and which input values scaled them?",
        ),
        Case(
            (x, ones, 2),
            expected=torch.tensor(
                [
                    [1.0, 1, 3, 2, 2],
                    [1, 1, 3, 2, 2],
                    [4, 4, 10, 6, 6],
                    [3, 3, 7, 4, 4],
                    [3, 3, 7, 4, 4],
                ]
            ),
            label="the same with stride 2: 5x5, the centre collects all four values",
            hint="With stride 2, where does the copy for input (0, 1) start?",
        ),
        Case(
            (
                torch.arange(6.0).reshape(2, 3),
                torch.tensor([[1.0, -1.0], [2.0, 0.5]]),
                3,
            ),
            label="a 2x3 input, an asymmetric 2x2 kernel, stride 3 (gaps between the copies)",
        ),
    ]


def _hidden_4_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(6):
        h, w, kh, kw, s = (
            int(v)
            for v in (
                *rng.integers(1, 7, size=2),
                *rng.integers(1, 5, size=2),
                rng.integers(1, 4),
            )
        )
        cases.append(
            Case(
                (_tensor(rng, h, w), _tensor(rng, kh, kw), s),
                label=f"random {h}x{w} input, {kh}x{kw} kernel, stride {s}",
            )
        )
    return cases


register(
    Exercise(
        "4.1",
        "Transposed convolution as a scatter",
        solution=conv_transpose_scatter,
        visible=_visible_4_1,
        hidden=_hidden_4_1,
        points=2,
        forbid=("aten::conv", "cnnlib", "scipy"),
        hint="Loop over the input, not over the output: each input value writes a whole block of y.",
    )
)


# ---------------------------------------------------------------- 4.2 (diagnose)
def _buggy_conv_transpose_by_zeros(x, weight, stride, padding):
    """A transposed convolution from zero insertion and an ordinary
    convolution.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: kernels of shape (C_in, C_out, K, K), laid out as
            torch.nn.functional.conv_transpose2d expects them.
        stride: S >= 1.
        padding: P, with 0 <= P <= K - 1.

    Returns:
        The same tensor as torch.nn.functional.conv_transpose2d(x, weight,
        stride=stride, padding=padding).
    """
    n, c, h, w = x.shape
    k = weight.shape[-1]
    spread = x.new_zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    spread[:, :, ::stride, ::stride] = (
        x  # S - 1 zeros between the input values
    )
    border = k - 1 - padding
    spread = torch.nn.functional.pad(
        spread, (border, border, border, border)
    )
    return torch.nn.functional.conv2d(spread, weight.transpose(0, 1))


def conv_transpose_by_zeros(x, weight, stride, padding):
    """A transposed convolution from zero insertion and an ordinary
    convolution.

    Args:
        x: input of shape (N, C_in, H, W).
        weight: kernels of shape (C_in, C_out, K, K), laid out as
            torch.nn.functional.conv_transpose2d expects them.
        stride: S >= 1.
        padding: P, with 0 <= P <= K - 1.

    Returns:
        The same tensor as torch.nn.functional.conv_transpose2d(x, weight,
        stride=stride, padding=padding).
    """
    n, c, h, w = x.shape
    k = weight.shape[-1]
    spread = x.new_zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    spread[:, :, ::stride, ::stride] = (
        x  # S - 1 zeros between the input values
    )
    border = k - 1 - padding
    spread = torch.nn.functional.pad(
        spread, (border, border, border, border)
    )
    # The fix: a scatter is a gather with the kernel turned by 180 degrees.
    return torch.nn.functional.conv2d(
        spread, weight.transpose(0, 1).flip(-2, -1)
    )


def _visible_4_2() -> list[Case]:
    rng = np.random.default_rng(44)
    x = _tensor(rng, 1, 2, 4, 4)
    symmetric = torch.ones(2, 3, 3, 3)
    return [
        Case(
            (x, symmetric, 2, 1),
            label="a kernel of ones (the bug does not show here)",
        ),
        Case(
            (x, _tensor(rng, 2, 3, 3, 3), 1, 0),
            label="random 3x3 kernels, stride 1",
            hint="Compare one output cell by hand: which kernel tap multiplies which input value?",
        ),
        Case(
            (x, _tensor(rng, 2, 1, 4, 4), 2, 1),
            label="random 4x4 kernels, stride 2, padding 1",
        ),
    ]


def _hidden_4_2(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        k, s = int(rng.choice([2, 3, 4, 5])), int(rng.integers(1, 4))
        p, h, w = (
            int(rng.integers(0, k)),
            int(rng.integers(2, 9)),
            int(rng.integers(2, 9)),
        )
        cases.append(
            Case(
                (_tensor(rng, 2, 3, h, w), _tensor(rng, 3, 2, k, k), s, p),
                label=f"{k}x{k} kernels, stride {s}, padding {p}, {h}x{w} input",
            )
        )
    return cases


register(
    Exercise(
        "4.2",
        "Diagnose a transposed convolution",
        solution=conv_transpose_by_zeros,
        kind="diagnose",
        buggy=_buggy_conv_transpose_by_zeros,
        visible=_visible_4_2,
        hidden=_hidden_4_2,
        points=2,
        forbid=(
            "cnnlib",
            "torch.nn.functional.conv_transpose2d",
            "torch.conv_transpose2d",
            "torch.nn.ConvTranspose2d",
            "aten::convolution_backward",
        ),
        hint="The shapes are right. Compare what a scatter does with what a sliding window does, tap by tap.",
    )
)


# ---------------------------------------------------------------- 4.3 (choose)
def upsampling_layer(size, target, options):
    """Which transposed convolution maps a size x size input to target x
    target?

    Args:
        size: the input's height and width.
        target: the height and width the output must have.
        options: maps a letter to (kernel_size, stride, padding,
            output_padding)
            of a square nn.ConvTranspose2d (dilation 1).

    Returns:
        The letter (a str) of the one option whose output is target x target.
    """
    for letter, (k, s, p, op) in options.items():
        if (size - 1) * s - 2 * p + k + op == target:
            return letter
    return None


def _transpose_size(size: int, layer) -> int:
    k, s, p, op = layer
    return (size - 1) * s - 2 * p + k + op


def explain_upsampling_layer(size, target, options) -> str:
    """The output size of every option (shown after a wrong answer)."""
    parts = [
        f"{letter}: ({size} - 1) x {s} - 2 x {p} + {k} + {op} = {_transpose_size(size, (k, s, p, op))}"
        for letter, (k, s, p, op) in options.items()
    ]
    return (
        "A transposed convolution places the input's copies of the kernel S apart, so the output is "
        "(H - 1) S + K wide before padding P trims each side and output_padding adds cells on one side: "
        + "; ".join(parts)
        + f". Only one gives {target}."
    )


def _visible_4_3() -> list[Case]:
    return [
        Case(
            (
                7,
                14,
                {
                    "A": (3, 2, 1, 0),
                    "B": (4, 2, 1, 0),
                    "C": (2, 2, 1, 0),
                    "D": (3, 2, 0, 1),
                },
            ),
            label="7x7 to 14x14, as a decoder doubling its feature map",
            hint="Work out the size for each option: where do the copies start, and what does padding remove?",
        ),
        Case(
            (
                2,
                5,
                {
                    "A": (3, 1, 0, 0),
                    "B": (3, 2, 1, 1),
                    "C": (3, 2, 0, 0),
                    "D": (4, 2, 1, 0),
                },
            ),
            label="2x2 to 5x5, the lecture's second example",
        ),
    ]


def _hidden_4_3(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 6:
        size = int(rng.integers(2, 33))
        options = {}
        for letter in "ABCD":
            k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
            options[letter] = (
                k,
                s,
                int(rng.integers(0, (k + 1) // 2 + 1)),
                int(rng.integers(0, s)),
            )
        sizes = [_transpose_size(size, o) for o in options.values()]
        target = sizes[int(rng.integers(4))]
        if (
            target > 0 and sizes.count(target) == 1
        ):  # exactly one right answer
            cases.append(
                Case(
                    (size, target, options),
                    label=f"{size}x{size} to {target}x{target}",
                )
            )
    return cases


register(
    Exercise(
        "4.3",
        "Choose the transposed convolution for a size",
        solution=upsampling_layer,
        kind="choose",
        choices=tuple("ABCD"),
        explain=explain_upsampling_layer,
        visible=_visible_4_3,
        hidden=_hidden_4_3,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Reason from the scatter picture of the chapter rather than from memory of one formula.",
    )
)


# ---------------------------------------------------------------- 4.4 (predict)
def separable_saving(in_channels, out_channels, kernel_size):
    """Predict how many times fewer weights a depthwise separable layer has.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: K, for K x K kernels.

    Returns:
        A float: the weights of nn.Conv2d(C_in, C_out, K, bias=False) divided
        by the weights of a depthwise K x K convolution (groups=C_in, one
        filter
        per channel) followed by a pointwise 1 x 1 convolution to C_out
        channels, both without bias.
    """
    standard = in_channels * out_channels * kernel_size * kernel_size
    separable = (
        in_channels * kernel_size * kernel_size + in_channels * out_channels
    )
    return standard / separable


def explain_separable_saving(in_channels, out_channels, kernel_size) -> str:
    """The two weight counts (shown after a wrong answer)."""
    c_in, c_out, k = in_channels, out_channels, kernel_size
    standard, depthwise, pointwise = (
        c_in * c_out * k * k,
        c_in * k * k,
        c_in * c_out,
    )
    return (
        f"standard: C_in x C_out x K^2 = {standard:,} weights. Depthwise: one {k}x{k} filter per input channel, "
        f"{depthwise:,}; pointwise: a 1x1 filter over all {c_in} channels for each of {c_out} outputs, "
        f"{pointwise:,}. Ratio {standard:,} / {depthwise + pointwise:,} = {standard / (depthwise + pointwise):.4g}; "
        "note that C_in cancels."
    )


def _visible_4_4() -> list[Case]:
    return [
        Case(
            (256, 256, 3),
            label="K=3, 256 -> 256 channels, as in the chapter",
            hint="Count the weights of the depthwise and of the pointwise step separately.",
        ),
        Case(
            (32, 64, 3),
            label="MobileNet's second layer: 32 -> 64 channels, 3x3",
        ),
        Case(
            (16, 1, 5),
            label="a single output channel: does separating still pay?",
        ),
    ]


def _hidden_4_4(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (
                int(rng.choice([8, 16, 32, 64, 128, 256, 512])),
                int(rng.integers(1, 1025)),
                int(rng.choice([1, 3, 5, 7])),
            ),
            label="random layer",
        )
        for _ in range(6)
    ]


register(
    Exercise(
        "4.4",
        "Predict the saving of a depthwise separable layer",
        solution=separable_saving,
        kind="predict",
        explain=explain_separable_saving,
        visible=_visible_4_4,
        hidden=_hidden_4_4,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Which of the two steps costs more when C_out is large, and which when K is large?",
    )
)
