"""The errors :mod:`cnnlib.transfer` raises on purpose, each saying what to do."""
from __future__ import annotations

from cnnlib.errors import CnnlibError

__all__ = ["ChannelMismatchError", "NoPretrainedWeightsError", "UnknownStageError", "UnsupportedModelError"]


class NoPretrainedWeightsError(CnnlibError, ValueError):
    """The model has no pretrained weights on this machine (the message lists the ones that do)."""


class UnsupportedModelError(CnnlibError, TypeError):
    """No backbone/head split is defined for this kind of model (the message lists the families)."""


class UnknownStageError(CnnlibError, KeyError, ValueError):
    """A stage name the model does not have (the message lists its stages)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


class ChannelMismatchError(CnnlibError, ValueError):
    """Images with a channel count the backbone does not take (e.g. grayscale into an RGB network)."""
