"""Chapter 2 exercises: convolution from loops.

The student's functions may use ``torch`` and plain Python; they may not call
a convolution PyTorch already has (``F.conv2d``, ``nn.Conv2d``, ...), SciPy,
NumPy's ``convolve``/``correlate`` or ``cnnlib``.
"""
from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = ["corr2d", "conv2d_multi", "convolve2d", "conv1x1"]

#: What the chapter 2 exercises may not call.
NO_LIBRARY_CONV = ("aten::conv", "cnnlib", "scipy", "numpy.convolve", "numpy.correlate")


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
        y of shape (H - kH + 1, W - kW + 1), where
        y[i, j] = sum over a, b of x[i + a, j + b] * k[a, b].
    """
    kh, kw = k.shape
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    y = torch.zeros(out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def _visible_2_1() -> list[Case]:
    x, k = torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2)
    return [
        Case((x, k), expected=torch.tensor([[19.0, 25.0], [37.0, 43.0]]),
             label="the 3x3 input and 2x2 kernel from the text"),
        Case((_seeded(4, 6, seed=1), torch.tensor([[2.0]])), label="a 1x1 kernel scales the input",
             hint="With a 1x1 kernel the output has the input's shape."),
        Case((_seeded(5, 7, seed=2), _seeded(2, 3, seed=3)), label="a non-square 5x7 input and 2x3 kernel",
             hint="Rows and columns can differ: use kH for rows and kW for columns."),
    ]


def _hidden_2_1(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_randn(rng, 4, 4), _randn(rng, 4, 4)), label="kernel as large as the input (1x1 output)")]
    for h, w, kh, kw in [(8, 8, 3, 3), (6, 9, 3, 1), (10, 7, 2, 5)]:
        cases.append(Case((_randn(rng, h, w), _randn(rng, kh, kw)), label=f"random {h}x{w} input, {kh}x{kw} kernel"))
    return cases


register(Exercise(
    "2.1", "Cross-correlation of one channel", solution=corr2d,
    visible=_visible_2_1, hidden=_hidden_2_1, points=2, forbid=NO_LIBRARY_CONV,
    hint="Slide the kernel over the input: output (i, j) is the sum of "
         "x[i:i+kH, j:j+kW] * k, for i < H - kH + 1 and j < W - kW + 1.",
))


# ---------------------------------------------------------------- 2.2
def conv2d_multi(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A convolution layer's forward pass: many input and output channels.

    Args:
        x: input of shape (C_in, H, W).
        weight: kernels of shape (C_out, C_in, kH, kW); kernel o spans all
            C_in input channels.

    Returns:
        y of shape (C_out, H - kH + 1, W - kW + 1), where
        y[o, i, j] = sum over c, a, b of x[c, i + a, j + b] * weight[o, c, a, b]
        (no padding, stride 1, no bias).
    """
    c_out, c_in, kh, kw = weight.shape
    out_h, out_w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    y = torch.zeros(c_out, out_h, out_w, dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            window = x[:, a:a + out_h, b:b + out_w]  # (C_in, out_h, out_w)
            y += torch.einsum("chw,oc->ohw", window, weight[:, :, a, b])
    return y


def _visible_2_2() -> list[Case]:
    x = torch.stack([torch.arange(9.0).reshape(3, 3), torch.arange(1.0, 10.0).reshape(3, 3)])
    k = torch.stack([torch.arange(4.0).reshape(2, 2), torch.arange(1.0, 5.0).reshape(2, 2)])
    return [
        Case((x, k[None]), expected=torch.tensor([[[56.0, 72.0], [104.0, 120.0]]]),
             label="the 2-channel example from the text (one output channel)",
             hint="Sum the cross-correlations of every input channel with its kernel slice."),
        Case((x, torch.stack([k, k + 1, k + 2])), label="the same input with 3 output channels",
             hint="Output channel o uses weight[o], which spans all input channels."),
        Case((_seeded(3, 6, 5, seed=4), _seeded(4, 3, 3, 2, seed=5)), label="random: 3 -> 4 channels, 3x2 kernels"),
    ]


def _hidden_2_2(rng: np.random.Generator) -> list[Case]:
    return [
        Case((_randn(rng, c_in, h, w), _randn(rng, c_out, c_in, kh, kw)),
             label=f"random: {c_in} -> {c_out} channels, {h}x{w} input, {kh}x{kw} kernels")
        for c_in, c_out, h, w, kh, kw in [(1, 1, 5, 5, 3, 3), (2, 5, 7, 6, 1, 1), (4, 2, 6, 6, 3, 3), (3, 3, 4, 8, 4, 2)]
    ]


register(Exercise(
    "2.2", "Many input and output channels", solution=conv2d_multi,
    visible=_visible_2_2, hidden=_hidden_2_2, points=3, forbid=NO_LIBRARY_CONV,
    hint="y[o] is the sum over input channels c of the cross-correlation of x[c] "
         "with weight[o, c]; loops over o and c are fine.",
))


# ---------------------------------------------------------------- 2.3
def convolve2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """True 2-D convolution (the kernel flipped), keeping only full overlaps.

    Args:
        x: input of shape (H, W).
        k: kernel of shape (kH, kW).

    Returns:
        y of shape (H - kH + 1, W - kW + 1), where
        y[i, j] = sum over a, b of x[i + a, j + b] * k[kH - 1 - a, kW - 1 - b],
        which is the cross-correlation with the kernel flipped in both axes.
    """
    flipped = torch.flip(k, dims=(0, 1))
    kh, kw = k.shape
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    y = torch.zeros(out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            y[i, j] = (x[i:i + kh, j:j + kw] * flipped).sum()
    return y


def _visible_2_3() -> list[Case]:
    x, k = torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2)
    return [
        Case((x, k), expected=torch.tensor([[5.0, 11.0], [23.0, 29.0]]),
             label="the 3x3 example again: convolution differs from cross-correlation",
             hint="Flip the kernel in both directions (up-down and left-right), then cross-correlate."),
        Case((_seeded(6, 6, seed=6), torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])),
             label="a Sobel kernel changes sign when flipped"),
        Case((_seeded(5, 4, seed=7), _seeded(3, 2, seed=8)), label="random 5x4 input, 3x2 kernel"),
    ]


def _hidden_2_3(rng: np.random.Generator) -> list[Case]:
    return [Case((_randn(rng, h, w), _randn(rng, kh, kw)), label=f"random {h}x{w} input, {kh}x{kw} kernel")
            for h, w, kh, kw in [(7, 7, 3, 3), (5, 8, 1, 4), (4, 4, 4, 4)]]


register(Exercise(
    "2.3", "True convolution flips the kernel", solution=convolve2d,
    visible=_visible_2_3, hidden=_hidden_2_3, points=2, forbid=NO_LIBRARY_CONV,
    hint="torch.flip(k, dims=(0, 1)) flips both axes; then proceed as in exercise 2.1.",
))


# ---------------------------------------------------------------- 2.4
def conv1x1(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution written as one matrix product over all pixels.

    Args:
        x: input of shape (C_in, H, W).
        weight: the 1x1 kernels as a matrix of shape (C_out, C_in).

    Returns:
        y of shape (C_out, H, W), where y[:, i, j] = weight @ x[:, i, j]:
        the same fully connected layer applied at every pixel.
    """
    c_in, h, w = x.shape
    return (weight @ x.reshape(c_in, h * w)).reshape(weight.shape[0], h, w)


def _visible_2_4() -> list[Case]:
    return [
        Case((torch.ones(2, 2, 3), torch.tensor([[1.0, 2.0]])), expected=torch.full((1, 2, 3), 3.0),
             label="two channels of ones, weights (1, 2): every pixel is 1 + 2 = 3"),
        Case((_seeded(3, 4, 5, seed=9), _seeded(2, 3, seed=10)), label="random: 3 -> 2 channels on a 4x5 image",
             hint="Reshape x to (C_in, H*W), multiply by weight, reshape back to (C_out, H, W)."),
    ]


def _hidden_2_4(rng: np.random.Generator) -> list[Case]:
    return [Case((_randn(rng, c_in, h, w), _randn(rng, c_out, c_in)), label=f"random: {c_in} -> {c_out} channels, {h}x{w}")
            for c_in, c_out, h, w in [(1, 4, 3, 3), (5, 1, 2, 7), (8, 16, 4, 4)]]


register(Exercise(
    "2.4", "A 1x1 convolution is a per-pixel linear layer", solution=conv1x1,
    visible=_visible_2_4, hidden=_hidden_2_4, points=2, forbid=NO_LIBRARY_CONV,
    hint="At each pixel the C_in values form a vector; the output vector is weight @ that vector.",
))
