"""Softmax and cross-entropy written out, for reading rather than speed.

Every function here has a ``torch.nn.functional`` twin that the tests
compare it with; the point is to see the formulas in code:

- softmax: ``p_k = exp(z_k) / sum_j exp(z_j)``;
- log-softmax, stable: ``log p_k = (z_k - m) - log sum_j exp(z_j - m)`` with
  ``m = max_j z_j``, so no ``exp`` overflows;
- cross-entropy of integer targets: ``L = -(1/N) sum_n log p_{n, y_n}``;
- binary cross-entropy on a logit ``z`` with ``sigma(z) = 1 / (1 + exp(-z))``:
  ``L = -[y log sigma(z) + (1 - y) log(1 - sigma(z))]``, whose derivative is
  ``dL/dz = sigma(z) - y``.
"""
from __future__ import annotations

import torch

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "sigmoid",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_grad",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_floating(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name}: expected a floating-point tensor of logits; got {got}. Use .float() first.")


def _reduce(losses: torch.Tensor, reduction: str, name: str) -> torch.Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{name}: reduction must be one of {', '.join(_REDUCTIONS)}; got {reduction!r}.")


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities from logits: ``p_k = exp(z_k - m) / sum_j exp(z_j - m)``.

    Subtracting ``m = max_j z_j`` changes nothing mathematically (it cancels
    between numerator and denominator) but keeps every ``exp`` at most 1.

    Args:
        logits: any shape; ``dim`` holds the classes.
        dim: the class dimension.

    Returns:
        Same shape as ``logits``; non-negative and summing to 1 along ``dim``.
    """
    _check_floating("softmax", logits)
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    exps = shifted.exp()
    return exps / exps.sum(dim=dim, keepdim=True)


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log-probabilities, computed stably: ``(z_k - m) - log sum_j exp(z_j - m)``.

    ``softmax(z).log()`` would give ``-inf`` once a probability underflows
    to 0 (a logit gap above about 104 in float32); this form stays finite.

    Args:
        logits: any shape; ``dim`` holds the classes.
        dim: the class dimension.

    Returns:
        Same shape as ``logits``; ``exp`` of it sums to 1 along ``dim``.
    """
    _check_floating("log_softmax", logits)
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy between softmax(logits) and integer class targets.

    .. math::

        L = -\\frac{1}{N} \\sum_{n=1}^{N} \\log \\operatorname{softmax}(z_n)_{y_n}

    which is the general ``-sum_k y_k log p_k`` with one-hot ``y``: only the
    true class's term survives.

    Args:
        logits: shape ``(N, C)``, raw scores (no softmax applied).
        target: shape ``(N,)``, integer classes in ``0 .. C-1``.
        reduction: ``"mean"`` over the N samples (PyTorch's default),
            ``"sum"``, or ``"none"`` for the ``(N,)`` per-sample losses.

    Returns:
        A scalar, or shape ``(N,)`` with ``reduction="none"``.
    """
    _check_floating("cross_entropy", logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy expects logits of shape (N, C); got {tuple(logits.shape)}.")
    if target.ndim != 1 or target.shape[0] != logits.shape[0] or target.is_floating_point():
        raise ValueError(
            f"cross_entropy expects integer targets of shape (N,) = ({logits.shape[0]},); got "
            f"{tuple(target.shape)} of dtype {target.dtype}. Pass class indices, e.g. tensor([3, 0, 7])."
        )
    num_classes = logits.shape[1]
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        raise ValueError(
            f"cross_entropy: targets must lie in 0..{num_classes - 1} for {num_classes} classes; "
            f"got values from {int(target.min())} to {int(target.max())}."
        )
    picked = log_softmax(logits, dim=1).gather(1, target.long().unsqueeze(1)).squeeze(1)
    return _reduce(-picked, reduction, "cross_entropy")


def sigmoid(z: torch.Tensor) -> torch.Tensor:
    """The logistic function ``sigma(z) = 1 / (1 + exp(-z))``, elementwise.

    For negative ``z`` it uses the equal form ``exp(z) / (1 + exp(z))`` so
    that ``exp`` never overflows.
    """
    _check_floating("sigmoid", z)
    e = (-z.abs()).exp()  # in (0, 1], never overflows
    return torch.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def binary_cross_entropy_with_logits(z: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy of a logit ``z`` and a target ``y`` in [0, 1].

    .. math::

        L = -[y \\log \\sigma(z) + (1 - y) \\log(1 - \\sigma(z))]
          = \\max(z, 0) - y z + \\log(1 + e^{-|z|})

    The second form is the same number, computed without ``log(0)``.

    Args:
        z: logits, any shape.
        target: same shape as ``z``, floats in [0, 1] (usually 0 or 1).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or the shape of ``z`` with ``reduction="none"``.
    """
    _check_floating("binary_cross_entropy_with_logits", z)
    if target.shape != z.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: target shape {tuple(target.shape)} must equal the logits' "
            f"shape {tuple(z.shape)}."
        )
    y = target.to(z.dtype)
    losses = z.clamp(min=0) - y * z + torch.log1p((-z.abs()).exp())
    return _reduce(losses, reduction, "binary_cross_entropy_with_logits")


def binary_cross_entropy_grad(z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The derivative of the per-sample binary cross-entropy: ``dL/dz = sigma(z) - y``.

    Chain rule: ``dL/dsigma = -y/sigma + (1-y)/(1-sigma)`` and
    ``dsigma/dz = sigma (1 - sigma)``; their product simplifies to
    ``sigma(z) - y``. For a last layer ``z = w . x + b`` this gives
    ``dL/dw_j = (sigma(z) - y) x_j``.

    Args:
        z: logits, any shape.
        target: same shape, floats in [0, 1].

    Returns:
        Same shape as ``z``. (For the ``"mean"`` loss over N samples, divide by N.)
    """
    if target.shape != z.shape:
        raise ValueError(f"binary_cross_entropy_grad: target shape {tuple(target.shape)} must equal {tuple(z.shape)}.")
    return sigmoid(z) - target.to(z.dtype)
