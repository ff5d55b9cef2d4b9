"""Chapter 2 exercises: convolution from loops.

2.1-2.4 write convolutions; 2.5 predicts the size of the matrix a
convolution is; 2.6 diagnoses a "convolution" that is not commutative.

The student's functions in 2.1-2.4 may use ``torch`` and plain Python; they
may not call
a convolution PyTorch already has (``F.conv2d``, ``nn.Conv2d``, ...), SciPy,
NumPy's ``convolve``/``correlate`` or ``cnnlib``.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "corr2d",
    "conv2d_multi",
    "convolve2d",
    "conv1x1",
    "convolve_full",
    "conv_as_matrix",
    "explain_conv_as_matrix",
]

#: What the chapter 2 exercises may not call.
NO_LIBRARY_CONV = (
    "aten::conv",
    "cnnlib",
    "scipy",
    "numpy.convolve",
    "numpy.correlate",
)


def _randn(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def _seeded(*shape: int, seed: int) -> torch.Tensor:
    return _randn(np.random.default_rng(seed), *shape)


# ---------------------------------------------------------------- 2.1
def corr2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Cross-correlate a 2-D input with a 2-D kernel (no padding, stride 1).

    Args:
        x: input of shape (H, W).
        k: kernel of shape (kH, kW), with kH <= H and kW <= W.

    Returns:
        The cross-correlation y, of shape (H - kH + 1, W - kW + 1): one value
        for every position where the kernel fits inside the input.
    """
    kh, kw = k.shape
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    y = torch.zeros(out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            y[i, j] = (x[i : i + kh, j : j + kw] * k).sum()
    return y


def _visible_2_1() -> list[Case]:
    x, k = torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2)
    return [
        Case(
            (x, k),
            expected=torch.tensor([[19.0, 25.0], [37.0, 43.0]]),
            label="the 3x3 input and 2x2 kernel from the text",
        ),
        Case(
            (_seeded(4, 6, seed=1), torch.tensor([[2.0]])),
            label="a 1x1 kernel scales the input",
            hint="With a 1x1 kernel the output has the input's shape.",
        ),
        Case(
            (_seeded(5, 7, seed=2), _seeded(2, 3, seed=3)),
            label="a non-square 5x7 input and 2x3 kernel",
            hint="Rows and columns can differ: use kH for rows and kW for columns.",
        ),
    ]


def _hidden_2_1(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            (_randn(rng, 4, 4), _randn(rng, 4, 4)),
            label="kernel as large as the input (1x1 output)",
        )
    ]
    for h, w, kh, kw in [(8, 8, 3, 3), (6, 9, 3, 1), (10, 7, 2, 5)]:
        cases.append(
            Case(
                (_randn(rng, h, w), _randn(rng, kh, kw)),
                label=f"random {h}x{w} input, {kh}x{kw} kernel",
            )
        )
    return cases


register(
    Exercise(
        "2.1",
        "Cross-correlation of one channel",
        solution=corr2d,
        visible=_visible_2_1,
        hidden=_hidden_2_1,
        points=2,
        forbid=NO_LIBRARY_CONV,
        hint="Work out the top-left output of the 3x3 example by hand, then ask which part of x "
        "the output at (i, j) reads.",
    )
)


# ---------------------------------------------------------------- 2.2
def conv2d_multi(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A convolution layer's forward pass: many input and output channels.

    Args:
        x: input of shape (C_in, H, W).
        weight: kernels of shape (C_out, C_in, kH, kW); kernel o spans all
            C_in input channels.

    Returns:
        y of shape (C_out, H - kH + 1, W - kW + 1): output channel o is what
        kernel o computes from the whole input (no padding, stride 1, no
        bias).
    """
    c_out, c_in, kh, kw = weight.shape
    out_h, out_w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    y = torch.zeros(c_out, out_h, out_w, dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            window = x[
                :, a : a + out_h, b : b + out_w
            ]  # (C_in, out_h, out_w)
            y += torch.einsum("chw,oc->ohw", window, weight[:, :, a, b])
    return y


def _visible_2_2() -> list[Case]:
    x = torch.stack(
        [
            torch.arange(9.0).reshape(3, 3),
            torch.arange(1.0, 10.0).reshape(3, 3),
        ]
    )
    k = torch.stack(
        [
            torch.arange(4.0).reshape(2, 2),
            torch.arange(1.0, 5.0).reshape(2, 2),
        ]
    )
    return [
        Case(
            (x, k[None]),
            expected=torch.tensor([[[56.0, 72.0], [104.0, 120.0]]]),
            label="the 2-channel example from the text (one output channel)",
            hint="The corner value 56 is 19 + 37: where does each part come from?",
        ),
        Case(
            (x, torch.stack([k, k + 1, k + 2])),
            label="the same input with 3 output channels",
            hint="Which slice of weight belongs to output channel o?",
        ),
        Case(
            (_seeded(3, 6, 5, seed=4), _seeded(4, 3, 3, 2, seed=5)),
            label="random: 3 -> 4 channels, 3x2 kernels",
        ),
    ]


def _hidden_2_2(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (_randn(rng, c_in, h, w), _randn(rng, c_out, c_in, kh, kw)),
            label=f"random: {c_in} -> {c_out} channels, {h}x{w} input, {kh}x{kw} kernels",
        )
        for c_in, c_out, h, w, kh, kw in [
            (1, 1, 5, 5, 3, 3),
            (2, 5, 7, 6, 1, 1),
            (4, 2, 6, 6, 3, 3),
            (3, 3, 4, 8, 4, 2),
        ]
    ]


register(
    Exercise(
        "2.2",
        "Many input and output channels",
        solution=conv2d_multi,
        visible=_visible_2_2,
        hidden=_hidden_2_2,
        points=3,
        forbid=NO_LIBRARY_CONV,
        hint="Solve it for one output channel first; loops are fine.",
    )
)


# ---------------------------------------------------------------- 2.3
def convolve2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """True 2-D convolution, keeping only the positions where the kernel fits
    inside the input.

    Args:
        x: input of shape (H, W).
        k: kernel of shape (kH, kW).

    Returns:
        y of shape (H - kH + 1, W - kW + 1): the convolution in the
        mathematical sense of the chapter (not the cross-correlation that
        deep-learning layers compute).
    """
    flipped = torch.flip(k, dims=(0, 1))
    kh, kw = k.shape
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    y = torch.zeros(out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            y[i, j] = (x[i : i + kh, j : j + kw] * flipped).sum()
    return y


def _visible_2_3() -> list[Case]:
    x, k = torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2)
    return [
        Case(
            (x, k),
            expected=torch.tensor([[5.0, 11.0], [23.0, 29.0]]),
            label="the 3x3 example again: convolution differs from cross-correlation",
            hint="Compare the expected [[5, 11], [23, 29]] with the cross-correlation [[19, 25], [37, 43]]: "
            "which kernel entry meets x[0, 0] in each?",
        ),
        Case(
            (
                _seeded(6, 6, seed=6),
                torch.tensor(
                    [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]
                ),
            ),
            label="a Sobel kernel, where the two operations differ in sign",
        ),
        Case(
            (_seeded(5, 4, seed=7), _seeded(3, 2, seed=8)),
            label="random 5x4 input, 3x2 kernel",
        ),
    ]


def _hidden_2_3(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (_randn(rng, h, w), _randn(rng, kh, kw)),
            label=f"random {h}x{w} input, {kh}x{kw} kernel",
        )
        for h, w, kh, kw in [(7, 7, 3, 3), (5, 8, 1, 4), (4, 4, 4, 4)]
    ]


register(
    Exercise(
        "2.3",
        "True convolution",
        solution=convolve2d,
        visible=_visible_2_3,
        hidden=_hidden_2_3,
        points=2,
        forbid=NO_LIBRARY_CONV,
        hint="Look at the impulse response in the text: what does each operation do to the kernel?",
    )
)


# ---------------------------------------------------------------- 2.4
def conv1x1(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution, computed with a single matrix product (no loop over
    pixels).

    Args:
        x: input of shape (C_in, H, W).
        weight: the 1x1 kernels as a matrix of shape (C_out, C_in).

    Returns:
        y of shape (C_out, H, W), equal to a convolution with kernels of
        shape (C_out, C_in, 1, 1).
    """
    c_in, h, w = x.shape
    return (weight @ x.reshape(c_in, h * w)).reshape(weight.shape[0], h, w)


def _visible_2_4() -> list[Case]:
    return [
        Case(
            (torch.ones(2, 2, 3), torch.tensor([[1.0, 2.0]])),
            expected=torch.full((1, 2, 3), 3.0),
            label="two channels of ones, weights (1, 2): every pixel is 1 + 2 = 3",
        ),
        Case(
            (_seeded(3, 4, 5, seed=9), _seeded(2, 3, seed=10)),
            label="random: 3 -> 2 channels on a 4x5 image",
            hint="Which matrix would hold every pixel's channel vector at once?",
        ),
    ]


def _hidden_2_4(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (_randn(rng, c_in, h, w), _randn(rng, c_out, c_in)),
            label=f"random: {c_in} -> {c_out} channels, {h}x{w}",
        )
        for c_in, c_out, h, w in [(1, 4, 3, 3), (5, 1, 2, 7), (8, 16, 4, 4)]
    ]


register(
    Exercise(
        "2.4",
        "A 1x1 convolution without loops",
        solution=conv1x1,
        visible=_visible_2_4,
        hidden=_hidden_2_4,
        points=2,
        forbid=NO_LIBRARY_CONV,
        hint="What does a 1x1 kernel do at one pixel? Then do it for all pixels at once.",
    )
)


# ---------------------------------------------------------------- 2.5 (predict)
def conv_as_matrix(in_channels, out_channels, height, width, kernel_size):
    """Predict the shape and the sparsity of the matrix that a convolution
    layer is.

    A layer with K x K kernels (no padding, stride 1, no bias) maps an input
    of shape (C_in, H, W) to an output of shape (C_out, H_out, W_out); both
    flattened to vectors, the layer is a matrix M with output = M @ input.

    Args:
        in_channels, out_channels: C_in and C_out.
        height, width: H and W of the input.
        kernel_size: K.

    Returns:
        A tuple of four ints (rows, columns, weight_entries,
        distinct_weights):
        the shape of M; how many entries of M hold a kernel weight (every
        other entry is 0 whatever the weights are); and how many different
        learnable numbers those entries hold.
    """
    out_h, out_w = height - kernel_size + 1, width - kernel_size + 1
    rows = out_channels * out_h * out_w
    columns = in_channels * height * width
    per_row = (
        in_channels * kernel_size * kernel_size
    )  # each output reads one window of every input channel
    distinct = (
        out_channels * in_channels * kernel_size * kernel_size
    )  # shared by every position
    return rows, columns, rows * per_row, distinct


def explain_conv_as_matrix(
    in_channels, out_channels, height, width, kernel_size
) -> str:
    """Why the four numbers are what they are (shown after a wrong
    answer)."""
    k, out_h, out_w = (
        kernel_size,
        height - kernel_size + 1,
        width - kernel_size + 1,
    )
    rows, columns, entries, distinct = conv_as_matrix(
        in_channels, out_channels, height, width, kernel_size
    )
    return (
        f"one row per output value: {out_channels} x {out_h} x {out_w} = {rows}; one column per input value: "
        f"{in_channels} x {height} x {width} = {columns}; a row reads one {k}x{k} window of each of the "
        f"{in_channels} input channels, so it holds {in_channels * k * k} weights and the matrix {entries} "
        f"(locality); every position reuses its output channel's kernels, so there are only "
        f"{out_channels} x {in_channels} x {k} x {k} = {distinct} different numbers (weight sharing)."
    )


def _visible_2_6() -> list[Case]:
    return [
        Case(
            (1, 1, 4, 4, 3),
            expected=(4, 16, 36, 9),
            label="the chapter's 4x4 input and 3x3 kernel",
            hint="Draw the matrix of the text: what does one row hold?",
        ),
        Case((1, 1, 28, 28, 3), label="one 3x3 kernel on a 28x28 digit"),
        Case(
            (3, 8, 32, 32, 5), label="8 filters of 5x5 on a 32x32 RGB image"
        ),
    ]


def _hidden_2_6(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        k = int(rng.integers(1, 8))
        h, w = (int(v) for v in rng.integers(k, 65, size=2))
        c_in, c_out = int(rng.integers(1, 65)), int(rng.integers(1, 129))
        cases.append(
            Case(
                (c_in, c_out, h, w, k),
                label=f"{c_in} -> {c_out} channels, {h}x{w} input, {k}x{k} kernels",
            )
        )
    return cases


register(
    Exercise(
        "2.5",
        "Predict the matrix of a convolution",
        solution=conv_as_matrix,
        kind="predict",
        explain=explain_conv_as_matrix,
        visible=_visible_2_6,
        hidden=_hidden_2_6,
        points=1,
        forbid=("torch", "aten::.", "cnnlib"),
        setup="",
        hint="Rows and columns come from the sizes of output and input; the other two numbers are the "
        "chapter's two ideas, locality and sharing.",
    )
)


# ---------------------------------------------------------------- 2.6 (diagnose)
def _buggy_convolve_full(x, k):
    """The full convolution of two 2-D arrays: every shift at which they
    overlap.

    Args:
        x: shape (H, W).
        k: shape (kH, kW).

    Returns:
        y of shape (H + kH - 1, W + kW - 1), the convolution of the chapter
        (the mathematical one), so that convolve_full(x, k) and
        convolve_full(k, x) are equal.
    """
    kh, kw = k.shape
    return torch.nn.functional.conv2d(
        x[None, None], k[None, None], padding=(kh - 1, kw - 1)
    )[0, 0]


def convolve_full(x, k):
    """The full convolution of two 2-D arrays: every shift at which they
    overlap.

    Args:
        x: shape (H, W).
        k: shape (kH, kW).

    Returns:
        y of shape (H + kH - 1, W + kW - 1), the convolution of the chapter
        (the mathematical one), so that convolve_full(x, k) and
        convolve_full(k, x) are equal.
    """
    kh, kw = k.shape
    # The fix: conv2d cross-correlates; a convolution needs the kernel flipped in both axes.
    flipped = torch.flip(k, dims=(0, 1))
    return torch.nn.functional.conv2d(
        x[None, None], flipped[None, None], padding=(kh - 1, kw - 1)
    )[0, 0]


def _visible_2_5() -> list[Case]:
    x, k = torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2)
    return [
        Case(
            (x, k),
            label="the chapter's 3x3 input and 2x2 kernel",
            hint="Call it twice, as convolve_full(x, k) and convolve_full(k, x): which property fails?",
        ),
        Case(
            (k, x),
            label="the same pair the other way round: a convolution gives the same answer",
        ),
        Case(
            (x, torch.ones(3, 3)),
            label="a symmetric kernel: here the bug cannot show",
        ),
        Case(
            (_seeded(4, 5, seed=11), torch.tensor([[1.0, -1.0]])),
            label="a difference kernel [1, -1]",
        ),
    ]


def _hidden_2_5(rng: np.random.Generator) -> list[Case]:
    cases = []
    for h, w, kh, kw in [
        (5, 5, 3, 3),
        (4, 7, 2, 3),
        (3, 3, 5, 4),
        (6, 2, 1, 2),
    ]:
        x, k = _randn(rng, h, w), _randn(rng, kh, kw)
        cases += [
            Case((x, k), label=f"random {h}x{w} and {kh}x{kw}"),
            Case((k, x), label=f"random {kh}x{kw} and {h}x{w}"),
        ]
    return cases


register(
    Exercise(
        "2.6",
        "Diagnose a convolution that does not commute",
        solution=convolve_full,
        kind="diagnose",
        buggy=_buggy_convolve_full,
        visible=_visible_2_5,
        hidden=_hidden_2_5,
        points=2,
        forbid=("cnnlib", "scipy", "numpy.convolve", "numpy.correlate"),
        hint="Which of the chapter's two operations does torch.nn.functional.conv2d compute?",
    )
)
