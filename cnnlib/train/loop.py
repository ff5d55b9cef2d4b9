"""The training loop: one epoch of updates, evaluation without gradients, and ``fit``.

One optimisation step on a batch ``(x, y)`` is::

    model.train()
    logits = model(x)                 # (N, C)
    loss = cross_entropy(logits, y)   # mean over the batch of -log softmax(logits)[y]
    optimizer.zero_grad()
    loss.backward()                   # d loss / d logits = (softmax(logits) - onehot(y)) / N
    optimizer.step()

Evaluation runs in ``model.eval()`` mode (dropout off, batch norm uses its
running statistics) under ``torch.no_grad()`` (no graph is kept).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from cnnlib.runtime import device as pick_device
from cnnlib.runtime import seed_everything
from cnnlib.train.config import TrainConfig, make_optimizer, make_scheduler
from cnnlib.train.history import History

__all__ = ["EvalResult", "as_loader", "evaluate", "fit", "model_device", "train_one_epoch"]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _default_loss(logits: torch.Tensor, label_smoothing: float = 0.0) -> nn.Module:
    # One logit per example means a binary classifier (sigmoid inside the loss).
    if logits.ndim == 2 and logits.shape[1] == 1:
        if label_smoothing:
            raise ValueError("label smoothing is for multi-class logits; set TrainConfig(label_smoothing=0.0) "
                             "for a model with one output.")
        return nn.BCEWithLogitsLoss()
    return nn.CrossEntropyLoss(label_smoothing=label_smoothing)


def _loss(loss_fn: nn.Module, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if isinstance(loss_fn, nn.BCEWithLogitsLoss) and logits.ndim == 2 and logits.shape[1] == 1:
        return loss_fn(logits, targets.to(logits.dtype).view_as(logits))
    return loss_fn(logits, targets)


def _predict(logits: torch.Tensor) -> torch.Tensor:
    if logits.ndim == 2 and logits.shape[1] == 1:
        return (logits[:, 0] > 0).long()
    return logits.argmax(dim=1)


def as_loader(data, *, batch_size: int = 512):
    """Pass a loader through; wrap an ``(images, labels)`` pair of tensors in an unshuffled DataLoader."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        images, labels = data
        if len(images) != len(labels):
            raise ValueError(f"evaluate: {len(images)} images but {len(labels)} labels.")
        from torch.utils.data import DataLoader, TensorDataset

        return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=False)
    return data


def _check_batch(batch) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(
            "fit/evaluate: each batch must be a pair (images, labels); got "
            f"{type(batch).__name__}. Use cnnlib.data.get_loaders or a TensorDataset(images, labels)."
        )
    return batch[0], batch[1]


def train_one_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer, *, loss_fn: nn.Module | None = None,
                    label_smoothing: float = 0.0, scheduler=None, device: torch.device | None = None,
                    progress=None) -> tuple[float, float]:
    """One pass over ``loader`` in train mode, with an optimizer step per batch.

    Args:
        model: the classifier, returning ``(N, C)`` logits (or ``(N, 1)`` for binary).
        loader: yields ``(images, labels)`` batches.
        optimizer: updates the model's parameters.
        loss_fn: the objective; defaults to cross-entropy (``BCEWithLogitsLoss``
            for one logit).
        label_smoothing: with the default objective, train against targets
            ``(1 - eps) * onehot(y) + eps / C`` instead of ``onehot(y)``.
        scheduler: stepped after every batch, if given.
        device: where to compute; defaults to the model's device.
        progress: a ``tqdm`` bar to update with the running loss, if given.

    Returns:
        ``(mean loss, accuracy)`` over the epoch's examples. With the default
        objective the loss reported is the plain cross-entropy (no smoothing),
        so that it compares with :func:`evaluate`'s.
    """
    device = device or model_device(model)
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    report_fn = loss_fn
    for batch in loader:
        x, y = _check_batch(batch)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        logits = model(x)
        if loss_fn is None:
            loss_fn = _default_loss(logits, label_smoothing)
            report_fn = _default_loss(logits) if label_smoothing else loss_fn
        loss = _loss(loss_fn, logits, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"train_one_epoch: the loss became {loss.item()}; the learning rate is probably too high. "
                "Lower TrainConfig.lr (e.g. by 10x)."
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = y.shape[0]
        with torch.no_grad():
            reported = loss if report_fn is loss_fn else _loss(report_fn, logits, y)
        total_loss += reported.item() * n
        correct += (_predict(logits.detach()) == y).sum().item()
        seen += n
        if progress is not None:
            progress.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
    if seen == 0:
        raise ValueError("train_one_epoch: the training loader yielded no batches.")
    return total_loss / seen, correct / seen


@dataclass
class EvalResult:
    """What :func:`evaluate` measures on a dataset.

    Attributes:
        loss: mean loss per example.
        accuracy: fraction of examples whose arg-max logit is the label.
        confusion: ``(C, C)`` int64 counts; row = true class, column = predicted.
        targets: ``(N,)`` true labels, in loader order.
        predictions: ``(N,)`` predicted labels.
        probabilities: ``(N, C)`` softmax probabilities (``(N, 1)`` sigmoid for binary).
    """

    loss: float
    accuracy: float
    confusion: torch.Tensor
    targets: torch.Tensor
    predictions: torch.Tensor
    probabilities: torch.Tensor

    @property
    def errors(self) -> torch.Tensor:
        """Indices (in loader order) of the misclassified examples."""
        return torch.nonzero(self.predictions != self.targets).flatten()


def evaluate(model: nn.Module, loader, *, loss_fn: nn.Module | None = None, device: torch.device | None = None,
             num_classes: int | None = None) -> EvalResult:
    """Loss, accuracy and confusion matrix of ``model`` on ``loader``, without gradients.

    The model is put in eval mode for the pass and returned to the mode it was in.

    Args:
        model: the classifier.
        loader: yields ``(images, labels)``; keep it unshuffled to match
            results to examples. An ``(images, labels)`` pair of tensors
            works too (e.g. shifted copies of the test images).
        loss_fn: defaults to cross-entropy (``BCEWithLogitsLoss`` for one logit).
        device: defaults to the model's device.
        num_classes: size of the confusion matrix; defaults to the logits' width.

    Returns:
        An :class:`EvalResult` (tensors on the CPU).
    """
    loader = as_loader(loader)
    device = device or model_device(model)
    was_training = model.training
    model.eval()
    total_loss, targets, logits_all = 0.0, [], []
    try:
        with torch.no_grad():
            for batch in loader:
                x, y = _check_batch(batch)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                logits = model(x)
                if loss_fn is None:
                    loss_fn = _default_loss(logits)
                total_loss += _loss(loss_fn, logits, y).item() * y.shape[0]
                targets.append(y.cpu())
                logits_all.append(logits.float().cpu())
    finally:
        model.train(was_training)
    if not targets:
        raise ValueError("evaluate: the loader yielded no batches.")
    y = torch.cat(targets)
    logits = torch.cat(logits_all)
    predictions = _predict(logits)
    binary = logits.shape[1] == 1
    probabilities = torch.sigmoid(logits) if binary else torch.softmax(logits, dim=1)
    c = num_classes or (2 if binary else logits.shape[1])
    confusion = torch.bincount(y * c + predictions, minlength=c * c).reshape(c, c)
    return EvalResult(loss=total_loss / len(y), accuracy=(predictions == y).float().mean().item(),
                      confusion=confusion, targets=y, predictions=predictions, probabilities=probabilities)


def fit(model: nn.Module, train_loader, val_loader=None, config: TrainConfig | None = None, *,
        optimizer: torch.optim.Optimizer | None = None, scheduler=None, loss_fn: nn.Module | None = None,
        history: History | None = None) -> History:
    """Train ``model`` for ``config.epochs`` epochs and record the history.

    Moves the model to ``config.device`` (default: CUDA, MPS or CPU, the
    fastest present), seeds the random generators with ``config.seed``, and
    after each epoch evaluates on ``val_loader`` (if given) in eval mode
    without gradients. With ``config.restore_best`` it keeps a copy of the
    weights of the epoch with the highest validation accuracy (the earliest
    on a tie, as :attr:`History.best_epoch`) and loads them at the end;
    otherwise the model keeps the weights of the last epoch.

    Args:
        model: a classifier returning ``(N, C)`` logits.
        train_loader: yields ``(images, labels)`` training batches.
        val_loader: validation batches, or ``None``.
        config: the settings; ``TrainConfig()`` if ``None``.
        optimizer: your own optimizer (e.g. one restored from a checkpoint);
            by default the one ``config`` names.
        scheduler: your own learning-rate scheduler, stepped after every
            batch; by default the one ``config`` names, which sets the
            optimizer's learning rate from ``config.lr``.
        loss_fn: the objective; defaults to cross-entropy with
            ``config.label_smoothing``. The history records the plain
            cross-entropy of training and validation batches either way.
        history: a :class:`History` to continue (when resuming); a new one by default.

    Returns:
        The :class:`History`, one entry per epoch; with ``restore_best``, its
        ``restored_epoch`` is the epoch whose weights the model holds.
    """
    config = config or TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"fit(config={config!r}): pass a cnnlib.train.TrainConfig.")
    if config.restore_best and val_loader is None:
        raise ValueError("fit: TrainConfig(restore_best=True) picks the best epoch by validation accuracy; "
                         "pass a val_loader, or set restore_best=False.")
    if config.seed is not None:
        seed_everything(config.seed)
    if isinstance(train_loader, (tuple, list)):
        raise TypeError(
            "fit: train_loader must yield shuffled batches; wrap tensors as "
            "DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True), or use cnnlib.data.get_loaders."
        )
    device = pick_device(config.device)  # None: the fastest present; a missing one is a clear error
    model.to(device)
    if optimizer is None:
        optimizer = make_optimizer(model, config)
    if scheduler is None:
        scheduler = make_scheduler(optimizer, config, steps_per_epoch=len(train_loader))
    history = history if history is not None else History()

    from tqdm.auto import tqdm

    start = len(history)
    best_acc, best_state = None, None
    history.restored_epoch = None  # set below when restore_best loads an earlier epoch's weights
    bar = tqdm(range(start + 1, start + config.epochs + 1), desc="epochs", unit="epoch",
               disable=not config.progress, leave=True)
    for _ in bar:
        tic = time.perf_counter()
        train_loss, train_acc = train_one_epoch(model, train_loader, optimizer, loss_fn=loss_fn,
                                                label_smoothing=config.label_smoothing, scheduler=scheduler,
                                                device=device, progress=bar)
        val_loss = val_acc = None
        if val_loader is not None:
            result = evaluate(model, val_loader, loss_fn=loss_fn, device=device)
            val_loss, val_acc = result.loss, result.accuracy
            if config.restore_best and (best_acc is None or val_acc > best_acc):
                best_acc = val_acc
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                history.restored_epoch = len(history) + 1
        history.append(train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc,
                       lr=optimizer.param_groups[0]["lr"], seconds=time.perf_counter() - tic)
        postfix = {"loss": f"{train_loss:.4f}", "acc": f"{train_acc:.3f}"}
        if val_acc is not None:
            postfix["val_acc"] = f"{val_acc:.3f}"
        bar.set_postfix(postfix)
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
