"""Device choice and seeding: the two lines at the top of every notebook."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["device", "seed_everything"]

_DEVICE_NAMES = ("cuda", "mps", "cpu")


def device(prefer: str | None = None) -> torch.device:
    """Pick the device to compute on.

    Args:
        prefer: ``"cuda"``, ``"mps"`` or ``"cpu"`` to force a choice; ``None``
            takes the fastest one present (CUDA, then Apple's MPS, then CPU).
            The environment variable ``CNNLIB_DEVICE`` overrides ``None``.

    Returns:
        The chosen ``torch.device``.

    Raises:
        ValueError: ``prefer`` names an unknown device or one that is not present.
    """
    prefer = prefer or os.environ.get("CNNLIB_DEVICE") or None
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is None:
        return torch.device(next(name for name in _DEVICE_NAMES if available[name]))
    if prefer not in available:
        raise ValueError(f"device(prefer={prefer!r}): choose one of {', '.join(_DEVICE_NAMES)}.")
    if not available[prefer]:
        hint = " In Colab: Runtime > Change runtime type > GPU." if prefer == "cuda" else ""
        raise ValueError(f"device(prefer={prefer!r}): no {prefer.upper()} device on this machine.{hint}")
    return torch.device(prefer)


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that runs repeat.

    Args:
        seed: the seed for every generator.
        deterministic: on CUDA, also ask PyTorch for deterministic kernels
            where it has them (``warn_only``, so an op without one still runs).
            CPU kernels are deterministic already, and switching the flag on
            costs seconds of imports, so on a CPU-only machine it is skipped.

    Returns nothing, so that a notebook cell ending with this call shows no
    output; for a DataLoader's own generator use ``torch.Generator().manual_seed(seed)``.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic and torch.cuda.is_available():
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        # cuBLAS needs this to be deterministic on CUDA >= 10.2.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
