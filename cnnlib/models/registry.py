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

from torch import nn

__all__ = ["ModelSpec", "UnknownModelError", "create_model", "get_model_spec", "list_models", "register_model"]


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


def list_models() -> list[str]:
    """The names of all registered models, sorted."""
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


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered under ``name``.

    Args:
        name: one of :func:`list_models`.
        **kwargs: passed to the builder (for example ``num_classes=10``).

    Returns:
        A freshly initialised ``nn.Module`` with an ``input_size`` attribute
        ``(C, H, W)``.

    Raises:
        UnknownModelError: unknown ``name``.
        TypeError: an argument the builder does not accept (the message lists
            the ones it does).
        ValueError: arguments that contradict each other or make no network.
    """
    spec = get_model_spec(name)
    unknown = sorted(set(kwargs) - set(spec.parameters))
    if unknown:
        raise TypeError(
            f"create_model({name!r}): unknown argument(s) {', '.join(unknown)}. "
            f"{name} accepts: {', '.join(spec.parameters) or 'no arguments'}."
        )
    return spec.builder(**kwargs)
