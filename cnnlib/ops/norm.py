"""Batch, layer, group and instance normalisation, twins of ``torch.nn.functional``'s.

All four standardise activations, ``(x - mean) / sqrt(var + eps)``, then
scale and shift them per channel (``weight``, ``bias``). They differ only
in which axes of an ``(N, C, H, W)`` batch the mean and variance run over:

=============== ============================== =========================
normalisation   statistics over                one mean per
=============== ============================== =========================
batch           ``N, H, W``                    channel
layer           ``C, H, W`` (the trailing dims) sample
group           ``C / G, H, W``                 sample and group of channels
instance        ``H, W``                        sample and channel
=============== ============================== =========================

The variance that normalises is the biased one (divide by the count
``n``). Batch norm also keeps running statistics for evaluation, updated
in training as ``running = (1 - momentum) running + momentum * batch``,
where the batch variance is the unbiased one (divide by ``n - 1``).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from cnnlib.ops._geometry import ConvArgumentError

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm"]


def _affine(y: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, shape) -> torch.Tensor:
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _standardise(x: torch.Tensor, dims: tuple[int, ...], eps: float):
    """``(x - mean) / sqrt(var + eps)`` over ``dims``; also the mean and the biased variance."""
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps), mean, var


def _check_channel_param(t: torch.Tensor | None, c: int, label: str, name: str) -> None:
    if t is not None and t.numel() != c:
        raise ConvArgumentError(f"{name}: {label} must have one value per channel, shape ({c},); got {tuple(t.shape)}.")


def batch_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch normalisation, as :func:`torch.nn.functional.batch_norm`.

    Training: each channel is standardised with the mean and (biased)
    variance of this batch over ``N`` and the spatial axes, and the running
    statistics, if given, are updated in place::

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)

    with ``n = N H W`` values per channel (the unbiased variance). Evaluation
    (``training=False``): the running statistics standardise instead, so
    the output of one sample does not depend on the rest of the batch.

    Args:
        input: ``(N, C)`` or ``(N, C, *spatial)``.
        running_mean, running_var: ``(C,)``, or ``None`` (training only).
        weight, bias: ``(C,)`` scale ``gamma`` and shift ``beta``, or ``None``.
        training: use (and update with) batch statistics.
        momentum: weight of the new batch in the running averages.
        eps: added to the variance before the square root.

    Returns:
        ``gamma (x - mean) / sqrt(var + eps) + beta``, the input's shape.

    Raises:
        ConvArgumentError: wrong shapes, running statistics missing in
            evaluation, or one value per channel in training.
    """
    name = "batch_norm"
    if not isinstance(input, torch.Tensor) or input.dim() < 2:
        raise ConvArgumentError(f"{name} expects (N, C) or (N, C, *spatial); got "
                                f"{tuple(input.shape) if isinstance(input, torch.Tensor) else type(input).__name__}.")
    c = input.shape[1]
    for label, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_channel_param(t, c, label, name)
    shape = (1, c) + (1,) * (input.dim() - 2)
    dims = (0,) + tuple(range(2, input.dim()))
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ConvArgumentError(
                f"{name}: expected more than 1 value per channel when training, got input {tuple(input.shape)}; "
                f"use a batch of more than one sample, or training=False."
            )
        y, mean, var = _standardise(input, dims, eps)
        with torch.no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(momentum * mean.reshape(c).to(running_mean.dtype))
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(momentum * var.reshape(c).to(running_var.dtype) * n / (n - 1))
    else:
        if running_mean is None or running_var is None:
            raise ConvArgumentError(f"{name}: evaluation (training=False) needs running_mean and running_var.")
        y = (input - running_mean.reshape(shape)) / torch.sqrt(running_var.reshape(shape) + eps)
    return _affine(y, weight, bias, shape)


def layer_norm(
    input: torch.Tensor,
    normalized_shape: int | Sequence[int],
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Layer normalisation over the trailing dims, as :func:`torch.nn.functional.layer_norm`.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: the trailing shape the statistics run over, e.g.
            ``(C, H, W)`` for one mean and variance per sample.
        weight, bias: ``normalized_shape``-shaped, elementwise, or ``None``.
        eps: added to the variance.

    Returns:
        The input's shape.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if not isinstance(input, torch.Tensor) or tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        got = tuple(input.shape) if isinstance(input, torch.Tensor) else type(input).__name__
        raise ConvArgumentError(f"layer_norm: the input's trailing dims must be normalized_shape={shape}; got {got}.")
    for label, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ConvArgumentError(f"layer_norm: {label} must have shape {shape}; got {tuple(t.shape)}.")
    y, _, _ = _standardise(input, tuple(range(input.dim() - k, input.dim())), eps)
    return _affine(y, weight, bias, shape)


def group_norm(
    input: torch.Tensor,
    num_groups: int,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Group normalisation, as :func:`torch.nn.functional.group_norm`.

    The ``C`` channels of each sample are split into ``num_groups`` groups of
    consecutive channels; each group is standardised over its channels and
    spatial axes. ``num_groups = 1`` is layer norm over ``(C, H, W)``,
    ``num_groups = C`` is instance norm.

    Args:
        input: ``(N, C, *)``.
        num_groups: divides ``C``.
        weight, bias: ``(C,)`` per-channel scale and shift, or ``None``.
        eps: added to the variance.

    Returns:
        The input's shape.
    """
    if not isinstance(input, torch.Tensor) or input.dim() < 2:
        raise ConvArgumentError("group_norm expects an input (N, C, *).")
    n, c = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1 or c % num_groups:
        raise ConvArgumentError(f"group_norm: num_groups={num_groups!r} must be a positive divisor of C = {c}.")
    for label, t in (("weight", weight), ("bias", bias)):
        _check_channel_param(t, c, label, "group_norm")
    grouped = input.reshape(n, num_groups, -1)
    y, _, _ = _standardise(grouped, (2,), eps)
    return _affine(y.reshape(input.shape), weight, bias, (1, c) + (1,) * (input.dim() - 2))


def instance_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None = None,
    running_var: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Instance normalisation, as :func:`torch.nn.functional.instance_norm`.

    Each channel of each sample is standardised over its spatial axes alone
    (style transfer's "contrast normalisation"). If running statistics are
    given, they are updated as in :func:`batch_norm` with the batch's average
    of the per-instance means and unbiased variances; with
    ``use_input_stats=False`` they standardise instead.

    Args:
        input: ``(N, C, *spatial)``.
        running_mean, running_var: ``(C,)`` or ``None``.
        weight, bias: ``(C,)`` or ``None``.
        use_input_stats: standardise with each instance's own statistics.
        momentum, eps: as in :func:`batch_norm`.

    Returns:
        The input's shape.
    """
    if not isinstance(input, torch.Tensor) or input.dim() < 3:
        raise ConvArgumentError("instance_norm expects an input (N, C, *spatial) with at least one spatial axis.")
    c = input.shape[1]
    for label, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_channel_param(t, c, label, "instance_norm")
    shape = (1, c) + (1,) * (input.dim() - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ConvArgumentError("instance_norm: use_input_stats=False needs running_mean and running_var.")
        y = (input - running_mean.reshape(shape)) / torch.sqrt(running_var.reshape(shape) + eps)
        return _affine(y, weight, bias, shape)
    dims = tuple(range(2, input.dim()))
    n = math.prod(input.shape[2:])
    if n <= 1:
        raise ConvArgumentError(
            f"instance_norm: expected more than 1 spatial element per channel, got input {tuple(input.shape)}."
        )
    y, mean, var = _standardise(input, dims, eps)
    with torch.no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(momentum * mean.mean(dim=0).reshape(c).to(running_mean.dtype))
        if running_var is not None:
            unbiased = var * n / (n - 1)
            running_var.mul_(1 - momentum).add_(momentum * unbiased.mean(dim=0).reshape(c).to(running_var.dtype))
    return _affine(y, weight, bias, shape)
