"""Chapter 10 exercises: reusing a pretrained CNN.

10.1 one training step in which only the head learns; 10.2 discriminative
learning rates per stage; 10.3 predicts how many parameters train after
replacing the head of a frozen backbone; 10.4 diagnoses a frozen backbone
whose outputs still drift; 10.5 (open-ended, a training exercise) reaches a
given accuracy on held-out texture patches from five labels per class.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn

from cnnlib.grading.registry import Case, Exercise, register

__all__ = [
    "make_small_net",
    "head_only_step",
    "stage_learning_rates",
    "trainable_count",
    "explain_trainable_count",
    "make_bn_net",
    "train_head",
    "make_texture_model",
    "few_label_classifier",
    "judge_textures",
]


# ---------------------------------------------------------------- 10.1
def make_small_net(num_classes=3):
    """A small CNN for exercise 10.1: net[0] is the backbone, net[1] the
    head."""
    return nn.Sequential(
        nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(4, 6, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        ),
        nn.Linear(6, num_classes),
    )


def head_only_step(state_dict, images, labels, lr):
    """One training step of make_small_net() in which only the head learns.

    Args:
        state_dict: the network's state (its head already has the right
            number of outputs).
        images: a batch of shape (N, 1, H, W).
        labels: their classes, shape (N,).
        lr: the learning rate of plain SGD (no momentum, no weight decay).

    Returns:
        The state_dict after one SGD step on the mean cross-entropy of the
        batch, with every backbone entry exactly as it was.
    """
    num_classes = state_dict["1.weight"].shape[0]
    model = make_small_net(num_classes)
    model.load_state_dict(state_dict)
    for p in model[0].parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=lr
    )
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _state(rng: np.random.Generator, num_classes: int) -> dict:
    torch.manual_seed(int(rng.integers(2**31)))
    return {
        k: v.clone() for k, v in make_small_net(num_classes).state_dict().items()
    }


def _batch(rng: np.random.Generator, n: int, side: int, num_classes: int):
    x = torch.from_numpy(rng.random((n, 1, side, side)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, num_classes, size=n)).long()
    return x, y


def _visible_10_1() -> list[Case]:
    rng = np.random.default_rng(101)
    return [
        Case(
            (_state(rng, 3), *_batch(rng, 8, 8, 3), 0.5),
            label="8 images, 3 classes, lr 0.5",
            hint="Compare the backbone entries you return with the ones you were given: "
            "do they differ at all?",
        ),
        Case(
            (_state(rng, 2), *_batch(rng, 4, 6, 2), 0.1),
            label="4 images, 2 classes, lr 0.1",
        ),
    ]


def _hidden_10_1(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        c = int(rng.integers(2, 6))
        n, side = int(rng.integers(2, 12)), int(rng.integers(4, 10))
        lr = round(float(rng.uniform(0.01, 1.0)), 3)
        cases.append(
            Case(
                (_state(rng, c), *_batch(rng, n, side, c), lr),
                label=f"{n} images of {side}x{side}, {c} classes, lr {lr:g}",
            )
        )
    return cases


register(
    Exercise(
        "10.1",
        "Train the head only",
        solution=head_only_step,
        visible=_visible_10_1,
        hidden=_hidden_10_1,
        points=2,
        forbid=("cnnlib",),
        setup="import torch\nfrom torch import nn\n\n\n"
        + inspect.getsource(make_small_net).rstrip(),
        hint="An SGD step moves every parameter the optimizer holds and that has a gradient.",
    )
)


# ---------------------------------------------------------------- 10.2
def stage_learning_rates(num_stages, head_lr, decay):
    """Discriminative learning rates for a backbone of num_stages stages
    and a head.

    The head trains at head_lr; each stage trains decay times as fast as
    the stage (or head) just after it, so stages nearer the input move
    less.

    Args:
        num_stages: stages in the backbone (0 or more).
        head_lr: the head's learning rate.
        decay: a number in (0, 1].

    Returns:
        A list of num_stages + 1 floats: the rates of the stages from the
        input side to the output side, then the head's.
    """
    return [head_lr * decay ** (num_stages - i) for i in range(num_stages + 1)]


register(
    Exercise(
        "10.2",
        "Discriminative learning rates",
        solution=stage_learning_rates,
        visible=lambda: [
            Case(
                (2, 1e-3, 0.5),
                expected=[2.5e-4, 5e-4, 1e-3],
                label="two stages, halving",
                hint="Start from the head and walk towards the input.",
            ),
            Case((0, 0.1, 0.3), expected=[0.1], label="no backbone stages"),
            Case((9, 3e-3, 0.8), label="MobileNetV2's 9 stages"),
        ],
        hidden=lambda rng: [
            Case(
                (
                    int(rng.integers(0, 12)),
                    float(rng.choice([1e-2, 3e-3, 1e-3])),
                    round(float(rng.uniform(0.1, 1.0)), 2),
                ),
                label="random stages, rate and decay",
                rtol=1e-6,
                atol=0.0,
            )
            for _ in range(5)
        ],
        points=1,
        forbid=("cnnlib", "torch"),
        setup="",
    )
)


# ---------------------------------------------------------------- 10.3 (predict)
def trainable_count(num_features, num_classes, backbone_parameters):
    """Predict the parameter counts after replacing the head of a frozen
    backbone.

    A pretrained classifier is a backbone with backbone_parameters
    parameters, whose pooled output has num_features values, followed by
    one linear layer (with bias). That layer is replaced by a new one for
    num_classes classes and the backbone is frozen.

    Returns:
        A pair of ints: (parameters that train, parameters in the new
        network).
    """
    head = num_features * num_classes + num_classes
    return head, backbone_parameters + head


def explain_trainable_count(num_features, num_classes, backbone_parameters) -> str:
    """Why (shown after a wrong answer)."""
    head = num_features * num_classes + num_classes
    return (
        f"Only the new head trains: a linear layer from {num_features} features to {num_classes} classes has "
        f"{num_features} x {num_classes} weights and {num_classes} biases, {head} parameters. The network is "
        f"the frozen backbone plus that head: {backbone_parameters} + {head} = {backbone_parameters + head}. "
        "The old head is gone, so its parameters count nowhere."
    )


def _mobilenet_backbone() -> int:
    from cnnlib.models import count_parameters, create_model

    with torch.device("meta"):
        model = create_model("mobilenet_v2")
    return count_parameters(model) - (1280 * 1000 + 1000)


register(
    Exercise(
        "10.3",
        "Predict what trains after a new head",
        solution=trainable_count,
        kind="predict",
        explain=explain_trainable_count,
        visible=lambda: [
            Case(
                (1280, 5, _mobilenet_backbone()),
                label="MobileNetV2 with a 5-class head (the chapter's textures)",
                hint="Which parameters does a frozen backbone leave to train, and what does the old head "
                "contribute to the new network?",
            ),
            Case((512, 2, 11176512), label="ResNet-18 for faces against non-faces"),
        ],
        hidden=lambda rng: [
            Case(
                (
                    int(rng.choice([512, 768, 1024, 1280, 2048])),
                    int(rng.integers(1, 200)),
                    int(rng.integers(10**5, 5 * 10**7)),
                ),
                label="random backbone and class count",
            )
            for _ in range(5)
        ],
        points=1,
        forbid=("torch", "aten::.", "cnnlib"),
        setup="",
    )
)


# ---------------------------------------------------------------- 10.4 (diagnose)
def make_bn_net(num_classes=3):
    """The network of exercise 10.4: net[0] a backbone with batch
    normalization, net[1] the head."""
    return nn.Sequential(
        nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        ),
        nn.Linear(4, num_classes),
    )


def _buggy_train_head(state_dict, images, labels, steps):
    """Train the head of a pretrained make_bn_net() on new images, its
    backbone frozen.

    Args:
        state_dict: the pretrained network (its head already has the right
            number of outputs).
        images: the new training images, shape (N, 1, H, W).
        labels: their classes, shape (N,).
        steps: full-batch SGD steps (lr 0.1).

    Returns:
        The trained network's state_dict. The backbone must compute after
        training exactly what it computed before.
    """
    model = make_bn_net(state_dict["1.weight"].shape[0])
    model.load_state_dict(state_dict)
    for p in model[0].parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.SGD(model[1].parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_head(state_dict, images, labels, steps):
    """Train the head of a pretrained make_bn_net() on new images, its
    backbone frozen.

    Args:
        state_dict: the pretrained network (its head already has the right
            number of outputs).
        images: the new training images, shape (N, 1, H, W).
        labels: their classes, shape (N,).
        steps: full-batch SGD steps (lr 0.1).

    Returns:
        The trained network's state_dict. The backbone must compute after
        training exactly what it computed before.
    """
    model = make_bn_net(state_dict["1.weight"].shape[0])
    model.load_state_dict(state_dict)
    for p in model[0].parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.SGD(model[1].parameters(), lr=0.1)
    model.train()
    model[0].eval()  # the fix: batch norm keeps its pretrained statistics
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _pretrained_bn_state(rng: np.random.Generator, num_classes: int) -> dict:
    torch.manual_seed(int(rng.integers(2**31)))
    model = make_bn_net(num_classes)
    bn = model[0][1]
    bn.running_mean.copy_(torch.from_numpy(rng.normal(0.0, 0.5, 4).astype(np.float32)))
    bn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, 4).astype(np.float32)))
    bn.num_batches_tracked.fill_(1000)
    return {k: v.clone() for k, v in model.state_dict().items()}


def _visible_10_4() -> list[Case]:
    rng = np.random.default_rng(104)
    return [
        Case(
            (_pretrained_bn_state(rng, 3), *_batch(rng, 12, 6, 3), 5),
            label="12 new images, 5 steps",
            hint="Print the backbone's state before and after training: which entries changed, "
            "although no gradient reached them?",
        ),
        Case((_pretrained_bn_state(rng, 2), *_batch(rng, 6, 5, 2), 1), label="6 images, one step"),
    ]


def _hidden_10_4(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        c, n = int(rng.integers(2, 5)), int(rng.integers(4, 16))
        steps = int(rng.integers(1, 8))
        cases.append(
            Case(
                (_pretrained_bn_state(rng, c), *_batch(rng, n, 6, c), steps),
                label=f"{n} images, {c} classes, {steps} steps",
            )
        )
    return cases


register(
    Exercise(
        "10.4",
        "Diagnose a frozen backbone that still drifts",
        solution=train_head,
        kind="diagnose",
        buggy=_buggy_train_head,
        visible=_visible_10_4,
        hidden=_hidden_10_4,
        points=2,
        forbid=("cnnlib",),
        setup="import torch\nfrom torch import nn\n\n\n" + inspect.getsource(make_bn_net).rstrip(),
        hint="Parameters are not the only state a layer keeps.",
    )
)


# ---------------------------------------------------------------- 10.5 (train, open-ended)
def make_texture_model():
    """The model of exercise 10.5: ImageNet MobileNetV2 with a new 5-class
    head, taking (N, 1, 64, 64) gray patches in [0, 1]."""
    from cnnlib.transfer import preprocess, pretrained_backbone

    class TextureModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = pretrained_backbone("mobilenet_v2", 5)

        def forward(self, x):
            x = preprocess(x, self.net.weights, size=48, grayscale="repeat")
            return self.net(x)

    return TextureModel()


def few_label_classifier(images, labels):
    """Train make_texture_model() on five labelled patches per texture and
    return it.

    Args:
        images: 25 gray texture patches, shape (25, 1, 64, 64), in [0, 1],
            cut from the top halves of the chapter's five texture photos.
        labels: their classes, shape (25,), in 0..4 (the chapter's
            TEXTURE_CLASSES order).

    Returns:
        The trained model, built by make_texture_model() (the grader loads
        its state into a fresh make_texture_model() and measures accuracy on
        patches from the photos' bottom halves, which no training patch
        overlaps: at least 80% is needed). Any approach is allowed; the call
        may take up to two minutes on a CPU.
    """
    torch.manual_seed(0)
    model = make_texture_model()
    net = model.net
    for p in net.features.parameters():
        p.requires_grad_(False)
    net.eval()  # frozen backbone with its pretrained batch-norm statistics
    # a texture stays itself when flipped or turned: eight views of each patch
    views = [torch.rot90(im, k, dims=(2, 3)) for k in range(4) for im in (images, images.flip(3))]
    with torch.no_grad():
        x = preprocess_for(model, torch.cat(views))
        feats = torch.flatten(nn.functional.adaptive_avg_pool2d(net.features(x), 1), 1)
    targets = labels.repeat(len(views))
    head = net.classifier[1]
    optimizer = torch.optim.AdamW(head.parameters(), lr=3e-3)
    for _ in range(300):
        loss = nn.functional.cross_entropy(head(feats), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def preprocess_for(model, images):
    """The input make_texture_model() gives its network for images."""
    from cnnlib.transfer import preprocess

    return preprocess(images, model.net.weights, size=48, grayscale="repeat")


#: Accuracy 10.5 needs on held-out patches.
TEXTURE_THRESHOLD = 0.80


def _texture_split(split: str, seed: int, per_class: int):
    from cnnlib.data.textures import load_texture_patches

    return load_texture_patches(split, per_class=per_class, seed=seed)


def _train_patches():
    return _texture_split("train", 0, 5)


def judge_textures(seed: int, threshold: float = TEXTURE_THRESHOLD):
    """A judge for 10.5: load the state into make_texture_model() and measure accuracy on bottom-half patches."""

    def judge(state_dict):
        if not isinstance(state_dict, dict):
            return False, f"expected the trained model (built by make_texture_model()); got {type(state_dict).__name__}."
        model = make_texture_model()
        try:
            model.load_state_dict({k: torch.as_tensor(v) for k, v in state_dict.items()})
        except (RuntimeError, TypeError, ValueError) as err:
            return False, f"the returned model is not make_texture_model(): {str(err).splitlines()[0]}"
        images, labels = _texture_split("test", seed, 20)
        model.eval()
        with torch.no_grad():
            accuracy = (model(images).argmax(1) == labels).float().mean().item()
        return (
            accuracy >= threshold,
            f"accuracy {accuracy:.3f} on {len(labels)} held-out patches (need {threshold})",
        )

    return judge


register(
    Exercise(
        "10.5",
        "Few labels, held-out textures",
        solution=few_label_classifier,
        visible=lambda: [
            Case(
                _train_patches(),
                judge=judge_textures(seed=1),
                label="accuracy on validation patches from the bottom halves",
                hint="With 25 labelled images, how many parameters can you afford to train?",
            )
        ],
        hidden=lambda rng: [
            Case(_train_patches(), judge=judge_textures(seed=int(rng.integers(2, 10**6))),
                 label="accuracy on other held-out patches")
        ],
        points=3,
        returns="state_dict",
        kind="train",
        time_limit=120.0,
        setup="import torch\nfrom torch import nn\n\n\n"
        + inspect.getsource(make_texture_model).rstrip()
        + "\n\n\n"
        + inspect.getsource(preprocess_for).rstrip(),
        hint="If the accuracy is near 20%, check that the head's weights change and that the model is "
        "returned in eval mode.",
    )
)
