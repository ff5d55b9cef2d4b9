"""Save and restore a training run: model, optimizer, scheduler, history and config.

A checkpoint holds only tensors, numbers, strings, lists and dicts, so it
loads with ``torch.load(..., weights_only=True)``: opening a checkpoint
from someone else cannot run their code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnnlib.train.config import TrainConfig
from cnnlib.train.history import History

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint"]

_FORMAT = "cnnlib-checkpoint"
_VERSION = 1


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read.

    Attributes:
        model_state: the model's ``state_dict``.
        optimizer_state: the optimizer's ``state_dict``, or ``None``.
        scheduler_state: the scheduler's ``state_dict``, or ``None``.
        history: the :class:`History`, or ``None``.
        config: the :class:`TrainConfig`, or ``None``.
        model_name: registry name of the model, if it was saved (rebuild it
            with ``create_model(model_name, **model_kwargs)``).
        model_kwargs: the builder arguments saved with it.
        extra: any other plain values saved with it.
    """

    model_state: dict
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    history: History | None = None
    config: TrainConfig | None = None
    model_name: str | None = None
    model_kwargs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def save_checkpoint(path: str | Path, model: nn.Module, *, optimizer: torch.optim.Optimizer | None = None,
                    scheduler=None, history: History | None = None, config: TrainConfig | None = None,
                    model_name: str | None = None, model_kwargs: dict | None = None,
                    extra: dict | None = None) -> Path:
    """Write everything needed to resume or reuse a run to ``path`` (one file).

    Args:
        path: file to write (its folder is created); ``.pt`` by convention.
        model: the trained model.
        optimizer, scheduler: their state (moment estimates, step counts) for
            resuming exactly where training stopped.
        history: the per-epoch record from :func:`cnnlib.train.fit`.
        config: the :class:`TrainConfig` used.
        model_name, model_kwargs: how to rebuild the model from the registry.
        extra: other plain values (numbers, strings, lists, dicts) to keep.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "history": history.to_dict() if history is not None else None,
        "config": config.to_dict() if config is not None else None,
        "model_name": model_name,
        "model_kwargs": dict(model_kwargs or {}),
        "extra": dict(extra or {}),
    }
    torch.save(payload, path)
    return path


def load_checkpoint(path: str | Path, model: nn.Module | None = None, *,
                    optimizer: torch.optim.Optimizer | None = None, scheduler=None,
                    map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, restoring what you pass in.

    Args:
        path: the checkpoint file.
        model: if given, its weights are replaced by the saved ones (strictly:
            every name and shape must match).
        optimizer, scheduler: if given, their state is restored too.
        map_location: where to put the loaded tensors; ``load_state_dict``
            then copies them to wherever the model lives.

    Returns:
        The :class:`Checkpoint` that was read.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a cnnlib checkpoint, or lacks the
            optimizer / scheduler state asked for.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: no file at {path}. Save one with save_checkpoint(path, model, ...).")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"load_checkpoint: {path} was not written by cnnlib.train.save_checkpoint.")
    if payload.get("version") != _VERSION:
        raise ValueError(f"load_checkpoint: {path} has format version {payload.get('version')}; this cnnlib reads {_VERSION}.")
    checkpoint = Checkpoint(
        model_state=payload["model"],
        optimizer_state=payload["optimizer"],
        scheduler_state=payload["scheduler"],
        history=History.from_dict(payload["history"]) if payload["history"] is not None else None,
        config=TrainConfig.from_dict(payload["config"]) if payload["config"] is not None else None,
        model_name=payload["model_name"],
        model_kwargs=payload["model_kwargs"],
        extra=payload["extra"],
    )
    if model is not None:
        model.load_state_dict(checkpoint.model_state)
    for name, obj, state in (("optimizer", optimizer, checkpoint.optimizer_state),
                             ("scheduler", scheduler, checkpoint.scheduler_state)):
        if obj is not None:
            if state is None:
                raise ValueError(f"load_checkpoint: {path} holds no {name} state; it was saved without one.")
            obj.load_state_dict(state)
    return checkpoint
