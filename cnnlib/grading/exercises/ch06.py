"""Chapter 6 exercises: the loss, the metrics and the training loop of a CNN.

6.1 softmax, stable; 6.2 cross-entropy from logits; 6.3 the binary
cross-entropy and its gradient sigma(z) - y; 6.4 the confusion matrix;
6.5 a training loop for LeNet-5 (a training exercise: the student's function
returns the model and trusted code measures it on held-out digits).
"""
from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn

from cnnlib.grading.registry import Case, Exercise, register

__all__ = ["softmax", "cross_entropy", "bce_with_logits_and_grad", "confusion_matrix", "make_lenet",
           "train_lenet", "digit_splits", "judge_lenet"]

#: PyTorch's own softmax and losses, which 6.1-6.3 ask students to write themselves.
NO_LIBRARY_LOSS = ("cnnlib", "aten::.*softmax", "aten::nll_loss", "aten::cross_entropy",
                   "aten::binary_cross_entropy")


def _randn(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))


# ---------------------------------------------------------------- 6.1
def softmax(z: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension, safe for large logits.

    Args:
        z: logits of shape (..., C).

    Returns:
        p of the same shape, p[..., k] = exp(z[..., k]) / sum_j exp(z[..., j]).
        Subtract the maximum over the last dimension first: the result is the
        same, and exp never overflows.
    """
    shifted = z - z.max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def _visible_6_1() -> list[Case]:
    return [
        Case((torch.tensor([1.0, 2.0, 3.0]),), label="three logits",
             hint="exp(1), exp(2), exp(3) divided by their sum: about 0.090, 0.245, 0.665."),
        Case((torch.tensor([[0.0, 0.0], [5.0, -5.0]]),), label="a batch of two rows: softmax works row by row",
             hint="Sum over the last dimension only (dim=-1, keepdim=True)."),
        Case((torch.tensor([1000.0, 1001.0, 1002.0]),), label="huge logits: exp(1000) overflows to inf",
             hint="Subtract z.max(dim=-1, keepdim=True).values before exp; the answer does not change."),
    ]


def _hidden_6_1(rng: np.random.Generator) -> list[Case]:
    return [
        Case((_randn(rng, 5, 10),), label="a random (5, 10) batch"),
        Case((_randn(rng, 2, 3, 7, scale=50.0),), label="a (2, 3, 7) tensor of large logits"),
        Case((torch.tensor([[-1000.0, -1000.0, -999.0]]),), label="very negative logits (exp underflows to 0)"),
        Case((torch.full((4, 6), 3.0),), label="equal logits give the uniform distribution"),
    ]


register(Exercise(
    "6.1", "A stable softmax", solution=softmax, visible=_visible_6_1, hidden=_hidden_6_1, points=1,
    forbid=NO_LIBRARY_LOSS,
    hint="p = exp(z - max) / sum(exp(z - max)), with the max and the sum over the last dimension.",
))


# ---------------------------------------------------------------- 6.2
def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of softmax(logits) against integer class targets.

    Args:
        logits: shape (N, C), raw scores.
        target: shape (N,), integer classes in 0..C-1.

    Returns:
        A scalar tensor: -(1/N) * sum over n of log softmax(logits[n])[target[n]],
        the value torch.nn.functional.cross_entropy(logits, target) gives.
        Compute log softmax as (z - m) - log(sum exp(z - m)) with m the row
        maximum, so that large logits stay finite.
    """
    m = logits.max(dim=1, keepdim=True).values
    log_p = (logits - m) - torch.log(torch.exp(logits - m).sum(dim=1, keepdim=True))
    picked = log_p[torch.arange(logits.shape[0]), target]
    return -picked.mean()


def _visible_6_2() -> list[Case]:
    return [
        Case((torch.zeros(3, 10), torch.tensor([0, 4, 9])), expected=torch.tensor(float(np.log(10.0))),
             label="equal logits: the loss is log C = log 10", hint="Every class has p = 1/10, and -log(1/10) = log 10."),
        Case((torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]), torch.tensor([0, 1])), label="a small batch"),
        Case((torch.tensor([[1000.0, 0.0], [0.0, 1000.0]]), torch.tensor([1, 1])), expected=torch.tensor(500.0),
             label="huge logits, one confident mistake: loss (1000 + 0) / 2",
             hint="Use the stable log softmax: log(softmax) of a huge logit gap is -inf otherwise."),
    ]


def _hidden_6_2(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, c, scale in [(1, 2, 1.0), (16, 10, 3.0), (8, 5, 100.0)]:
        target = torch.from_numpy(rng.integers(0, c, size=n)).long()
        cases.append(Case((_randn(rng, n, c, scale=scale), target), label=f"random logits ({n}, {c}) x {scale:g}"))
    return cases


register(Exercise(
    "6.2", "Cross-entropy from logits", solution=cross_entropy, visible=_visible_6_2, hidden=_hidden_6_2,
    points=2, forbid=NO_LIBRARY_LOSS,
    hint="Stable log softmax per row, pick the entry of the true class with "
         "log_p[torch.arange(N), target], then take minus the mean.",
))


# ---------------------------------------------------------------- 6.3
def bce_with_logits_and_grad(z: torch.Tensor, y: torch.Tensor):
    """Binary cross-entropy of logits and its gradient, written out.

    Args:
        z: logits, shape (N,).
        y: targets in {0, 1} (floats), shape (N,).

    Returns:
        A pair (loss, grad): loss is the scalar mean over the N examples of
        -[y log sigma(z) + (1 - y) log(1 - sigma(z))] with
        sigma(z) = 1 / (1 + exp(-z)); grad is d loss / d z, shape (N,), which
        simplifies to (sigma(z) - y) / N. For large |z| compute the loss as
        max(z, 0) - y z + log(1 + exp(-|z|)), the same number without log(0).
    """
    loss = (z.clamp(min=0) - y * z + torch.log1p(torch.exp(-z.abs()))).mean()
    grad = (1.0 / (1.0 + torch.exp(-z)) - y) / z.shape[0]
    return loss, grad


def _visible_6_3() -> list[Case]:
    return [
        Case((torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0])), label="z = 0: loss log 2, gradient (0.5 - y) / 2"),
        Case((torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])), label="three examples"),
        Case((torch.tensor([100.0, -100.0]), torch.tensor([0.0, 1.0])), label="confident mistakes: loss 100, no inf",
             hint="Use max(z, 0) - y z + log1p(exp(-|z|)) for the loss."),
    ]


def _hidden_6_3(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, scale in [(1, 1.0), (20, 3.0), (10, 60.0)]:
        y = torch.from_numpy(rng.integers(0, 2, size=n).astype(np.float32))
        cases.append(Case((_randn(rng, n, scale=scale), y), label=f"{n} random logits x {scale:g}"))
    return cases


register(Exercise(
    "6.3", "Binary cross-entropy and sigma(z) - y", solution=bce_with_logits_and_grad,
    visible=_visible_6_3, hidden=_hidden_6_3, points=2, forbid=NO_LIBRARY_LOSS,
    hint="loss = mean(max(z, 0) - y z + log1p(exp(-|z|))); grad = (sigmoid(z) - y) / N.",
))


# ---------------------------------------------------------------- 6.4
def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Count how often each true class is predicted as each class.

    Args:
        targets: true classes, shape (N,), integers in 0..num_classes-1.
        predictions: predicted classes, shape (N,).
        num_classes: C.

    Returns:
        An int64 tensor M of shape (C, C): M[i, j] is the number of examples
        of true class i predicted as class j (rows: truth, columns: prediction).
    """
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(targets.tolist(), predictions.tolist()):
        matrix[t, p] += 1
    return matrix


def _visible_6_4() -> list[Case]:
    return [
        Case((torch.tensor([0, 1, 2, 2]), torch.tensor([0, 2, 2, 0]), 3),
             expected=torch.tensor([[1, 0, 0], [0, 0, 1], [1, 0, 1]]),
             label="four examples, three classes", hint="Row = true class, column = predicted class."),
        Case((torch.tensor([1, 1, 1]), torch.tensor([1, 1, 1]), 4), label="a class never seen still has a row and a column"),
    ]


def _hidden_6_4(rng: np.random.Generator) -> list[Case]:
    cases = [Case((torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64), 2),
                  label="no examples: all zeros")]
    for n, c in [(50, 10), (7, 2)]:
        t = torch.from_numpy(rng.integers(0, c, size=n)).long()
        p = torch.from_numpy(rng.integers(0, c, size=n)).long()
        cases.append(Case((t, p, c), label=f"{n} random predictions over {c} classes"))
    return cases


register(Exercise(
    "6.4", "The confusion matrix", solution=confusion_matrix, visible=_visible_6_4, hidden=_hidden_6_4,
    points=1, forbid=("cnnlib", "sklearn", "torchmetrics"),
    hint="Start from zeros of shape (C, C) and add one at [target, prediction] for each example.",
))


# ---------------------------------------------------------------- 6.5
def make_lenet():
    """LeNet-5 for 28x28 digits, as in the chapter: 28x28x6, 14x14x6, 10x10x16, 5x5x16, 120, 84, 10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def train_lenet(images, labels):
    """Write the training loop: train make_lenet() on the digits and return it.

    Args:
        images: training digits of shape (N, 1, 28, 28), values in [0, 1].
        labels: their classes, shape (N,), in 0..9.

    Returns:
        The trained model, built by make_lenet() (the grader loads its
        weights into a fresh make_lenet() and measures its accuracy on
        held-out digits: at least 95% is needed).
    """
    torch.manual_seed(0)
    model = make_lenet()
    epochs, batch_size = 12, 32
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    steps = epochs * ((len(images) + batch_size - 1) // batch_size)
    # Warm the learning rate up, then anneal it: a common schedule that helps a short run.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(images))
        for start in range(0, len(images), batch_size):
            batch = order[start:start + batch_size]
            loss = loss_fn(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model.eval()


#: Accuracy 6.5 needs on held-out digits.
LENET_THRESHOLD = 0.95


def digit_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The 28x28 digits split 70/10/20 as ``get_loaders("digits")`` splits them (split seed 0)."""
    from cnnlib.data import load_digits
    from cnnlib.data.loaders import stratified_split

    images, labels = load_digits(size=28)
    train, val, test = stratified_split(labels, (0.1, 0.2), seed=0)
    return {"train": (images[train], labels[train]), "val": (images[val], labels[val]),
            "test": (images[test], labels[test])}


def judge_lenet(part: str, threshold: float = LENET_THRESHOLD):
    """A judge for 6.5: load the returned state_dict into make_lenet() and measure accuracy on ``part``."""

    def judge(state_dict):
        if not isinstance(state_dict, dict):
            return False, f"expected the trained model (an nn.Module built by make_lenet()); got {type(state_dict).__name__}."
        model = make_lenet()
        try:
            model.load_state_dict({k: torch.as_tensor(v) for k, v in state_dict.items()})
        except (RuntimeError, TypeError, ValueError) as err:
            return False, f"the returned model is not make_lenet(): {str(err).splitlines()[0]}"
        images, labels = digit_splits()[part]
        model.eval()
        with torch.no_grad():
            accuracy = (model(images).argmax(1) == labels).float().mean().item()
        return accuracy >= threshold, f"accuracy {accuracy:.3f} on {len(labels)} {part} digits (need {threshold})"

    return judge


def _visible_6_5() -> list[Case]:
    images, labels = digit_splits()["train"]
    return [Case((images, labels), judge=judge_lenet("val", 0.94), label="accuracy on the validation digits (94% needed here, 95% on the held-out test digits)",
                 hint="Loop over epochs and shuffled batches: model.train(), loss, optimizer.zero_grad(), "
                      "loss.backward(), optimizer.step(). Adam with lr 1e-3 to 3e-3 for about 10 epochs works.")]


def _hidden_6_5(rng: np.random.Generator) -> list[Case]:
    images, labels = digit_splits()["train"]
    return [Case((images, labels), judge=judge_lenet("test"), label="accuracy on the held-out test digits")]


register(Exercise(
    "6.5", "A training loop for LeNet-5", solution=train_lenet, visible=_visible_6_5, hidden=_hidden_6_5,
    points=3, returns="state_dict", time_limit=180.0, forbid=("cnnlib",),
    setup="import torch\nfrom torch import nn\n\n\n" + inspect.getsource(make_lenet).rstrip(),
    hint="The loop of the chapter: for each epoch, model.train(); for each shuffled batch, compute the "
         "loss, zero the gradients, backward, step. Return the model.",
))
