"""Re-estimate batch-norm statistics after a short training run.

Batch norm's running statistics are an exponential average (momentum 0.1)
over the batches seen in training, while the weights were still moving. After
a handful of steps they describe neither the data nor the final weights, and
an eval-mode network can be far worse than its training accuracy suggests.
One pass over the training images in train mode, without gradients and with
a plain average instead of the exponential one, fixes them.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["feature_drift", "recalibrate_batchnorm"]


def recalibrate_batchnorm(model: nn.Module, images: torch.Tensor, *, batch_size: int = 64) -> nn.Module:
    """Set every trainable batch-norm layer's statistics to their mean over ``images``; weights unchanged.

    Layers pinned in eval mode by :func:`~cnnlib.transfer.freeze` keep theirs.
    The model is returned in the mode it was in.
    """
    from cnnlib.transfer.freeze import is_bn_pinned

    layers = [m for m in model.modules()
              if isinstance(m, nn.modules.batchnorm._BatchNorm) and not is_bn_pinned(m)]
    saved = [(m, m.momentum) for m in layers]
    was_training = model.training
    try:
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        model.train()
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                model(images[start:start + batch_size])
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.train(was_training)
    return model


def feature_drift(model: nn.Module, images: torch.Tensor, *, batch_size: int = 16) -> float:
    """How much one train-mode pass over ``images`` changes the model's eval-mode pre-logits.

    Runs the preprocessed ``images`` through the model in train mode without
    gradients (what a training loop's forward passes do to batch norm), and
    compares the eval-mode pre-logits before and after.

    Returns:
        ``||after - before|| / ||before||``: 0.0 when nothing that the eval-mode
        features depend on changed.
    """
    from cnnlib.transfer.split import forward_features, forward_head

    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()
            before = forward_head(model, forward_features(model, images), pre_logits=True)
            model.train()
            for start in range(0, len(images), batch_size):
                model(images[start:start + batch_size])
            model.eval()
            after = forward_head(model, forward_features(model, images), pre_logits=True)
    finally:
        model.train(was_training)
    return ((after - before).norm() / before.norm()).item()
