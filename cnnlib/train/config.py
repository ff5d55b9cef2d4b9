"""Training settings as one typed dataclass, and the optimizer / scheduler it describes."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["OPTIMIZERS", "SCHEDULERS", "TrainConfig", "make_optimizer", "make_scheduler"]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "cosine", "step", "onecycle")


@dataclass
class TrainConfig:
    """Everything :func:`cnnlib.train.fit` needs besides the model and the data.

    The defaults train LeNet-5 on the 28 x 28 digits to 98-99% test
    accuracy in seconds on a CPU: AdamW at a peak rate of 3e-3 on a one-cycle
    schedule, 20 epochs of batches of 32, label smoothing 0.1 (without it
    the network grows over-confident on 1,257 training images and tests
    about half a point lower).

    Attributes:
        epochs: passes over the training data.
        batch_size: training batch size (used by code that builds loaders,
            such as the command line; ``fit`` takes the loaders you give it).
        lr: (peak) learning rate.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (with ``momentum``).
        momentum: SGD momentum.
        weight_decay: L2 penalty (decoupled for AdamW).
        scheduler: learning-rate schedule: ``"none"``, ``"cosine"`` (decay to 0
            over all epochs, stepped per batch), ``"step"`` (x0.1 after every
            third of the epochs) or ``"onecycle"`` (warm up, then anneal).
        label_smoothing: passed to ``nn.CrossEntropyLoss``.
        seed: seeds Python, NumPy and PyTorch at the start of ``fit`` (dropout,
            augmentation); ``None`` leaves the generators alone.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` for the fastest present.
        progress: show a ``tqdm`` progress bar (notebook widget or terminal).
        restore_best: at the end of ``fit``, load the weights of the epoch
            with the highest validation accuracy (the earliest, on a tie)
            among the epochs that call trained; needs validation data.
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    optimizer: str = "adamw"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    scheduler: str = "onecycle"
    label_smoothing: float = 0.1
    seed: int | None = 0
    device: str | None = None
    progress: bool = True
    restore_best: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig({name}={value!r}): {name} must be a positive int.")
        for name in ("lr", "momentum", "weight_decay", "label_smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"TrainConfig({name}={value!r}): {name} must be a number >= 0.")
        if self.lr == 0:
            raise ValueError("TrainConfig(lr=0): a zero learning rate never changes the model; try 1e-3.")
        if self.label_smoothing >= 1:
            raise ValueError(f"TrainConfig(label_smoothing={self.label_smoothing!r}): must be below 1.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig(optimizer={self.optimizer!r}): choose one of {', '.join(OPTIMIZERS)}.")
        if self.scheduler is None:
            self.scheduler = "none"
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"TrainConfig(scheduler={self.scheduler!r}): choose one of {', '.join(SCHEDULERS)}.")
        if not isinstance(self.restore_best, bool):
            raise ValueError(f"TrainConfig(restore_best={self.restore_best!r}): must be True or False.")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"TrainConfig(seed={self.seed!r}): seed must be an int or None.")

    def to_dict(self) -> dict:
        """The settings as a plain dict (what checkpoints store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Rebuild a config from :meth:`to_dict`'s output; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig.from_dict: unknown setting(s) {', '.join(unknown)}.")
        return cls(**values)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer ``config`` names, over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("make_optimizer: the model has no trainable parameters (all frozen?).")
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, *, steps_per_epoch: int):
    """The learning-rate scheduler ``config`` names, or ``None``.

    Every scheduler made here is stepped once per batch, so
    ``steps_per_epoch`` (``len(train_loader)``) must be given.
    """
    total = config.epochs * steps_per_epoch
    if config.scheduler == "none":
        return None
    if config.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total // 3), gamma=0.1)
    if total < 3:  # too few steps to warm up and anneal
        return None
    pct_start = min(0.5, max(0.25, 2.0 / total))
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=pct_start)
