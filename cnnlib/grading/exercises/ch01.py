"""Chapter 1 exercises: from pixels to features.

1.1 counts the weights of a first layer, dense against convolutional; 1.2
moves an image by whole pixels; 1.3 computes the orientation histogram at
the heart of HOG; 1.4 trains a given CNN so that it still recognises digits
after they move (a training exercise: the student's function returns the
model and trusted code measures it on held-out digits); 1.5 chooses which
network's scores survive a shift; 1.6 diagnoses a broken equivariance test.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "first_layer_parameters",
    "shift_image",
    "orientation_histogram",
    "make_shift_cnn",
    "train_shift_robust",
    "digit_canvas_splits",
    "judge_shift_robust",
    "survives_shift",
    "explain_survives_shift",
    "equivariance_error",
]


def _randn(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# ---------------------------------------------------------------- 1.1
def first_layer_parameters(height, width, channels, hidden, kernel_size):
    """Parameters of a first layer: fully connected against convolutional.

    Args:
        height, width, channels: the input image is height x width x
            channels.
        hidden: the fully connected layer has this many hidden units; the
            convolutional layer has this many filters.
        kernel_size: each filter is kernel_size x kernel_size x channels.

    Returns:
        A pair (dense, conv) of ints: the number of weights plus biases of
        nn.Linear(height * width * channels, hidden), and that of
        nn.Conv2d(channels, hidden, kernel_size), counted without building
        either layer.
    """
    dense = height * width * channels * hidden + hidden
    conv = (kernel_size * kernel_size * channels + 1) * hidden
    return dense, conv


def _visible_1_1() -> list[Case]:
    return [
        Case(
            (32, 32, 3, 20, 3),
            expected=(61_460, 560),
            label="a 32x32 RGB image, 20 units / 20 3x3 filters",
            hint="How many inputs does each dense unit see, and what else does a unit own?",
        ),
        Case(
            (1000, 1000, 3, 20, 5),
            expected=(60_000_020, 1_520),
            label="a 1-megapixel RGB image: the lecture's 60 million weights (plus 20 biases)",
        ),
        Case(
            (8, 8, 1, 64, 3),
            label="an 8x8 digit, 64 units / 64 3x3 filters",
            hint="Which input channels does one filter look at?",
        ),
    ]


def _hidden_1_1(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            (224, 224, 3, 4096, 11),
            label="an ImageNet crop into 4,096 units / 11x11 filters",
        )
    ]
    for _ in range(3):
        h, w = (int(v) for v in rng.integers(1, 300, size=2))
        c, n, k = (
            int(rng.integers(1, 65)),
            int(rng.integers(1, 513)),
            int(rng.choice([1, 3, 5, 7])),
        )
        cases.append(
            Case(
                (h, w, c, n, k),
                label=f"a {h}x{w}x{c} image, {n} units / {n} {k}x{k} filters",
            )
        )
    return cases


register(
    Exercise(
        "1.1",
        "Dense versus convolutional first layer",
        solution=first_layer_parameters,
        visible=_visible_1_1,
        hidden=_hidden_1_1,
        points=1,
        forbid=("cnnlib",),
        setup="",
        hint="Ask which of the two counts grows with the image size, and why the other does not.",
    )
)


# ---------------------------------------------------------------- 1.2
def shift_image(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move an image by whole pixels, filling the uncovered border with
    zeros.

    Args:
        x: an image of shape (H, W).
        dy: rows to move down (negative: up).
        dx: columns to move right (negative: left).

    Returns:
        A tensor of shape (H, W): the content of x moved dy rows down and dx
        columns right; pixels that no input pixel lands on are 0, and content
        moved past the border is lost. (torch.roll wraps around instead; that
        is not what is asked.)
    """
    height, width = x.shape
    y = torch.zeros_like(x)
    for i in range(height):
        for j in range(width):
            if 0 <= i - dy < height and 0 <= j - dx < width:
                y[i, j] = x[i - dy, j - dx]
    return y


def _visible_1_2() -> list[Case]:
    x = torch.arange(1.0, 13.0).reshape(3, 4)
    return [
        Case(
            (x, 1, 0),
            expected=torch.tensor(
                [[0.0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8]]
            ),
            label="one row down: the top row becomes zeros",
        ),
        Case(
            (x, 0, -2),
            expected=torch.tensor(
                [[3.0, 4, 0, 0], [7, 8, 0, 0], [11, 12, 0, 0]]
            ),
            label="two columns left",
            hint="Which side of the image is left uncovered when content moves left?",
        ),
        Case(
            (x, 0, 0), expected=x.clone(), label="no shift changes nothing"
        ),
        Case(
            (x, 1, 1),
            expected=torch.tensor(
                [[0.0, 0, 0, 0], [0, 1, 2, 3], [0, 5, 6, 7]]
            ),
            label="down and right at once",
        ),
    ]


def _hidden_1_2(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            (_randn(rng, 5, 6), 5, 0),
            label="a shift as large as the image leaves only zeros",
        ),
        Case(
            (_randn(rng, 4, 4), -9, 2), label="a shift larger than the image"
        ),
    ]
    for _ in range(4):
        h, w = (int(v) for v in rng.integers(2, 12, size=2))
        dy, dx = int(rng.integers(-h + 1, h)), int(rng.integers(-w + 1, w))
        cases.append(
            Case(
                (_randn(rng, h, w), dy, dx),
                label=f"a random {h}x{w} image moved by ({dy}, {dx})",
            )
        )
    return cases


register(
    Exercise(
        "1.2",
        "Shifting an image",
        solution=shift_image,
        visible=_visible_1_2,
        hidden=_hidden_1_2,
        points=1,
        forbid=("cnnlib",),
        hint="For one output pixel, ask which input pixel lands on it, and whether that pixel exists.",
    )
)


# ---------------------------------------------------------------- 1.3
def orientation_histogram(patch: torch.Tensor, bins: int) -> torch.Tensor:
    """The histogram of gradient orientations of one cell, as in HOG.

    Args:
        patch: a grayscale cell of shape (H, W), float.
        bins: the number of orientation bins over 0..180 degrees.

    Returns:
        A tensor of shape (bins,): for each of `bins` equal orientation bins
        covering 0 (included) to 180 degrees (excluded), the total gradient
        magnitude of the pixels whose unsigned gradient orientation falls in
        it. The conventions are the chapter's: central differences (the
        neighbour on each side, not divided by 2), a gradient component of 0
        where a neighbour is missing (border rows for y, border columns for
        x),
        and orientation 0 for a gradient pointing along +x (a vertical edge).
    """
    gx = torch.zeros_like(patch)
    gy = torch.zeros_like(patch)
    gx[:, 1:-1] = patch[:, 2:] - patch[:, :-2]
    gy[1:-1, :] = patch[2:, :] - patch[:-2, :]
    magnitude = torch.sqrt(gx**2 + gy**2)
    angle = torch.remainder(torch.rad2deg(torch.atan2(gy, gx)), 180.0)
    index = torch.clamp(
        (angle / (180.0 / bins)).floor().long(), max=bins - 1
    )
    histogram = torch.zeros(bins, dtype=patch.dtype)
    histogram.index_add_(0, index.flatten(), magnitude.flatten())
    return histogram


def _visible_1_3() -> list[Case]:
    vertical_edge = torch.zeros(6, 6)
    vertical_edge[:, 3:] = 1.0
    horizontal_edge = vertical_edge.T.clone()
    diagonal = torch.tensor(
        [[float(i + j > 5) for j in range(6)] for i in range(6)]
    )
    return [
        Case(
            (vertical_edge, 9),
            label="a vertical edge: the gradient points along x, angle 0",
            hint="Where is the gradient of a vertical edge nonzero, and which way does it point?",
        ),
        Case(
            (horizontal_edge, 9),
            label="a horizontal edge: angle 90 degrees, bin 4 of 9",
        ),
        Case(
            (diagonal, 9),
            label="a diagonal edge: mostly 45 degrees, bin 2 of 9",
        ),
        Case(
            (
                torch.rand(8, 8, generator=torch.Generator().manual_seed(3)),
                9,
            ),
            label="a random 8x8 cell",
        ),
    ]


def _hidden_1_3(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case((torch.zeros(4, 5), 6), label="a flat cell: all bins 0"),
        Case(
            (torch.from_numpy(rng.random((5, 5))).float() * 255, 9),
            label="a cell in 0..255",
        ),
    ]
    for bins in (4, 9, 12):
        h, w = (int(v) for v in rng.integers(3, 12, size=2))
        cases.append(
            Case(
                (torch.from_numpy(rng.random((h, w))).float(), bins),
                label=f"a random {h}x{w} cell, {bins} bins",
            )
        )
    return cases


register(
    Exercise(
        "1.3",
        "The orientation histogram of a cell",
        solution=orientation_histogram,
        visible=_visible_1_3,
        hidden=_hidden_1_3,
        points=2,
        forbid=("cnnlib", "skimage", "cv2"),
        hint="Check one pixel by hand: its two gradient components, its orientation in degrees "
        "(unsigned: an orientation and its opposite are the same) and the bin it falls in.",
    )
)


# ---------------------------------------------------------------- 1.4
def make_shift_cnn():
    """The CNN of exercise 1.4: two conv blocks with 2x2 pooling and a
    flatten head (16x16 inputs)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def train_shift_robust(images, labels):
    """Train make_shift_cnn() so that it recognises digits moved by up to 2
    pixels.

    Args:
        images: training digits of shape (N, 1, 16, 16): 8x8 digits centred
            on a blank 16x16 canvas, values in [0, 1].
        labels: their classes, shape (N,), in 0..9.

    Returns:
        The trained model, built by make_shift_cnn() (the grader loads its
        weights into a fresh make_shift_cnn() and tests it on held-out digits
        moved up to 2 pixels in every direction).
    """
    torch.manual_seed(0)
    model = make_shift_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    size = images.shape[-1]
    padded = torch.nn.functional.pad(images, (3, 3, 3, 3))
    for epoch in range(20):
        model.train()
        order = torch.randperm(len(images))
        for start in range(0, len(images), 64):
            batch = order[start : start + 64]
            # Data augmentation: every image moves by its own random shift of -3..3 pixels.
            offsets = torch.randint(0, 7, (len(batch), 2)).tolist()
            x = torch.stack(
                [
                    padded[i, :, dy : dy + size, dx : dx + size]
                    for i, (dy, dx) in zip(batch.tolist(), offsets)
                ]
            )
            loss = torch.nn.functional.cross_entropy(model(x), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


#: The threshold of 1.4: mean accuracy over the shifted held-out digits.
SHIFT_ROBUST_THRESHOLD = 0.85


def digit_canvas_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The chapter's digits on a 16x16 canvas, split 70/10/20 as in the
    notebook (split seed 0)."""
    from cnnlib.data import load_digits
    from cnnlib.data.loaders import stratified_split
    from cnnlib.equivariance import pad_to_canvas

    images, labels = load_digits()
    images = pad_to_canvas(images, 16)
    train, val, test = stratified_split(labels, (0.1, 0.2), seed=0)
    return {
        "train": (images[train], labels[train]),
        "val": (images[val], labels[val]),
        "test": (images[test], labels[test]),
    }


def judge_shift_robust(part: str, shifts: list[tuple[int, int]]):
    """A judge for 1.4: load the returned state_dict into make_shift_cnn()
    and test it on shifted digits."""
    from cnnlib.equivariance import accuracy_under_shifts

    def judge(state_dict):
        if not isinstance(state_dict, dict):
            return False, (
                "expected the trained model (an nn.Module built by make_shift_cnn()); got "
                f"{type(state_dict).__name__}."
            )
        model = make_shift_cnn()
        try:
            model.load_state_dict(
                {k: torch.as_tensor(v) for k, v in state_dict.items()}
            )
        except (RuntimeError, TypeError, ValueError) as err:
            return (
                False,
                f"the returned model is not make_shift_cnn(): {str(err).splitlines()[0]}",
            )
        images, labels = digit_canvas_splits()[part]
        accuracies = accuracy_under_shifts(model, images, labels, shifts)
        mean = float(np.mean(accuracies))
        worst = min(range(len(shifts)), key=lambda i: accuracies[i])
        message = (
            f"mean accuracy {mean:.3f} over {len(shifts)} shifts of the {part} digits "
            f"(need {SHIFT_ROBUST_THRESHOLD}); worst {accuracies[worst]:.3f} at shift {shifts[worst]}"
        )
        return mean >= SHIFT_ROBUST_THRESHOLD, message

    return judge


def _visible_1_4() -> list[Case]:
    images, labels = digit_canvas_splits()["train"]
    shifts = [(dy, dx) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]
    return [
        Case(
            (images, labels),
            judge=judge_shift_robust("val", shifts),
            label="validation digits moved by -2, 0 or 2 pixels in each direction",
            hint="A flatten head only knows the positions it saw during training. What could "
            "the training digits show it?",
        )
    ]


def _hidden_1_4(rng: np.random.Generator) -> list[Case]:
    images, labels = digit_canvas_splits()["train"]
    shifts = [(0, 0)] + [
        tuple(int(v) for v in rng.integers(-2, 3, size=2)) for _ in range(8)
    ]
    return [
        Case(
            (images, labels),
            judge=judge_shift_robust("test", shifts),
            label="held-out test digits at random shifts of up to 2 pixels",
        )
    ]


register(
    Exercise(
        "1.4",
        "Teach a CNN to ignore shifts",
        solution=train_shift_robust,
        visible=_visible_1_4,
        hidden=_hidden_1_4,
        points=3,
        returns="state_dict",
        time_limit=180.0,
        forbid=("cnnlib",),
        kind="train",
        setup="import torch\nfrom torch import nn\n\n\n"
        + inspect.getsource(make_shift_cnn).rstrip(),
        hint="The architecture cannot change, so change what it learns from: which positions does it see?",
    )
)


# ---------------------------------------------------------------- 1.5 (choose)
def survives_shift(shift, networks):
    """Which network gives exactly the same class scores after the digit
    moves?

    Every network is blocks of a convolution (stride 1, zero padding that
    keeps the size) and a ReLU, with a max-pooling layer between two blocks,
    then a head. The digit sits on a blank canvas with room to move, so
    nothing falls off the border.

    Args:
        shift: (dy, dx), the pixels the digit moves down and right.
        networks: maps a letter to (head, pool_strides): head is "flatten"
            (flatten, then a dense layer) or "global max" (the maximum of
            each
            feature map, then a dense layer); pool_strides holds the stride
            of
            each max-pooling layer, in order (() when there is none).

    Returns:
        The letter (a str) of the one network whose scores cannot change,
        whatever its weights.
    """
    dy, dx = shift
    for letter, (head, pool_strides) in networks.items():
        total_stride = 1
        for stride in pool_strides:
            total_stride *= stride
        if (
            head == "global max"
            and dy % total_stride == 0
            and dx % total_stride == 0
        ):
            return letter
    return None


def explain_survives_shift(shift, networks) -> str:
    """Why the right network is right, network by network (shown after a
    wrong answer)."""
    dy, dx = shift
    parts = []
    for letter, (head, strides) in networks.items():
        total = int(np.prod(strides)) if strides else 1
        if head == "flatten":
            parts.append(
                f"{letter}: a flatten head weighs every position separately, so its scores change"
            )
        elif dy % total or dx % total:
            parts.append(
                f"{letter}: total stride {total} does not divide the shift ({dy}, {dx}), so the pooled "
                f"maps do not simply move and their maxima can change"
            )
        else:
            parts.append(
                f"{letter}: global max head and total stride {total} divides ({dy}, {dx}): the feature "
                f"maps move exactly and their maxima stay the same"
            )
    return "; ".join(parts) + "."


_ALL_NETWORKS = [
    (head, strides)
    for head in ("flatten", "global max")
    for strides in ((), (2,), (2, 2), (4,), (2, 3))
]


def _networks_1_5(rng: np.random.Generator, shift: tuple[int, int]) -> dict:
    def survives(net):
        total = int(np.prod(net[1])) if net[1] else 1
        return (
            net[0] == "global max"
            and shift[0] % total == 0
            and shift[1] % total == 0
        )

    right = [n for n in _ALL_NETWORKS if survives(n)]
    wrong = [n for n in _ALL_NETWORKS if not survives(n)]
    picked = [right[int(rng.integers(len(right)))]] + [
        wrong[i] for i in rng.choice(len(wrong), 3, replace=False)
    ]
    order = rng.permutation(4)
    return {letter: picked[i] for letter, i in zip("ABCD", order)}


def _visible_1_5() -> list[Case]:
    return [
        Case(
            (
                (3, 1),
                {
                    "A": ("flatten", (2,)),
                    "B": ("global max", (2,)),
                    "C": ("global max", ()),
                    "D": ("flatten", ()),
                },
            ),
            label="a shift by (3, 1)",
            hint="Two questions per network: does its head care where a feature is, and can its "
            "pooling grid follow this shift?",
        ),
        Case(
            (
                (2, -4),
                {
                    "A": ("global max", (2, 2)),
                    "B": ("flatten", ()),
                    "C": ("flatten", (2,)),
                    "D": ("global max", (2,)),
                },
            ),
            label="a shift by (2, -4)",
        ),
        Case(
            (
                (0, 6),
                {
                    "A": ("flatten", (2, 3)),
                    "B": ("global max", (2, 3)),
                    "C": ("global max", (4,)),
                    "D": ("flatten", (2, 2)),
                },
            ),
            label="a shift by (0, 6), pooling by 2 then by 3",
        ),
    ]


def _hidden_1_5(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(6):
        shift = (0, 0)
        while shift == (0, 0):
            shift = tuple(int(v) for v in rng.integers(-8, 9, size=2))
        cases.append(
            Case(
                (shift, _networks_1_5(rng, shift)),
                label=f"four networks, a shift by {shift}",
            )
        )
    return cases


register(
    Exercise(
        "1.5",
        "Which network ignores the shift?",
        solution=survives_shift,
        kind="choose",
        choices=tuple("ABCD"),
        explain=explain_survives_shift,
        visible=_visible_1_5,
        hidden=_hidden_1_5,
        points=1,
        forbid=("torch", "aten::.", "cnnlib"),
        setup="",
        hint="Recall the chapter's four-lessons figure: which heads gave invariance, and for which shifts?",
    )
)


# ---------------------------------------------------------------- 1.6 (diagnose)
def _buggy_equivariance_error(x, kernel, dy, dx):
    """How far a convolution is from shift-equivariant, for one shift.

    Args:
        x: an image of shape (H, W).
        kernel: a (k, k) kernel with k odd, applied as a layer applies it:
            cross-correlation, stride 1, zero padding that keeps the size.
        dy, dx: the shift in pixels (down, right), smaller than the image;
            uncovered pixels become 0.

    Returns:
        A float: the largest absolute difference, over all pixels, between
            the
        two things that equivariance says are equal; 0.0 when the output
        moves exactly with the input.
    """
    pad = kernel.shape[0] // 2

    def conv(image):
        return torch.nn.functional.conv2d(
            image[None, None], kernel[None, None], padding=pad
        )[0, 0]

    def shift(image):
        h, w = image.shape
        moved = torch.zeros_like(image)
        moved[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = (
            image[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
        )
        return moved

    return (conv(shift(x)) - conv(x)).abs().max().item()


def equivariance_error(x, kernel, dy, dx):
    """How far a convolution is from shift-equivariant, for one shift.

    Args:
        x: an image of shape (H, W).
        kernel: a (k, k) kernel with k odd, applied as a layer applies it:
            cross-correlation, stride 1, zero padding that keeps the size.
        dy, dx: the shift in pixels (down, right), smaller than the image;
            uncovered pixels become 0.

    Returns:
        A float: the largest absolute difference, over all pixels, between
            the
        two things that equivariance says are equal; 0.0 when the output
        moves exactly with the input.
    """
    pad = kernel.shape[0] // 2

    def conv(image):
        return torch.nn.functional.conv2d(
            image[None, None], kernel[None, None], padding=pad
        )[0, 0]

    def shift(image):
        h, w = image.shape
        moved = torch.zeros_like(image)
        moved[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = (
            image[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
        )
        return moved

    # The fix: shifting the input must give the SHIFTED output, not the output itself.
    return (conv(shift(x)) - shift(conv(x))).abs().max().item()


def _digit_on_canvas() -> torch.Tensor:
    canvas = torch.zeros(14, 14)
    canvas[4:10, 5:9] = torch.tensor(
        [
            [0, 1, 1, 0],
            [1, 0, 0, 1],
            [0, 1, 1, 1],
            [0, 0, 0, 1],
            [0, 0, 1, 0],
            [0, 1, 0, 0],
        ],
        dtype=torch.float32,
    )
    return canvas


def _visible_1_6() -> list[Case]:
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    return [
        Case(
            (_digit_on_canvas(), sobel, 2, -1),
            label="a digit with blank margins: exactly equivariant (0.0)",
            hint="Write down what equivariance promises for f = conv and a shift T, then compare with the "
            "last line.",
        ),
        Case(
            (_digit_on_canvas(), torch.ones(3, 3) / 9, -3, 2),
            label="the same digit, a box blur, shift (-3, 2)",
        ),
        Case(
            (
                torch.rand(8, 9, generator=torch.Generator().manual_seed(1)),
                sobel,
                1,
                0,
            ),
            label="a random image: only the border breaks equivariance",
        ),
    ]


def _hidden_1_6(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        h, w = (int(v) for v in rng.integers(6, 16, size=2))
        k = int(rng.choice([1, 3, 5]))
        dy, dx = int(rng.integers(-3, 4)), int(rng.integers(-3, 4))
        x = _randn(rng, h, w)
        if rng.random() < 0.5:  # blank margins: the answer is 0
            x[:4], x[-4:], x[:, :4], x[:, -4:] = 0, 0, 0, 0
        cases.append(
            Case(
                (x, _randn(rng, k, k), dy, dx),
                label=f"a random {h}x{w} image, {k}x{k} kernel, shift ({dy}, {dx})",
            )
        )
    return cases


register(
    Exercise(
        "1.6",
        "Diagnose an equivariance test",
        solution=equivariance_error,
        kind="diagnose",
        buggy=_buggy_equivariance_error,
        visible=_visible_1_6,
        hidden=_hidden_1_6,
        points=2,
        forbid=("cnnlib",),
        hint="On the digit with blank margins a stride-1 convolution is exactly equivariant; the function "
        "should say 0.0 there. What does it compare?",
    )
)
