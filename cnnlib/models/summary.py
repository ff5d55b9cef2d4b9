"""Layer tables (output shapes, parameter counts) through torchinfo."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["count_parameters", "summary"]


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters: ``sum(p.numel() for p in model.parameters())``.

    Args:
        model: any module.
        trainable_only: count only parameters with ``requires_grad=True``.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def summary(model: nn.Module, input_size: tuple[int, ...] | None = None, *, batch_size: int = 1,
            depth: int = 3, col_names: tuple[str, ...] = ("output_size", "num_params"),
            device: str | torch.device | None = None, verbose: int = 0):
    """A Keras-style layer table: each layer's output shape and parameter count.

    Runs one forward pass of zeros through ``model`` with ``torchinfo.summary``.

    Args:
        model: the network. Models from :func:`cnnlib.models.create_model`
            know their input size.
        input_size: ``(C, H, W)`` of one input; defaults to ``model.input_size``.
        batch_size: the batch dimension shown in the shapes.
        depth: how many levels of nested modules to list.
        col_names: torchinfo columns, e.g. add ``"kernel_size"`` or ``"mult_adds"``.
        device: where to run the forward pass; defaults to where the model is.
        verbose: 0 returns the table silently (a notebook shows it when it is
            the cell's last value), 1 also prints it.

    Returns:
        torchinfo's ``ModelStatistics``: ``print()`` it for the table;
        ``.total_params`` and ``.trainable_params`` hold the counts.

    Raises:
        ValueError: no ``input_size`` given and the model does not carry one.
    """
    from torchinfo import summary as _torchinfo_summary

    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(
                f"summary: {type(model).__name__} has no input_size attribute; pass input_size=(C, H, W), "
                "e.g. summary(model, (1, 28, 28))."
            )
    input_size = tuple(int(s) for s in input_size)
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    try:
        return _torchinfo_summary(model, input_size=(batch_size, *input_size), depth=depth, col_names=col_names,
                                  device=device, verbose=verbose, row_settings=("var_names",))
    finally:
        model.train(was_training)  # torchinfo switches to eval mode; give the model back as it was
