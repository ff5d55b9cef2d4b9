"""A pretrained model with a new head, ready to transfer."""
from __future__ import annotations

from torch import nn

from cnnlib.transfer.errors import NoPretrainedWeightsError
from cnnlib.transfer.split import get_split, reset_classifier

__all__ = ["pretrained_backbone"]


def pretrained_backbone(name: str, num_classes: int, *, weights: str = "DEFAULT",
                        download: bool | None = None) -> nn.Module:
    """Build ``name`` with its pretrained weights and a new head for ``num_classes`` classes.

    The model keeps its description as ``model.weights`` (preprocessing:
    :func:`~cnnlib.transfer.preprocess`). The new head is initialised from
    PyTorch's generator: seed it first for a reproducible run.

    Raises:
        NoPretrainedWeightsError: the model has no pretrained weights, or they are not on this machine
            and cannot be downloaded (the message lists the models whose weights are here).
        UnsupportedModelError: the family has no backbone/head split.
        ValueError: ``num_classes`` below 1.
    """
    from cnnlib.errors import DataUnavailableError
    from cnnlib.models import create_model, list_models

    here = ", ".join(list_models(pretrained=True)) or "none"
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"pretrained_backbone({name!r}, num_classes={num_classes!r}): the new head needs at "
                         "least one output; pass the number of classes of your task.")
    try:
        model = create_model(name, weights=weights, download=download)
    except DataUnavailableError as err:
        raise NoPretrainedWeightsError(
            f"{name}'s pretrained weights are not on this machine and cannot be downloaded here. "
            f"Models whose weights are here: {here}. ({str(err).splitlines()[0]})") from None
    except ValueError as err:
        if "has no pretrained weights" not in str(err):
            raise
        raise NoPretrainedWeightsError(
            f"{name} has no pretrained weights to transfer from. Models whose weights are on this machine: "
            f"{here}.") from None
    get_split(model)
    return reset_classifier(model, num_classes)
