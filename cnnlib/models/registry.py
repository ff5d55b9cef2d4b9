"""The model registry: build any of the book's networks by name.

As in torchvision and timm, every builder is a keyword-only function
registered under a short name, so that tests and the command line can loop
over all of them::

    model = create_model("lenet5", num_classes=10)
    list_models()            # ['classic_cnn', 'keras_cnn', 'lenet5', ...]

Every registered builder returns an ``nn.Module`` with an ``input_size``
attribute, the ``(C, H, W)`` shape of one input image it expects.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ModelSpec", "UnknownModelError", "create_model", "get_model_spec", "list_models", "meta_model",
           "register_model"]


class UnknownModelError(KeyError, ValueError):
    """``create_model`` was given a name that no builder is registered under."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


@dataclass(frozen=True)
class ModelSpec:
    """One registered builder.

    Attributes:
        name: the name it is registered under.
        builder: the keyword-only function that returns the ``nn.Module``.
        description: one line for ``--help`` and listings.
        parameters: the keyword arguments the builder accepts.
    """

    name: str
    builder: Callable[..., nn.Module]
    description: str
    parameters: tuple[str, ...]


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str | None = None, *, description: str | None = None):
    """Decorator that adds a builder to the registry.

    Args:
        name: the registry name; defaults to the function's name.
        description: one line; defaults to the first line of the docstring.

    Raises:
        ValueError: the name is taken, or the builder has positional parameters
            (builders are keyword-only so that a call can never mix up two ints).
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or builder.__name__
        if key in _REGISTRY:
            raise ValueError(f"register_model: a model named {key!r} is already registered; pick another name.")
        signature = inspect.signature(builder)
        positional = [p.name for p in signature.parameters.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if positional:
            raise ValueError(
                f"register_model({key!r}): builder parameters {positional} must be keyword-only; "
                "put a bare `*,` before them."
            )
        doc = description or (inspect.getdoc(builder) or key).splitlines()[0]
        _REGISTRY[key] = ModelSpec(key, builder, doc, tuple(signature.parameters))
        return builder

    return decorate


def list_models(*, pretrained: bool = False) -> list[str]:
    """The names of all registered models, sorted.

    Args:
        pretrained: only the models whose pretrained weights are on this
            machine now (found offline, without downloading).
    """
    if pretrained:
        from cnnlib.models.weights import has_weights_here

        return sorted(name for name in _REGISTRY if has_weights_here(name))
    return sorted(_REGISTRY)


def get_model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered under ``name``.

    Raises:
        UnknownModelError: no model has that name (the message lists the valid ones).
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise UnknownModelError(
            f"unknown model {name!r}. Registered models: {', '.join(list_models())}."
        )
    return _REGISTRY[name]


def create_model(name: str, *, weights=None, download: bool | None = None, **kwargs) -> nn.Module:
    """Build the model registered under ``name``, optionally with pretrained weights.

    Args:
        name: one of :func:`list_models`.
        weights: ``None`` (random initialisation), ``"DEFAULT"``, a weights
            name such as ``"IMAGENET1K_V1"``, or a
            :class:`~cnnlib.models.weights.Weights` (see
            :func:`~cnnlib.models.weights.list_weights`). The weights are
            loaded with ``strict=True`` and the model is returned in eval mode,
            with the description as ``model.weights``.
        download: allow downloading missing weights (``None``: unless ``CNNLIB_OFFLINE=1``).
        **kwargs: passed to the builder (for example ``num_classes=10``).

    Returns:
        An ``nn.Module`` with an ``input_size`` attribute ``(C, H, W)``.

    Raises:
        UnknownModelError: unknown ``name``.
        TypeError: an argument the builder does not accept (the message lists
            the ones it does).
        ValueError: arguments that contradict each other or make no network,
            or weights the model does not have.
        DataUnavailableError: the weights are not here and cannot be downloaded.
    """
    spec = get_model_spec(name)
    unknown = sorted(set(kwargs) - set(spec.parameters))
    if unknown:
        raise TypeError(
            f"create_model({name!r}): unknown argument(s) {', '.join(unknown)}. "
            f"{name} accepts: {', '.join(spec.parameters) or 'no arguments'}."
        )
    if weights is None:
        return spec.builder(**kwargs)
    from cnnlib.models.weights import get_weights

    description = get_weights(name, weights)
    if kwargs.get("num_classes", description.num_classes) != description.num_classes:
        raise ValueError(
            f"create_model({name!r}, weights={description.name!r}, num_classes={kwargs['num_classes']}): these "
            f"weights predict {description.num_classes} classes. Load them first, then replace the last layer."
        )
    state_dict = description.get_state_dict(download=download)
    model = spec.builder(**{**kwargs, **description.builder_kwargs})
    model.load_state_dict(state_dict, strict=True)
    model.weights = description
    return model.eval()


def meta_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` on the ``meta`` device: shapes, no memory.

    Counting a large network's parameters or multiply-adds needs only its
    shapes, so :func:`cnnlib.models.count_parameters`,
    :func:`cnnlib.models.count_macs` and :func:`cnnlib.models.profile` work on
    it without allocating (or initialising) a single weight. It cannot compute
    real outputs.

    Args:
        name: one of :func:`list_models`.
        **kwargs: passed to the builder, as in :func:`create_model`
            (pretrained weights cannot be loaded onto the meta device).

    Raises:
        ValueError: ``weights`` was passed.
        UnknownModelError, TypeError: as :func:`create_model`.
    """
    if kwargs.get("weights") is not None:
        raise ValueError(f"meta_model({name!r}): a model on the meta device holds no values, so it cannot load "
                         "weights; use create_model(name, weights=...) for a model that computes.")
    kwargs.pop("weights", None)
    with torch.device("meta"):
        return create_model(name, **kwargs)
