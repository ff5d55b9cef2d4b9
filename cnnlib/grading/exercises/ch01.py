"""Chapter 1 exercises: from pixels to features.

1.1 counts the weights of a first layer, dense against convolutional; 1.2
moves an image by whole pixels; 1.3 computes the orientation histogram at
the heart of HOG; 1.4 trains a given CNN so that it still recognises digits
after they move (a training exercise: the student's function returns the
model and trusted code measures it on held-out digits).
"""
from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn

from cnnlib.grading.registry import Case, Exercise, register

__all__ = ["first_layer_parameters", "shift_image", "orientation_histogram", "make_shift_cnn",
           "train_shift_robust", "digit_canvas_splits", "judge_shift_robust"]


def _randn(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


# ---------------------------------------------------------------- 1.1
def first_layer_parameters(height, width, channels, hidden, kernel_size):
    """Parameters of a first layer: fully connected against convolutional.

    Args:
        height, width, channels: the input image is height x width x channels.
        hidden: the fully connected layer has this many hidden units; the
            convolutional layer has this many filters.
        kernel_size: each filter is kernel_size x kernel_size x channels.

    Returns:
        A pair (dense, conv) of ints: the weights plus biases of
        nn.Linear(height * width * channels, hidden), and those of
        nn.Conv2d(channels, hidden, kernel_size).
    """
    dense = height * width * channels * hidden + hidden
    conv = (kernel_size * kernel_size * channels + 1) * hidden
    return dense, conv


def _visible_1_1() -> list[Case]:
    return [
        Case((32, 32, 3, 20, 3), expected=(61_460, 560), label="a 32x32 RGB image, 20 units / 20 3x3 filters",
             hint="3,072 inputs times 20 units, plus one bias per unit."),
        Case((1000, 1000, 3, 20, 5), expected=(60_000_020, 1_520),
             label="a 1-megapixel RGB image: the lecture's 60 million weights (plus 20 biases)"),
        Case((8, 8, 1, 64, 3), label="an 8x8 digit, 64 units / 64 3x3 filters",
             hint="A filter spans every input channel and has one bias."),
    ]


def _hidden_1_1(rng: np.random.Generator) -> list[Case]:
    cases = [Case((224, 224, 3, 4096, 11), label="an ImageNet crop into 4,096 units / 11x11 filters")]
    for _ in range(3):
        h, w = (int(v) for v in rng.integers(1, 300, size=2))
        c, n, k = int(rng.integers(1, 65)), int(rng.integers(1, 513)), int(rng.choice([1, 3, 5, 7]))
        cases.append(Case((h, w, c, n, k), label=f"a {h}x{w}x{c} image, {n} units / {n} {k}x{k} filters"))
    return cases


register(Exercise(
    "1.1", "Dense versus convolutional first layer", solution=first_layer_parameters,
    visible=_visible_1_1, hidden=_hidden_1_1, points=1, forbid=("cnnlib",), setup="",
    hint="A dense layer has one weight per (input, unit) pair plus a bias per unit; a filter has "
         "kernel_size * kernel_size * channels weights plus one bias, whatever the image size.",
))


# ---------------------------------------------------------------- 1.2
def shift_image(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move an image by whole pixels, filling the uncovered border with zeros.

    Args:
        x: an image of shape (H, W).
        dy: rows to move down (negative: up).
        dx: columns to move right (negative: left).

    Returns:
        A tensor y of shape (H, W) with y[i, j] = x[i - dy, j - dx] where
        that index lies inside the image, and 0 elsewhere. (torch.roll wraps
        around instead; that is not what is asked.)
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
        Case((x, 1, 0), expected=torch.tensor([[0.0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8]]),
             label="one row down: the top row becomes zeros"),
        Case((x, 0, -2), expected=torch.tensor([[3.0, 4, 0, 0], [7, 8, 0, 0], [11, 12, 0, 0]]),
             label="two columns left", hint="Negative dx moves content left; the right border fills with zeros."),
        Case((x, 0, 0), expected=x.clone(), label="no shift changes nothing"),
        Case((x, 1, 1), expected=torch.tensor([[0.0, 0, 0, 0], [0, 1, 2, 3], [0, 5, 6, 7]]),
             label="down and right at once"),
    ]


def _hidden_1_2(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_randn(rng, 5, 6), 5, 0), label="a shift as large as the image leaves only zeros"),
             Case((_randn(rng, 4, 4), -9, 2), label="a shift larger than the image")]
    for _ in range(4):
        h, w = (int(v) for v in rng.integers(2, 12, size=2))
        dy, dx = int(rng.integers(-h + 1, h)), int(rng.integers(-w + 1, w))
        cases.append(Case((_randn(rng, h, w), dy, dx), label=f"a random {h}x{w} image moved by ({dy}, {dx})"))
    return cases


register(Exercise(
    "1.2", "Shifting an image", solution=shift_image,
    visible=_visible_1_2, hidden=_hidden_1_2, points=1, forbid=("cnnlib",),
    hint="Output pixel (i, j) comes from input pixel (i - dy, j - dx) when that pixel exists.",
))


# ---------------------------------------------------------------- 1.3
def orientation_histogram(patch: torch.Tensor, bins: int) -> torch.Tensor:
    """The histogram of gradient orientations of one cell, as in HOG.

    Args:
        patch: a grayscale cell of shape (H, W), float.
        bins: the number of orientation bins over 0..180 degrees.

    Returns:
        A tensor of shape (bins,). With central differences
        gx[i, j] = patch[i, j + 1] - patch[i, j - 1] and
        gy[i, j] = patch[i + 1, j] - patch[i - 1, j] (both 0 on the border
        rows and columns where a neighbour is missing), each pixel adds its
        magnitude sqrt(gx^2 + gy^2) to bin floor(angle / (180 / bins)), where
        angle = atan2(gy, gx) in degrees, taken modulo 180 (so 0 <= angle < 180).
    """
    gx = torch.zeros_like(patch)
    gy = torch.zeros_like(patch)
    gx[:, 1:-1] = patch[:, 2:] - patch[:, :-2]
    gy[1:-1, :] = patch[2:, :] - patch[:-2, :]
    magnitude = torch.sqrt(gx ** 2 + gy ** 2)
    angle = torch.remainder(torch.rad2deg(torch.atan2(gy, gx)), 180.0)
    index = torch.clamp((angle / (180.0 / bins)).floor().long(), max=bins - 1)
    histogram = torch.zeros(bins, dtype=patch.dtype)
    histogram.index_add_(0, index.flatten(), magnitude.flatten())
    return histogram


def _visible_1_3() -> list[Case]:
    vertical_edge = torch.zeros(6, 6)
    vertical_edge[:, 3:] = 1.0
    horizontal_edge = vertical_edge.T.clone()
    diagonal = torch.tensor([[float(i + j > 5) for j in range(6)] for i in range(6)])
    return [
        Case((vertical_edge, 9), label="a vertical edge: the gradient points along x, angle 0",
             hint="gx is 1 on the two columns beside the edge; gy is 0 everywhere."),
        Case((horizontal_edge, 9), label="a horizontal edge: angle 90 degrees, bin 4 of 9"),
        Case((diagonal, 9), label="a diagonal edge: mostly 45 degrees, bin 2 of 9"),
        Case((torch.rand(8, 8, generator=torch.Generator().manual_seed(3)), 9), label="a random 8x8 cell"),
    ]


def _hidden_1_3(rng: np.random.Generator) -> list[Case]:
    cases = [Case((torch.zeros(4, 5), 6), label="a flat cell: all bins 0"),
             Case((torch.from_numpy(rng.random((5, 5))).float() * 255, 9), label="a cell in 0..255")]
    for bins in (4, 9, 12):
        h, w = (int(v) for v in rng.integers(3, 12, size=2))
        cases.append(Case((torch.from_numpy(rng.random((h, w))).float(), bins), label=f"a random {h}x{w} cell, {bins} bins"))
    return cases


register(Exercise(
    "1.3", "The orientation histogram of a cell", solution=orientation_histogram,
    visible=_visible_1_3, hidden=_hidden_1_3, points=2, forbid=("cnnlib", "skimage", "cv2"),
    hint="Compute gx and gy for the inner columns / rows only, the angle with torch.atan2 in degrees "
         "modulo 180, the bin with floor(angle / (180 / bins)), then add the magnitudes per bin "
         "(a loop over pixels is fine).",
))


# ---------------------------------------------------------------- 1.4
def make_shift_cnn():
    """The CNN of exercise 1.4: two conv blocks with 2x2 pooling and a flatten head (16x16 inputs)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def train_shift_robust(images, labels):
    """Train make_shift_cnn() so that it recognises digits moved by up to 2 pixels.

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
            batch = order[start:start + 64]
            # Data augmentation: every image moves by its own random shift of -3..3 pixels.
            offsets = torch.randint(0, 7, (len(batch), 2)).tolist()
            x = torch.stack([padded[i, :, dy:dy + size, dx:dx + size]
                             for i, (dy, dx) in zip(batch.tolist(), offsets)])
            loss = torch.nn.functional.cross_entropy(model(x), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


#: The threshold of 1.4: mean accuracy over the shifted held-out digits.
SHIFT_ROBUST_THRESHOLD = 0.85


def digit_canvas_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The chapter's digits on a 16x16 canvas, split 70/10/20 as in the notebook (split seed 0)."""
    from cnnlib.data import load_digits
    from cnnlib.data.loaders import stratified_split
    from cnnlib.equivariance import pad_to_canvas

    images, labels = load_digits()
    images = pad_to_canvas(images, 16)
    train, val, test = stratified_split(labels, (0.1, 0.2), seed=0)
    return {"train": (images[train], labels[train]), "val": (images[val], labels[val]),
            "test": (images[test], labels[test])}


def judge_shift_robust(part: str, shifts: list[tuple[int, int]]):
    """A judge for 1.4: load the returned state_dict into make_shift_cnn() and test it on shifted digits."""
    from cnnlib.equivariance import accuracy_under_shifts

    def judge(state_dict):
        if not isinstance(state_dict, dict):
            return False, ("expected the trained model (an nn.Module built by make_shift_cnn()); got "
                           f"{type(state_dict).__name__}.")
        model = make_shift_cnn()
        try:
            model.load_state_dict({k: torch.as_tensor(v) for k, v in state_dict.items()})
        except (RuntimeError, TypeError, ValueError) as err:
            return False, f"the returned model is not make_shift_cnn(): {str(err).splitlines()[0]}"
        images, labels = digit_canvas_splits()[part]
        accuracies = accuracy_under_shifts(model, images, labels, shifts)
        mean = float(np.mean(accuracies))
        worst = min(range(len(shifts)), key=lambda i: accuracies[i])
        message = (f"mean accuracy {mean:.3f} over {len(shifts)} shifts of the {part} digits "
                   f"(need {SHIFT_ROBUST_THRESHOLD}); worst {accuracies[worst]:.3f} at shift {shifts[worst]}")
        return mean >= SHIFT_ROBUST_THRESHOLD, message

    return judge


def _visible_1_4() -> list[Case]:
    images, labels = digit_canvas_splits()["train"]
    shifts = [(dy, dx) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]
    return [Case((images, labels), judge=judge_shift_robust("val", shifts),
                 label="validation digits moved by -2, 0 or 2 pixels in each direction",
                 hint="Without augmentation the flatten head only knows centred digits: train on "
                      "randomly shifted copies (pad by 3 pixels, then crop 16x16 at a random offset).")]


def _hidden_1_4(rng: np.random.Generator) -> list[Case]:
    images, labels = digit_canvas_splits()["train"]
    shifts = [(0, 0)] + [tuple(int(v) for v in rng.integers(-2, 3, size=2)) for _ in range(8)]
    return [Case((images, labels), judge=judge_shift_robust("test", shifts),
                 label="held-out test digits at random shifts of up to 2 pixels")]


register(Exercise(
    "1.4", "Teach a CNN to ignore shifts", solution=train_shift_robust,
    visible=_visible_1_4, hidden=_hidden_1_4, points=3, returns="state_dict", time_limit=180.0,
    forbid=("cnnlib",),
    setup="import torch\nfrom torch import nn\n\n\n" + inspect.getsource(make_shift_cnn).rstrip(),
    hint="Train on shifted copies of the training digits (data augmentation), for example "
         "20 epochs of Adam (lr 3e-3, batches of 64), each image moved by a random -3..3 pixels.",
))
