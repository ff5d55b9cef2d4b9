"""Chapter 5 exercises: pooling, normalisation and dropout.

5.1 writes max pooling and 5.2 batch normalisation's training-mode
standardisation, without PyTorch's pooling or normalisation operators. 5.3
chooses which normalisation produced an output; 5.4 diagnoses an
anti-aliased downsampling layer that still aliases; 5.5 predicts what
inverted dropout does to the values it keeps.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "max_pool2d_windows",
    "batch_norm_train",
    "which_norm",
    "explain_which_norm",
    "downsample",
    "dropout_kept_value",
    "explain_dropout_kept_value",
]

NO_POOLING = (
    "cnnlib",
    "aten::.*pool",
    "torch.nn.functional.max_pool2d",
    "torch.nn.functional.avg_pool2d",
)
NO_NORM = ("cnnlib", "aten::.*(batch|layer|group|instance)_norm")


def _tensor(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# ---------------------------------------------------------------- 5.1
def max_pool2d_windows(
    x: torch.Tensor, kernel_size: int, stride: int
) -> torch.Tensor:
    """Max pooling of every channel of a batch, with no padding.

    Args:
        x: input of shape (N, C, H, W).
        kernel_size: K, for K x K windows.
        stride: S, the step between windows.

    Returns:
        Shape (N, C, H_out, W_out): the largest value of each window, as
        torch.nn.functional.max_pool2d(x, K, S) computes it (windows that
        would hang over the edge are left out).
    """
    n, c, h, w = x.shape
    h_out, w_out = (
        (h - kernel_size) // stride + 1,
        (w - kernel_size) // stride + 1,
    )
    out = torch.empty(n, c, h_out, w_out, dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            window = x[
                :,
                :,
                i * stride : i * stride + kernel_size,
                j * stride : j * stride + kernel_size,
            ]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


def _visible_5_1() -> list[Case]:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    rng = np.random.default_rng(51)
    return [
        Case(
            (x, 2, 2),
            label="0..15 in a 4x4 grid, 2x2 windows, stride 2",
            hint="Which cells make up the window of output (0, 1)?",
        ),
        Case(
            (_tensor(rng, 2, 3, 7, 7), 3, 2),
            label="two 3-channel 7x7 maps, 3x3 windows, stride 2",
            hint="Each channel is pooled on its own: the output has as many channels as the input.",
        ),
        Case(
            (_tensor(rng, 1, 2, 5, 6), 2, 1),
            label="overlapping 2x2 windows (stride 1) on a 5x6 map",
        ),
    ]


def _hidden_5_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(6):
        k, s = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        h, w = (int(v) for v in rng.integers(k, k + 9, size=2))
        cases.append(
            Case(
                (_tensor(rng, 2, 3, h, w), k, s),
                label=f"{h}x{w} maps, {k}x{k} windows, stride {s}",
            )
        )
    return cases


register(
    Exercise(
        "5.1",
        "Max pooling, per channel",
        solution=max_pool2d_windows,
        visible=_visible_5_1,
        hidden=_hidden_5_1,
        points=2,
        forbid=NO_POOLING,
        hint="Count the window positions along each axis as for a convolution, then take a maximum instead of a sum.",
    )
)


# ---------------------------------------------------------------- 5.2
def batch_norm_train(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Batch normalisation in training mode, without the learnable scale and
    shift.

    Args:
        x: a batch of feature maps, shape (N, C, H, W).
        eps: added to the variance before the square root.

    Returns:
        Shape (N, C, H, W): x standardised with this batch's statistics, as
        torch.nn.BatchNorm2d(C, affine=False) computes it in training mode.
    """
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)


def _visible_5_2() -> list[Case]:
    rng = np.random.default_rng(52)
    x = _tensor(rng, 4, 3, 5, 5) * torch.tensor([1.0, 5.0, 0.1]).view(
        1, 3, 1, 1
    ) + torch.tensor([0.0, 10.0, -3.0]).view(1, 3, 1, 1)
    return [
        Case(
            (x,),
            label="4 samples, 3 channels with different means and scales",
            hint="Which values share one mean: one sample's, one channel's, or everything's?",
        ),
        Case(
            (_tensor(rng, 8, 2, 1, 1),),
            label="8 samples of 2 channels, 1x1 maps",
        ),
        Case(
            (_tensor(rng, 2, 4, 3, 3),),
            {"eps": 0.5},
            label="a large eps",
            hint="Which variance does PyTorch use to standardise: the biased or the unbiased one?",
        ),
    ]


def _hidden_5_2(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        n, c, h, w = (int(v) for v in rng.integers(2, 7, size=4))
        scale, shift = float(rng.uniform(0.1, 10)), float(rng.uniform(-5, 5))
        cases.append(
            Case(
                (_tensor(rng, n, c, h, w) * scale + shift,),
                label=f"a random {n}x{c}x{h}x{w} batch",
            )
        )
    return cases


register(
    Exercise(
        "5.2",
        "Batch norm in training mode",
        solution=batch_norm_train,
        visible=_visible_5_2,
        hidden=_hidden_5_2,
        points=2,
        forbid=NO_NORM,
        hint="Per channel: one mean and one variance over every sample and every position of that channel.",
    )
)


# ---------------------------------------------------------------- 5.3 (choose)
NORMS = ("batch", "layer", "group", "instance")


def which_norm(x: torch.Tensor, y: torch.Tensor) -> str:
    """Which normalisation turned x into y?

    y is one of batch, layer, group or instance normalisation of x (PyTorch's
    functions with their default eps, no learnable scale or shift; group
    norm with more than one group and fewer groups than channels).

    Args:
        x: the input, shape (N, C, H, W) with N >= 2.
        y: the output, same shape.

    Returns:
        "batch", "layer", "group" or "instance".
    """
    n, c = x.shape[:2]

    def standardised(
        dims,
    ) -> bool:  # mean 0 over these axes (for every index of the others)
        return bool(
            torch.allclose(y.mean(dim=dims), torch.zeros(()), atol=1e-4)
        )

    if standardised((2, 3)):
        return "instance"
    if standardised((0, 2, 3)):
        return "batch"
    for g in range(2, c):
        if c % g == 0 and torch.allclose(
            y.reshape(n, g, -1).mean(-1), torch.zeros(()), atol=1e-4
        ):
            return "group"
    return "layer"


def _norms(x: torch.Tensor, groups: int) -> dict[str, torch.Tensor]:
    return {
        "batch": F.batch_norm(x, None, None, training=True),
        "layer": F.layer_norm(x, x.shape[1:]),
        "group": F.group_norm(x, groups),
        "instance": F.instance_norm(x),
    }


def explain_which_norm(x: torch.Tensor, y: torch.Tensor) -> str:
    """Which sets of values have mean 0 in y (shown after a wrong answer)."""

    def zero(dims):
        return bool(
            torch.allclose(y.mean(dim=dims), torch.zeros(()), atol=1e-4)
        )

    return (
        f"Look at where y has mean 0 and variance 1: per channel over the batch (batch norm): "
        f"{zero((0, 2, 3))}; per sample over everything (layer norm): {zero((1, 2, 3))}; per sample and "
        f"channel (instance norm): {zero((2, 3))}. Group norm is per sample over a block of neighbouring "
        f"channels: then each block of channels has mean 0, but single channels do not."
    )


def _case_5_3(rng: np.random.Generator, kind: str, label: str) -> Case:
    n, c = int(rng.integers(2, 5)), int(rng.choice([4, 6, 8]))
    x = _tensor(rng, n, c, 4, 4) * torch.from_numpy(
        rng.uniform(0.5, 3, (1, c, 1, 1)).astype(np.float32)
    ) + torch.from_numpy(rng.uniform(-2, 2, (n, c, 1, 1)).astype(np.float32))
    return Case((x, _norms(x, 2)[kind]), label=label)


def _visible_5_3() -> list[Case]:
    rng = np.random.default_rng(53)
    return [
        _case_5_3(rng, kind, f"mystery output {i + 1}")
        for i, kind in enumerate(("layer", "batch", "group"))
    ]


def _hidden_5_3(rng: np.random.Generator) -> list[Case]:
    return [
        _case_5_3(rng, kind, f"a hidden {kind}-norm output")
        for kind in NORMS
    ]


register(
    Exercise(
        "5.3",
        "Which normalisation was it?",
        solution=which_norm,
        kind="choose",
        choices=NORMS,
        explain=explain_which_norm,
        visible=_visible_5_3,
        hidden=_hidden_5_3,
        points=2,
        forbid=("cnnlib",),
        hint="Every normalisation leaves some set of values with mean 0 and variance 1. Which set?",
    )
)


# ---------------------------------------------------------------- 5.4 (diagnose)
def _buggy_downsample(x):
    """Halve the height and width of every channel without aliasing.

    Args:
        x: feature maps of shape (N, C, H, W), H and W at least 2.

    Returns:
        Shape (N, C, ceil(H / 2), ceil(W / 2)): the anti-aliased
        downsampling of blur pooling with the 3x3 binomial filter
        [1, 2, 1] x [1, 2, 1] / 16 and reflect padding, keeping the pixels
        at even rows and columns.
    """
    c = x.shape[1]
    b = torch.tensor([1.0, 2.0, 1.0])
    kernel = (b[:, None] * b[None, :] / 16).expand(c, 1, 3, 3)
    x = x[..., ::2, ::2]
    x = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    return torch.nn.functional.conv2d(x, kernel, groups=c)


def downsample(x):
    """Halve the height and width of every channel without aliasing.

    Args:
        x: feature maps of shape (N, C, H, W), H and W at least 2.

    Returns:
        Shape (N, C, ceil(H / 2), ceil(W / 2)): the anti-aliased
        downsampling of blur pooling with the 3x3 binomial filter
        [1, 2, 1] x [1, 2, 1] / 16 and reflect padding, keeping the pixels
        at even rows and columns.
    """
    c = x.shape[1]
    b = torch.tensor([1.0, 2.0, 1.0])
    kernel = (b[:, None] * b[None, :] / 16).expand(c, 1, 3, 3)
    # The fix: low-pass first, subsample after; the other order aliases, then blurs the aliases.
    x = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    x = torch.nn.functional.conv2d(x, kernel, groups=c)
    return x[..., ::2, ::2]


def _stripes(h: int, w: int, period: int) -> torch.Tensor:
    cols = torch.arange(w, dtype=torch.float32)
    return (cols % period < period / 2).float().expand(1, 1, h, w).clone()


def _visible_5_4() -> list[Case]:
    rng = np.random.default_rng(54)
    return [
        Case(
            (torch.full((1, 2, 6, 6), 0.5),),
            label="a flat grey input (no detail to alias)",
        ),
        Case(
            (_stripes(8, 8, 2),),
            label="1-pixel stripes: the finest detail an image can hold",
            hint="What should the finest stripes become after a proper low-pass filter?",
        ),
        Case((_tensor(rng, 2, 3, 9, 10),), label="random maps, odd height"),
    ]


def _hidden_5_4(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_stripes(10, 12, 2),), label="stripes, period 2")]
    for _ in range(4):
        h, w = (int(v) for v in rng.integers(2, 16, size=2))
        cases.append(
            Case((_tensor(rng, 2, 2, h, w),), label=f"random {h}x{w} maps")
        )
    return cases


register(
    Exercise(
        "5.4",
        "Diagnose a downsampling layer that still aliases",
        solution=downsample,
        kind="diagnose",
        buggy=_buggy_downsample,
        visible=_visible_5_4,
        hidden=_hidden_5_4,
        points=2,
        forbid=("cnnlib",),
        hint="Aliasing happens at the moment pixels are thrown away. What must already have happened by then?",
    )
)


# ---------------------------------------------------------------- 5.5 (predict)
def dropout_kept_value(p: float, value: float) -> float:
    """Predict what torch.nn.functional.dropout(x, p, training=True) does to
    the values it keeps.

    Args:
        p: the dropout probability, 0 <= p < 1.
        value: every entry of x equals this.

    Returns:
        The value of an entry that is not zeroed.
    """
    return value / (1 - p)


def explain_dropout_kept_value(p: float, value: float) -> str:
    """Why the kept values are scaled (shown after a wrong answer)."""
    return (
        f"In training, a fraction {p:g} of the entries become 0. Evaluation uses no dropout at all, so for "
        f"the next layer to see the same mean in both modes, the survivors are scaled: the mean "
        f"{1 - p:g} x kept value must equal {value:g}, so each kept entry is {value / (1 - p):g}."
    )


def _visible_5_5() -> list[Case]:
    return [
        Case(
            (0.5, 1.0),
            label="p = 0.5 on a tensor of ones",
            hint="Evaluation mode leaves x unchanged. What must the mean of the output be in training?",
        ),
        Case((0.2, 3.0), label="p = 0.2 on a tensor of threes"),
    ]


def _hidden_5_5(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (
                round(float(rng.uniform(0.05, 0.9)), 2),
                round(float(rng.uniform(-4, 4)), 1),
            ),
            label="random p and value",
        )
        for _ in range(4)
    ]


register(
    Exercise(
        "5.5",
        "Predict what dropout keeps",
        solution=dropout_kept_value,
        kind="predict",
        explain=explain_dropout_kept_value,
        visible=_visible_5_5,
        hidden=_hidden_5_5,
        points=1,
        forbid=("torch", "aten::.", "cnnlib"),
        setup="",
        hint="Dropout is switched off at evaluation, and the layer after it must not notice the difference.",
    )
)
