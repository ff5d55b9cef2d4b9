"""cnnlib: the library behind the open CNN course book.

Every implementation the chapter notebooks use lives here, one idea per
module, so that notebooks stay prose, calls and figures::

    import cnnlib
    cnnlib.env.report()            # what this machine has
    dev = cnnlib.device()          # CUDA, then MPS, then CPU
    cnnlib.seed_everything(0)      # reproducible runs

Submodules are imported on first use (``cnnlib.data``, ``cnnlib.ops``, ...),
so ``import cnnlib`` stays quick.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cnnlib.errors import CnnlibError, DataUnavailableError, WeightsIntegrityError
from cnnlib.runtime import device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CnnlibError",
    "DataUnavailableError",
    "WeightsIntegrityError",
    "device",
    "seed_everything",
]

# Submodules loaded lazily on attribute access (PEP 562).
_SUBMODULES = frozenset(
    {"arith", "bench", "data", "env", "explain", "grading", "models", "ops",
     "train", "transfer", "viz", "widgets"}
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from cnnlib import data, env  # noqa: F401


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"cnnlib.{name}")
    raise AttributeError(f"module 'cnnlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
