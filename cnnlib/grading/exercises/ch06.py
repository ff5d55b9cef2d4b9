"""Chapter 6 exercises: the loss, the metrics and the training loop of a CNN.

6.1 softmax, stable; 6.2 cross-entropy from logits; 6.3 the binary
cross-entropy and its gradient sigma(z) - y; 6.4 the confusion matrix;
6.5 a training loop for LeNet-5 (a training exercise: the student's function
returns the model and trusted code measures it on held-out digits); 6.6
predicts the lowest loss that label smoothing allows; 6.7 diagnoses
predictions that depend on the batch size.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import torch
from torch import nn

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "softmax",
    "cross_entropy",
    "bce_with_logits_and_grad",
    "confusion_matrix",
    "make_lenet",
    "train_lenet",
    "digit_splits",
    "judge_lenet",
    "smoothed_loss_floor",
    "explain_smoothed_loss_floor",
    "make_bn_cnn",
    "predict_logits",
]

#: PyTorch's own softmax and losses, which 6.1-6.3 ask students to write themselves.
NO_LIBRARY_LOSS = (
    "cnnlib",
    "aten::.*softmax",
    "aten::nll_loss",
    "aten::cross_entropy",
    "aten::binary_cross_entropy",
)


def _randn(
    rng: np.random.Generator, *shape: int, scale: float = 1.0
) -> torch.Tensor:
    return torch.from_numpy(
        (rng.standard_normal(shape) * scale).astype(np.float32)
    )


# ---------------------------------------------------------------- 6.1
def softmax(z: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension, safe for large logits.

    Args:
        z: logits of shape (..., C).

    Returns:
        p of the same shape: the softmax of each row of logits (the last
        dimension), finite for every finite input, including logits such as
        1000 or -1000 where a direct computation overflows.
    """
    shifted = z - z.max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def _visible_6_1() -> list[Case]:
    return [
        Case(
            (torch.tensor([1.0, 2.0, 3.0]),),
            label="three logits",
            hint="The three outputs must be positive and sum to 1.",
        ),
        Case(
            (torch.tensor([[0.0, 0.0], [5.0, -5.0]]),),
            label="a batch of two rows: softmax works row by row",
            hint="Each row must sum to 1 on its own: over which dimension do you sum?",
        ),
        Case(
            (torch.tensor([1000.0, 1001.0, 1002.0]),),
            label="huge logits: exp(1000) overflows to inf",
            hint="These logits give the same probabilities as [0, 1, 2]. Why, and how can you use it?",
        ),
    ]


def _hidden_6_1(rng: np.random.Generator) -> list[Case]:
    return [
        Case((_randn(rng, 5, 10),), label="a random (5, 10) batch"),
        Case(
            (_randn(rng, 2, 3, 7, scale=50.0),),
            label="a (2, 3, 7) tensor of large logits",
        ),
        Case(
            (torch.tensor([[-1000.0, -1000.0, -999.0]]),),
            label="very negative logits (exp underflows to 0)",
        ),
        Case(
            (torch.full((4, 6), 3.0),),
            label="equal logits give the uniform distribution",
        ),
    ]


register(
    Exercise(
        "6.1",
        "A stable softmax",
        solution=softmax,
        visible=_visible_6_1,
        hidden=_hidden_6_1,
        points=1,
        forbid=NO_LIBRARY_LOSS,
        hint="What happens to softmax(z) if you add the same number to every logit of a row?",
    )
)


# ---------------------------------------------------------------- 6.2
def cross_entropy(
    logits: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy of softmax(logits) against integer class targets.

    Args:
        logits: shape (N, C), raw scores.
        target: shape (N,), integer classes in 0..C-1.

    Returns:
        A scalar tensor: the mean over the batch of the cross-entropy loss,
        the value torch.nn.functional.cross_entropy(logits, target) gives,
        finite even for logits in the thousands.
    """
    m = logits.max(dim=1, keepdim=True).values
    log_p = (logits - m) - torch.log(
        torch.exp(logits - m).sum(dim=1, keepdim=True)
    )
    picked = log_p[torch.arange(logits.shape[0]), target]
    return -picked.mean()


def _visible_6_2() -> list[Case]:
    return [
        Case(
            (torch.zeros(3, 10), torch.tensor([0, 4, 9])),
            expected=torch.tensor(float(np.log(10.0))),
            label="equal logits: the loss is log C = log 10",
            hint="Every class has p = 1/10, and -log(1/10) = log 10.",
        ),
        Case(
            (
                torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]),
                torch.tensor([0, 1]),
            ),
            label="a small batch",
        ),
        Case(
            (
                torch.tensor([[1000.0, 0.0], [0.0, 1000.0]]),
                torch.tensor([1, 1]),
            ),
            expected=torch.tensor(500.0),
            label="huge logits, one confident mistake: loss (1000 + 0) / 2",
            hint="Taking the log of a softmax that underflowed to 0 gives -inf. Can you get the log "
            "probability without computing the probability first?",
        ),
    ]


def _hidden_6_2(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, c, scale in [(1, 2, 1.0), (16, 10, 3.0), (8, 5, 100.0)]:
        target = torch.from_numpy(rng.integers(0, c, size=n)).long()
        cases.append(
            Case(
                (_randn(rng, n, c, scale=scale), target),
                label=f"random logits ({n}, {c}) x {scale:g}",
            )
        )
    return cases


register(
    Exercise(
        "6.2",
        "Cross-entropy from logits",
        solution=cross_entropy,
        visible=_visible_6_2,
        hidden=_hidden_6_2,
        points=2,
        forbid=NO_LIBRARY_LOSS,
        hint="Which single entry of each row's log-probabilities does the loss use?",
    )
)


# ---------------------------------------------------------------- 6.3
def bce_with_logits_and_grad(z: torch.Tensor, y: torch.Tensor):
    """Binary cross-entropy of logits and its gradient, written out.

    Args:
        z: logits, shape (N,).
        y: targets in {0, 1} (floats), shape (N,).

    Returns:
        A pair (loss, grad): loss is the scalar mean binary cross-entropy of
        sigmoid(z) against y, the value
        torch.nn.functional.binary_cross_entropy_with_logits(z, y) gives
        (finite for logits such as 100 or -100); grad is the gradient of loss
        with respect to z, shape (N,), written out by hand (no autograd).
    """
    loss = (z.clamp(min=0) - y * z + torch.log1p(torch.exp(-z.abs()))).mean()
    grad = (1.0 / (1.0 + torch.exp(-z)) - y) / z.shape[0]
    return loss, grad


def _visible_6_3() -> list[Case]:
    return [
        Case(
            (torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0])),
            label="z = 0: the loss is log 2",
            hint="Differentiate the loss of one example with respect to its logit, then remember the mean.",
        ),
        Case(
            (torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])),
            label="three examples",
        ),
        Case(
            (torch.tensor([100.0, -100.0]), torch.tensor([0.0, 1.0])),
            label="confident mistakes: loss 100, no inf",
            hint="log(sigmoid(-100)) underflows to log(0). Rewrite log sigmoid(z) so that exp never "
            "gets a large positive argument.",
        ),
    ]


def _hidden_6_3(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, scale in [(1, 1.0), (20, 3.0), (10, 60.0)]:
        y = torch.from_numpy(rng.integers(0, 2, size=n).astype(np.float32))
        cases.append(
            Case(
                (_randn(rng, n, scale=scale), y),
                label=f"{n} random logits x {scale:g}",
            )
        )
    return cases


register(
    Exercise(
        "6.3",
        "Binary cross-entropy and its gradient",
        solution=bce_with_logits_and_grad,
        visible=_visible_6_3,
        hidden=_hidden_6_3,
        points=2,
        forbid=NO_LIBRARY_LOSS,
        hint="Differentiate on paper first: the derivative of the sigmoid is sigmoid(z) (1 - sigmoid(z)), "
        "and the result simplifies a lot.",
    )
)


# ---------------------------------------------------------------- 6.4
def confusion_matrix(
    targets: torch.Tensor, predictions: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """Count how often each true class is predicted as each class.

    Args:
        targets: true classes, shape (N,), integers in 0..num_classes-1.
        predictions: predicted classes, shape (N,).
        num_classes: C.

    Returns:
        An int64 tensor M of shape (C, C): M[i, j] is the number of examples
        of true class i predicted as class j (rows: truth, columns:
        prediction).
    """
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(targets.tolist(), predictions.tolist()):
        matrix[t, p] += 1
    return matrix


def _visible_6_4() -> list[Case]:
    return [
        Case(
            (torch.tensor([0, 1, 2, 2]), torch.tensor([0, 2, 2, 0]), 3),
            expected=torch.tensor([[1, 0, 0], [0, 0, 1], [1, 0, 1]]),
            label="four examples, three classes",
            hint="Row = true class, column = predicted class.",
        ),
        Case(
            (torch.tensor([1, 1, 1]), torch.tensor([1, 1, 1]), 4),
            label="a class never seen still has a row and a column",
        ),
    ]


def _hidden_6_4(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            (
                torch.tensor([], dtype=torch.int64),
                torch.tensor([], dtype=torch.int64),
                2,
            ),
            label="no examples: all zeros",
        )
    ]
    for n, c in [(50, 10), (7, 2)]:
        t = torch.from_numpy(rng.integers(0, c, size=n)).long()
        p = torch.from_numpy(rng.integers(0, c, size=n)).long()
        cases.append(
            Case((t, p, c), label=f"{n} random predictions over {c} classes")
        )
    return cases


register(
    Exercise(
        "6.4",
        "The confusion matrix",
        solution=confusion_matrix,
        visible=_visible_6_4,
        hidden=_hidden_6_4,
        points=1,
        forbid=("cnnlib", "sklearn", "torchmetrics"),
        hint="Each example adds one to exactly one entry of the matrix: which entry?",
    )
)


# ---------------------------------------------------------------- 6.5
def make_lenet():
    """LeNet-5 for 28x28 digits, as in the chapter: 28x28x6, 14x14x6,
    10x10x16, 5x5x16, 120, 84, 10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def train_lenet(images, labels):
    """Write the training loop: train make_lenet() on the digits and return
    it.

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
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-3, total_steps=steps
    )
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(images))
        for start in range(0, len(images), batch_size):
            batch = order[start : start + batch_size]
            loss = loss_fn(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model.eval()


#: Accuracy 6.5 needs on held-out digits.
LENET_THRESHOLD = 0.95


def digit_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The 28x28 digits split 70/10/20 as ``get_loaders("digits")`` splits
    them (split seed 0)."""
    from cnnlib.data import load_digits
    from cnnlib.data.loaders import stratified_split

    images, labels = load_digits(size=28)
    train, val, test = stratified_split(labels, (0.1, 0.2), seed=0)
    return {
        "train": (images[train], labels[train]),
        "val": (images[val], labels[val]),
        "test": (images[test], labels[test]),
    }


def judge_lenet(part: str, threshold: float = LENET_THRESHOLD):
    """A judge for 6.5: load the returned state_dict into make_lenet() and
    measure accuracy on ``part``."""

    def judge(state_dict):
        if not isinstance(state_dict, dict):
            return (
                False,
                f"expected the trained model (an nn.Module built by make_lenet()); got {type(state_dict).__name__}.",
            )
        model = make_lenet()
        try:
            model.load_state_dict(
                {k: torch.as_tensor(v) for k, v in state_dict.items()}
            )
        except (RuntimeError, TypeError, ValueError) as err:
            return (
                False,
                f"the returned model is not make_lenet(): {str(err).splitlines()[0]}",
            )
        images, labels = digit_splits()[part]
        model.eval()
        with torch.no_grad():
            accuracy = (
                (model(images).argmax(1) == labels).float().mean().item()
            )
        return (
            accuracy >= threshold,
            f"accuracy {accuracy:.3f} on {len(labels)} {part} digits (need {threshold})",
        )

    return judge


def _visible_6_5() -> list[Case]:
    images, labels = digit_splits()["train"]
    return [
        Case(
            (images, labels),
            judge=judge_lenet("val", 0.94),
            label="accuracy on the validation digits (94% needed here, 95% on the held-out test digits)",
            hint="Compare your loop with 'The training loop, taken apart': is every step there, in "
            "that order, for every batch of every epoch?",
        )
    ]


def _hidden_6_5(rng: np.random.Generator) -> list[Case]:
    images, labels = digit_splits()["train"]
    return [
        Case(
            (images, labels),
            judge=judge_lenet("test"),
            label="accuracy on the held-out test digits",
        )
    ]


register(
    Exercise(
        "6.5",
        "A training loop for LeNet-5",
        solution=train_lenet,
        visible=_visible_6_5,
        hidden=_hidden_6_5,
        points=3,
        returns="state_dict",
        kind="train",
        time_limit=180.0,
        forbid=("cnnlib",),
        setup="import torch\nfrom torch import nn\n\n\n"
        + inspect.getsource(make_lenet).rstrip(),
        hint="If the accuracy stays near 10%, check that the weights change at all between batches.",
    )
)


# ---------------------------------------------------------------- 6.6 (predict)
def smoothed_loss_floor(num_classes, smoothing):
    """Predict the lowest loss a classifier can reach with label smoothing.

    Args:
        num_classes: C.
        smoothing: the label_smoothing of nn.CrossEntropyLoss, 0 <= smoothing
            < 1.

    Returns:
        A float: the smallest value that
        nn.CrossEntropyLoss(label_smoothing=smoothing) can take on one
        training example, over every possible vector of logits.
    """
    true_class = (
        1.0 - smoothing + smoothing / num_classes
    )  # PyTorch spreads smoothing over all C classes
    other = smoothing / num_classes

    def plogp(q):
        return q * math.log(q) if q > 0 else 0.0

    # The loss -sum q log p is smallest at p = q, where it is the entropy of q.
    return -(plogp(true_class) + (num_classes - 1) * plogp(other))


def explain_smoothed_loss_floor(num_classes, smoothing) -> str:
    """Why the floor is what it is (shown after a wrong answer)."""
    c, eps = num_classes, smoothing
    floor = smoothed_loss_floor(c, eps)
    return (
        f"nn.CrossEntropyLoss(label_smoothing={eps:g}) trains against the target q = (1 - {eps:g}) one-hot "
        f"+ {eps:g} spread evenly over all {c} classes: the true class gets 1 - eps + eps/C = "
        f"{1 - eps + eps / c:.4g} and every other class eps/C = {eps / c:.4g}. The loss -sum q log p is "
        f"smallest when the predicted p equals q, and there it is the entropy of q, {floor:.4g}, not 0; "
        f"pushing the true class's probability towards 1 makes the loss larger again."
    )


def _visible_6_6() -> list[Case]:
    return [
        Case(
            (10, 0.1),
            label="10 classes, label smoothing 0.1 (the chapter's setting)",
            hint="Which output distribution makes -sum q log p smallest? Does a perfect one-hot "
            "prediction do it?",
        ),
        Case(
            (10, 0.0),
            expected=0.0,
            label="no smoothing: a perfect prediction costs nothing",
        ),
        Case((2, 0.2), label="2 classes, smoothing 0.2"),
    ]


def _hidden_6_6(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(5):
        c, eps = (
            int(rng.integers(2, 1001)),
            round(float(rng.uniform(0.01, 0.5)), 3),
        )
        cases.append(Case((c, eps), label=f"{c} classes, smoothing {eps:g}"))
    return cases


register(
    Exercise(
        "6.6",
        "Predict the loss floor of label smoothing",
        solution=smoothed_loss_floor,
        kind="predict",
        explain=explain_smoothed_loss_floor,
        visible=_visible_6_6,
        hidden=_hidden_6_6,
        points=1,
        forbid=("torch", "aten::.", "cnnlib"),
        setup="import math",
        hint="First write down the target distribution PyTorch builds for one example.",
    )
)


# ---------------------------------------------------------------- 6.7 (diagnose)
def make_bn_cnn():
    """The small CNN of exercise 6.7 (8x8 inputs, 3 classes), with batch
    normalization."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )


def _buggy_predict_logits(state_dict, images, batch_size):
    """The logits of a trained make_bn_cnn() for new images, computed batch
    by batch.

    Args:
        state_dict: the trained network's state_dict (weights and the
            batch-norm statistics it gathered in training).
        images: new images of shape (N, 1, 8, 8).
        batch_size: how many images go through the network at once.

    Returns:
        The logits, shape (N, 3): each image's logits must not depend on
        batch_size or on the other images.
    """
    model = make_bn_cnn()
    model.load_state_dict(state_dict)
    outputs = []
    for start in range(0, len(images), batch_size):
        outputs.append(model(images[start : start + batch_size]))
    return torch.cat(outputs).detach()


def predict_logits(state_dict, images, batch_size):
    """The logits of a trained make_bn_cnn() for new images, computed batch
    by batch.

    Args:
        state_dict: the trained network's state_dict (weights and the
            batch-norm statistics it gathered in training).
        images: new images of shape (N, 1, 8, 8).
        batch_size: how many images go through the network at once.

    Returns:
        The logits, shape (N, 3): each image's logits must not depend on
        batch_size or on the other images.
    """
    model = make_bn_cnn()
    model.load_state_dict(state_dict)
    model.eval()  # the fix: batch norm then uses its running statistics, not the batch's
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            outputs.append(model(images[start : start + batch_size]))
    return torch.cat(outputs).detach()


def _trained_like_state(rng: np.random.Generator) -> dict:
    """A make_bn_cnn() state whose batch-norm statistics differ from any one
    batch's, as after training."""
    torch.manual_seed(int(rng.integers(2**31)))
    model = make_bn_cnn()
    bn = model[1]
    bn.running_mean.copy_(
        torch.from_numpy(rng.normal(0.0, 0.5, 4).astype(np.float32))
    )
    bn.running_var.copy_(
        torch.from_numpy(rng.uniform(0.5, 2.0, 4).astype(np.float32))
    )
    bn.weight.data.copy_(
        torch.from_numpy(rng.uniform(0.5, 1.5, 4).astype(np.float32))
    )
    bn.bias.data.copy_(
        torch.from_numpy(rng.normal(0.0, 0.3, 4).astype(np.float32))
    )
    bn.num_batches_tracked.fill_(100)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _visible_6_7() -> list[Case]:
    rng = np.random.default_rng(67)
    state = _trained_like_state(rng)
    images = torch.from_numpy(rng.random((12, 1, 8, 8)).astype(np.float32))
    return [
        Case(
            (state, images, 12),
            label="12 images in one batch",
            hint="Run it with batch sizes 12, 4 and 1: should the first image's logits change?",
        ),
        Case((state, images, 4), label="the same images, 4 at a time"),
        Case((state, images[:1], 1), label="one image on its own"),
    ]


def _hidden_6_7(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, batch in [(10, 10), (9, 2), (5, 1), (16, 8)]:
        images = torch.from_numpy(
            rng.random((n, 1, 8, 8)).astype(np.float32)
        )
        cases.append(
            Case(
                (_trained_like_state(rng), images, batch),
                label=f"{n} new images, {batch} at a time",
            )
        )
    return cases


register(
    Exercise(
        "6.7",
        "Diagnose predictions that depend on the batch",
        solution=predict_logits,
        kind="diagnose",
        buggy=_buggy_predict_logits,
        visible=_visible_6_7,
        hidden=_hidden_6_7,
        points=2,
        forbid=("cnnlib",),
        setup="import torch\nfrom torch import nn\n\n\n"
        + inspect.getsource(make_bn_cnn).rstrip(),
        hint="Which layer of make_bn_cnn() behaves differently in training and in evaluation?",
    )
)
