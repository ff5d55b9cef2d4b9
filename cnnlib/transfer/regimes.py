"""Three ways to train a classifier for a new task, measured the same way.

* ``"frozen"``: pretrained backbone frozen, a new linear head trained on its
  cached pre-logits;
* ``"finetune"``: pretrain, then fine-tune: first the new head on the
  cached features (as ``"frozen"``), then the whole network together, the
  backbone at a smaller learning rate (:func:`param_groups`), batch norm
  keeping its pretrained statistics (small batches estimate them badly).
  Starting from a trained head keeps the random head's large early
  gradients from scrambling the pretrained features;
* ``"scratch"``: the same architecture from random weights, its batch-norm
  statistics re-estimated on the training images at the end
  (:func:`recalibrate_batchnorm`: after few steps the running averages lag).

Each run is seeded, trained with :func:`cnnlib.train.fit` and timed (the
time covers training, including computing the frozen features of the
training images; evaluation is not timed).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.transfer.backbone import pretrained_backbone
from cnnlib.transfer.cache import FeatureCache
from cnnlib.transfer.bn import recalibrate_batchnorm
from cnnlib.transfer.freeze import freeze, unfreeze
from cnnlib.transfer.groups import param_groups
from cnnlib.transfer.preprocess import preprocess
from cnnlib.transfer.split import head_module

__all__ = ["REGIMES", "RegimeResult", "balanced_subset", "frozen_model", "run_regime", "train_linear_head"]

REGIMES = ("frozen", "finetune", "scratch")


@dataclass
class RegimeResult:
    """One run: the regime, the number of training images, test accuracy and seconds of training."""

    regime: str
    n_train: int
    accuracy: float
    seconds: float
    epochs: int


def balanced_subset(labels: torch.Tensor, per_class: int, *, seed: int = 0) -> torch.Tensor:
    """Sorted indices of ``per_class`` examples of every class (a seeded draw).

    Raises:
        ValueError: a class has fewer than ``per_class`` examples.
    """
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f"balanced_subset: class {c} has {len(idx)} examples, fewer than {per_class}.")
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picks).sort().values


def _loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> DataLoader:
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


def _config(epochs: int, lr: float, seed: int):
    from cnnlib.train import TrainConfig

    # cosine keeps the ratio between the groups' rates; no label smoothing, no validation pass
    return TrainConfig(epochs=epochs, lr=lr, scheduler="cosine", label_smoothing=0.0, seed=seed, progress=False,
                       device="cpu")


def train_linear_head(features: torch.Tensor, labels: torch.Tensor, num_classes: int, *, epochs: int = 30,
                      lr: float = 3e-3, batch_size: int = 32, seed: int = 0) -> nn.Linear:
    """A linear classifier ``(N, D) -> (N, num_classes)`` trained with :func:`cnnlib.train.fit` on features."""
    from cnnlib.train import fit

    torch.manual_seed(seed)
    head = nn.Linear(features.shape[1], num_classes)
    fit(head, _loader(features, labels, batch_size, seed), None, _config(epochs, lr, seed))
    return head.eval()


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    from cnnlib.train import evaluate

    return evaluate(model, (x, y)).accuracy


def run_regime(regime: str, model_name: str, train: tuple[torch.Tensor, torch.Tensor],
               test: tuple[torch.Tensor, torch.Tensor], *, num_classes: int, size: int, epochs: int,
               lr: float = 3e-3, finetune_lr: float = 1e-3, backbone_lr: float = 1e-4, head_epochs: int = 30, batch_size: int = 16,
               seed: int = 0, cache: FeatureCache | None = None, grayscale: str = "repeat") -> RegimeResult:
    """Train one regime on ``train`` and measure its accuracy on ``test``.

    Args:
        regime: one of :data:`REGIMES`.
        model_name: a registered model with pretrained weights here.
        train, test: ``(images, labels)``, images ``(N, C, H, W)`` in ``[0, 1]``.
        num_classes: classes of the task.
        size: the side images are resized to.
        epochs: passes over the training images (``finetune`` and ``scratch``).
        lr: the rate of the head on features (and of the whole network from scratch).
        finetune_lr: the head's rate while fine-tuning the whole network.
        backbone_lr: the pretrained backbone's rate while fine-tuning.
        head_epochs: passes over the cached features (``frozen``).
        cache: where frozen features are kept (a new in-memory cache if ``None``).
        grayscale: passed to :func:`preprocess` (``"repeat"`` feeds gray images to RGB networks).

    Returns:
        A :class:`RegimeResult`.
    """
    from cnnlib.models import create_model
    from cnnlib.train import fit

    if regime not in REGIMES:
        raise ValueError(f"run_regime({regime!r}): choose one of {', '.join(REGIMES)}.")
    torch.manual_seed(seed)
    if regime == "scratch":  # only the preprocessing is borrowed from the weights
        from cnnlib.models import get_weights

        model, weights = None, get_weights(model_name)
    else:
        model = pretrained_backbone(model_name, num_classes)
        weights = model.weights
    (x_train, y_train), (x_test, y_test) = train, test
    cache = cache if cache is not None else FeatureCache()
    if regime == "frozen":
        test_f = cache.features(model, x_test, size=size, grayscale=grayscale)
    start = time.perf_counter()
    if regime != "scratch":
        train_f = cache.features(model, x_train, size=size, grayscale=grayscale)
        head = train_linear_head(train_f, y_train, num_classes, epochs=head_epochs, lr=lr,
                                 batch_size=batch_size, seed=seed)
        if regime == "frozen":
            seconds = time.perf_counter() - start
            return RegimeResult(regime, len(y_train), _accuracy(head, test_f, y_test), seconds, head_epochs)
        head_module(model).load_state_dict(head.state_dict())
    xp_train = preprocess(x_train, weights, size=size, grayscale=grayscale)
    if regime == "scratch":
        torch.manual_seed(seed)
        model = create_model(model_name, num_classes=num_classes)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    else:
        unfreeze(model, bn="eval")
        optimizer = torch.optim.AdamW(param_groups(model, finetune_lr, backbone_lr=backbone_lr), weight_decay=1e-4)
    fit(model, _loader(xp_train, y_train, batch_size, seed), None, _config(epochs, lr, seed), optimizer=optimizer)
    if regime == "scratch":
        recalibrate_batchnorm(model, xp_train)
    seconds = time.perf_counter() - start
    accuracy = _accuracy(model, preprocess(x_test, weights, size=size, grayscale=grayscale), y_test)
    return RegimeResult(regime, len(y_train), accuracy, seconds, epochs)


def frozen_model(model_name: str, num_classes: int, *, bn: str = "eval") -> nn.Module:
    """A pretrained model with a new head and its whole backbone frozen."""
    return freeze(pretrained_backbone(model_name, num_classes), bn=bn)
