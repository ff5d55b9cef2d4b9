"""Chapter 7 exercises: classic architectures.

7.1 writes the top-k error of the ImageNet challenge. 7.2 predicts the
parameters of a VGG block and 7.3 chooses whether the convolutions or the
fully connected layers of an AlexNet-like network hold most of its
parameters or its compute, both without building anything. 7.4 diagnoses an
inception module whose pooling branch gives the wrong values.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "explain_vgg_block_params",
    "explain_where_is_the_cost",
    "inception_forward",
    "top_k_error",
    "vgg_block_params",
    "where_is_the_cost",
]

#: Counting only: no PyTorch (which could measure the answer) and no cnnlib.
FORMULA_ONLY = ("torch", "aten::.", "cnnlib")


# ---------------------------------------------------------------- 7.1 (write)
def top_k_error(logits, targets, k):
    """The top-k error of a classifier on a batch of images.

    Args:
        logits: (N, C) scores, one row per image, one column per class.
        targets: (N,) int64, the true class of each image.
        k: how many of the highest-scoring classes count as guesses.

    Returns:
        A float in [0, 1]: the fraction of images whose true class is not
        among their k highest-scoring classes.
    """
    guesses = logits.topk(k, dim=1).indices
    hit = (guesses == targets[:, None]).any(dim=1)
    return float(1.0 - hit.float().mean())


def _visible_7_1() -> list[Case]:
    logits = torch.tensor(
        [
            [0.1, 2.0, 0.3, 0.5, 1.2],
            [3.0, 0.2, 2.9, 0.1, 0.0],
            [0.0, 0.1, 0.2, 0.3, 0.4],
            [1.0, 0.9, 0.8, 0.7, 5.0],
        ]
    )
    targets = torch.tensor([1, 2, 0, 3])
    return [
        Case(
            (logits, targets, 1),
            label="4 images, 5 classes, k=1: only image 0 is right",
            hint="For each image, which class scores highest, and is it the true one?",
        ),
        Case(
            (logits, targets, 3),
            label="the same with k=3",
            hint="Image 1's true class is its second guess; image 2's is its last.",
        ),
        Case((logits, targets, 5), label="k = C: every true class is among the guesses"),
    ]


def _hidden_7_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        n, c = int(rng.integers(1, 40)), int(rng.integers(2, 30))
        k = int(rng.integers(1, c + 1))
        logits = torch.from_numpy(rng.standard_normal((n, c)).astype(np.float32))
        targets = torch.from_numpy(rng.integers(0, c, size=n).astype(np.int64))
        cases.append(Case((logits, targets, k), label=f"{n} images, {c} classes, k={k}"))
    return cases


register(
    Exercise(
        "7.1",
        "Top-k error",
        solution=top_k_error,
        visible=_visible_7_1,
        hidden=_hidden_7_1,
        points=1,
        forbid=("cnnlib", "torchmetrics", "sklearn"),
        setup="import torch",
        hint="An image counts as an error when none of its k guesses is its true class.",
    )
)


# ---------------------------------------------------------------- 7.2 (predict)
def vgg_block_params(in_channels, out_channels, num_convs, batch_norm):
    """Predict the number of parameters of one VGG block.

    The block is num_convs layers of nn.Conv2d(kernel_size=3, padding=1,
    bias=True), the first from in_channels to out_channels channels and the
    rest from out_channels to out_channels, each followed (when batch_norm
    is True) by nn.BatchNorm2d(out_channels) and by a ReLU, and a 2x2 max
    pool at the end.

    Args:
        in_channels: channels entering the block.
        out_channels: channels of every convolution in it.
        num_convs: how many convolutions it has.
        batch_norm: whether each convolution is followed by batch norm.

    Returns:
        An int: the block's trainable parameters (the running statistics of
        batch norm are buffers, not parameters).
    """
    first = (3 * 3 * in_channels + 1) * out_channels
    rest = (num_convs - 1) * (3 * 3 * out_channels + 1) * out_channels
    norm = num_convs * 2 * out_channels if batch_norm else 0
    return first + rest + norm


def explain_vgg_block_params(in_channels, out_channels, num_convs, batch_norm) -> str:
    """Each layer's count (shown after a wrong answer)."""
    first = (9 * in_channels + 1) * out_channels
    rest = (9 * out_channels + 1) * out_channels
    text = (f"the first convolution has (3 x 3 x {in_channels} + 1) x {out_channels} = {first:,} "
            f"parameters (one bias per filter)")
    if num_convs > 1:
        text += (f"; each of the other {num_convs - 1} sees {out_channels} channels: "
                 f"(3 x 3 x {out_channels} + 1) x {out_channels} = {rest:,}")
    if batch_norm:
        text += f"; each batch norm learns a scale and a shift per channel, 2 x {out_channels}"
    total = vgg_block_params(in_channels, out_channels, num_convs, batch_norm)
    return text + f"; the ReLUs and the pool have none. Total {total:,}."


def _visible_7_2() -> list[Case]:
    return [
        Case((3, 64, 2, False), label="VGG-16's first block: 3 -> 64 channels, two convolutions",
             hint="How many weights does one 3x3 filter over 3 channels have, and how many filters are there?"),
        Case((128, 256, 3, False), label="VGG-16's third block: 128 -> 256, three convolutions",
             hint="The second and third convolutions see 256 channels, not 128."),
        Case((256, 512, 4, True), label="VGG-19-BN's fourth block: four convolutions with batch norm"),
    ]


def _hidden_7_2(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(6):
        c_in = int(rng.choice([1, 3, 16, 32, 64, 128, 256, 512]))
        c_out = int(rng.choice([8, 24, 64, 96, 128, 256, 512]))
        n, bn = int(rng.integers(1, 5)), bool(rng.integers(2))
        cases.append(Case((c_in, c_out, n, bn), label=f"{c_in} -> {c_out}, {n} convolutions, batch_norm={bn}"))
    return cases


register(
    Exercise(
        "7.2",
        "Predict the parameters of a VGG block",
        solution=vgg_block_params,
        kind="predict",
        explain=explain_vgg_block_params,
        visible=_visible_7_2,
        hidden=_hidden_7_2,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Count layer by layer: which layers have parameters, and what does each of their filters see?",
    )
)


# ---------------------------------------------------------------- 7.3 (choose)
def where_is_the_cost(input_shape, layers, measure):
    """Do the convolutions or the fully connected layers hold most of it?

    Args:
        input_shape: (C, H, W) of one image.
        layers: the network in order, each one of
            ("conv", out_channels, kernel_size, stride, padding): a square
            nn.Conv2d with a bias, followed by a ReLU;
            ("pool", kernel_size, stride): a max pool without padding;
            ("fc", out_features): an nn.Linear with a bias (the first one
            flattens its input).
        measure: "parameters", or "multiply-adds" for one image.

    Returns:
        "conv" if the convolution layers together hold more of the measure
        than the fully connected layers together, else "fc".
    """
    c, h, w = input_shape
    totals = {"conv": 0, "fc": 0}
    features = None
    for layer in layers:
        if layer[0] == "conv":
            _, c_out, k, s, p = layer
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            weights = k * k * c * c_out
            cost = weights + c_out if measure == "parameters" else weights * h * w
            totals["conv"] += cost
            c = c_out
        elif layer[0] == "pool":
            _, k, s = layer
            h, w = (h - k) // s + 1, (w - k) // s + 1
        else:
            n_in = c * h * w if features is None else features
            features = layer[1]
            totals["fc"] += n_in * features + (features if measure == "parameters" else 0)
    return "conv" if totals["conv"] > totals["fc"] else "fc"


def _totals(input_shape, layers, measure) -> tuple[int, int, list[str]]:
    c, h, w = input_shape
    conv = fc = 0
    features = None
    steps = []
    for layer in layers:
        if layer[0] == "conv":
            _, c_out, k, s, p = layer
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            n = k * k * c * c_out + c_out if measure == "parameters" else k * k * c * c_out * h * w
            conv += n
            steps.append(f"conv {c}->{c_out} {k}x{k} to {h}x{w}: {n:,}")
            c = c_out
        elif layer[0] == "pool":
            h, w = (h - layer[1]) // layer[2] + 1, (w - layer[1]) // layer[2] + 1
        else:
            n_in = c * h * w if features is None else features
            features = layer[1]
            n = n_in * features + (features if measure == "parameters" else 0)
            fc += n
            steps.append(f"fc {n_in:,}->{features:,}: {n:,}")
    return conv, fc, steps


def explain_where_is_the_cost(input_shape, layers, measure) -> str:
    """Every weight layer's share (shown after a wrong answer)."""
    conv, fc, steps = _totals(input_shape, layers, measure)
    return (f"{measure} per layer: " + "; ".join(steps) + f". Convolutions {conv:,}, fully connected {fc:,}. "
            "A convolution's weights are few but are used at every output position; a fully connected "
            "weight is used once per image.")


#: AlexNet as the 2012 paper describes it (227 px input, no groups).
ALEXNET_2012 = (
    ("conv", 96, 11, 4, 0), ("pool", 3, 2),
    ("conv", 256, 5, 1, 2), ("pool", 3, 2),
    ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
    ("fc", 4096), ("fc", 4096), ("fc", 1000),
)


def _visible_7_3() -> list[Case]:
    small = (("conv", 8, 3, 1, 1), ("pool", 2, 2), ("conv", 16, 3, 1, 1), ("pool", 2, 2), ("fc", 10))
    return [
        Case(((3, 227, 227), ALEXNET_2012, "parameters"), label="AlexNet (2012), parameters",
             hint="Compare conv5's weights with fc6's: what does fc6 see?"),
        Case(((3, 227, 227), ALEXNET_2012, "multiply-adds"), label="AlexNet (2012), multiply-adds",
             hint="A convolution's weights are used at every output position."),
        Case(((1, 28, 28), small, "parameters"), label="a small digit classifier, parameters"),
        Case(((3, 224, 224), (("conv", 4, 3, 2, 1), ("pool", 2, 2), ("fc", 2)), "parameters"),
             label="a tiny convolution and a linear layer on a large image"),
    ]


def _random_net(rng: np.random.Generator) -> tuple:
    size = int(rng.choice([32, 64, 96, 128, 224]))
    layers, s = [], size
    for _ in range(int(rng.integers(1, 4))):
        k = int(rng.choice([1, 3, 5]))
        stride = int(rng.integers(1, 3))
        layers.append(("conv", int(rng.choice([4, 16, 64, 256])), k, stride, k // 2))
        s = (s + 2 * (k // 2) - k) // stride + 1
        if s >= 4:
            layers.append(("pool", 2, 2))
            s = (s - 2) // 2 + 1
    for _ in range(int(rng.integers(1, 3))):
        layers.append(("fc", int(rng.choice([10, 64, 512, 4096]))))
    return (3, size, size), tuple(layers)


def _hidden_7_3(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 6:
        shape, layers = _random_net(rng)
        measure = str(rng.choice(["parameters", "multiply-adds"]))
        conv, fc, _ = _totals(shape, layers, measure)
        if conv == fc:
            continue  # no ties
        cases.append(Case((shape, layers, measure), label=f"a random {len(layers)}-layer network, {measure}"))
    return cases


register(
    Exercise(
        "7.3",
        "Choose where the parameters and the compute are",
        solution=where_is_the_cost,
        kind="choose",
        choices=("conv", "fc"),
        explain=explain_where_is_the_cost,
        visible=_visible_7_3,
        hidden=_hidden_7_3,
        points=1,
        forbid=FORMULA_ONLY,
        setup="",
        hint="Track the output size layer by layer; then count each layer's weights, and how often each is used.",
    )
)


# ---------------------------------------------------------------- 7.4 (diagnose)
def _buggy_inception_forward(x, weights):
    """An inception module with 1x1 reductions, as in GoogLeNet (2014).

    Args:
        x: input of shape (N, C_in, H, W).
        weights: maps each convolution's name to its (weight, bias):
            "1x1"; "3x3_reduce" then "3x3"; "5x5_reduce" then "5x5";
            "pool_proj" (the 1x1 convolution of the pooling branch). Every
            convolution keeps the height and width and is followed by a ReLU;
            the pooling branch max-pools 3x3 with stride 1 and padding 1.

    Returns:
        (N, C_out, H, W): the four branches concatenated along the channels
        in the order 1x1, 3x3, 5x5, pool.
    """
    F = torch.nn.functional

    def conv(name, inputs):
        weight, bias = weights[name]
        pad = weight.shape[-1] // 2
        return F.relu(F.conv2d(inputs, weight, bias, padding=pad))

    branch1 = conv("1x1", x)
    branch2 = conv("3x3", conv("3x3_reduce", x))
    branch3 = conv("5x5", conv("5x5_reduce", x))
    branch4 = F.max_pool2d(conv("pool_proj", x), 3, stride=1, padding=1)
    return torch.cat([branch1, branch2, branch3, branch4], dim=1)


def inception_forward(x, weights):
    """An inception module with 1x1 reductions, as in GoogLeNet (2014).

    Args:
        x: input of shape (N, C_in, H, W).
        weights: maps each convolution's name to its (weight, bias):
            "1x1"; "3x3_reduce" then "3x3"; "5x5_reduce" then "5x5";
            "pool_proj" (the 1x1 convolution of the pooling branch). Every
            convolution keeps the height and width and is followed by a ReLU;
            the pooling branch max-pools 3x3 with stride 1 and padding 1.

    Returns:
        (N, C_out, H, W): the four branches concatenated along the channels
        in the order 1x1, 3x3, 5x5, pool.
    """
    F = torch.nn.functional

    def conv(name, inputs):
        weight, bias = weights[name]
        pad = weight.shape[-1] // 2
        return F.relu(F.conv2d(inputs, weight, bias, padding=pad))

    branch1 = conv("1x1", x)
    branch2 = conv("3x3", conv("3x3_reduce", x))
    branch3 = conv("5x5", conv("5x5_reduce", x))
    # The fix: the pool branch pools the input, then its 1x1 projection
    # shrinks the channels.
    branch4 = conv("pool_proj", F.max_pool2d(x, 3, stride=1, padding=1))
    return torch.cat([branch1, branch2, branch3, branch4], dim=1)


def _inception_weights(rng: np.random.Generator, c_in: int, spec) -> dict:
    c1, c3r, c3, c5r, c5, pp = spec

    def conv(c_out, c, k):
        w = (rng.standard_normal((c_out, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
        b = (rng.standard_normal(c_out) * 0.1).astype(np.float32)
        return torch.from_numpy(w), torch.from_numpy(b)

    return {"1x1": conv(c1, c_in, 1), "3x3_reduce": conv(c3r, c_in, 1), "3x3": conv(c3, c3r, 3),
            "5x5_reduce": conv(c5r, c_in, 1), "5x5": conv(c5, c5r, 5), "pool_proj": conv(pp, c_in, 1)}


def _x(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def _visible_7_4() -> list[Case]:
    rng = np.random.default_rng(74)
    one_channel = _inception_weights(rng, 1, (2, 2, 3, 1, 2, 2))
    weight, bias = one_channel["pool_proj"]
    one_channel["pool_proj"] = (weight.abs(), bias)  # pooling and ReLU commute
    return [
        Case((_x(rng, 1, 1, 6, 6), one_channel), label="one input channel (the bug does not show here)"),
        Case((_x(rng, 2, 8, 7, 7), _inception_weights(rng, 8, (4, 3, 6, 2, 3, 2))),
             label="8 input channels, a small module",
             hint="Look at the pooling branch: what does it pool, and how many channels does it pool?"),
        Case((_x(rng, 1, 16, 5, 5), _inception_weights(rng, 16, (4, 6, 8, 2, 4, 4))),
             label="16 input channels, GoogLeNet 3a's proportions at 1/16 the width"),
    ]


def _hidden_7_4(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        c_in, size = int(rng.integers(2, 12)), int(rng.integers(3, 9))
        spec = tuple(int(v) for v in rng.integers(1, 7, size=6))
        cases.append(Case((_x(rng, 2, c_in, size, size), _inception_weights(rng, c_in, spec)),
                          label=f"{c_in} input channels, {size}x{size}, branches {spec}"))
    return cases


register(
    Exercise(
        "7.4",
        "Diagnose an inception module",
        solution=inception_forward,
        kind="diagnose",
        buggy=_buggy_inception_forward,
        visible=_visible_7_4,
        hidden=_hidden_7_4,
        points=2,
        forbid=("cnnlib", "torchvision"),
        setup="import torch",
        hint="The shapes are right. Draw the module's four branches and compare each with the code, in order.",
    )
)
