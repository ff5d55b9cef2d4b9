"""CIFAR-10 for the full transfer experiment on a GPU: online only, checksummed.

No package ships CIFAR-10, so it is never loaded offline or by the book's
build. :func:`load_cifar10` asks torchvision to download the archive (it
checks the archive's MD5 before unpacking) into ``cnnlib.data``'s cache
folder, or reads a copy already there; without network it says so.
"""
from __future__ import annotations

import torch

from cnnlib.data._paths import cache_dir, downloads_allowed
from cnnlib.errors import DataUnavailableError

__all__ = ["CIFAR10_CLASSES", "load_cifar10"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_cifar10(split: str = "train", *, download: bool | None = None,
                 limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of CIFAR-10 as ``(N, 3, 32, 32)`` floats in ``[0, 1]`` and ``(N,)`` int64 labels.

    Raises:
        DataUnavailableError: not in the cache folder and not downloadable (offline,
            ``CNNLIB_OFFLINE=1`` or ``download=False``), or the download failed its checksum.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_cifar10(split={split!r}): choose 'train' or 'test'.")
    from torchvision.datasets import CIFAR10

    root = cache_dir("cifar10")
    allowed = downloads_allowed(download)
    try:
        data = CIFAR10(str(root), train=split == "train", download=allowed)
    except Exception as err:  # no network, a failed checksum, a missing archive: all mean "not here"
        how = ("the download failed: " + str(err).splitlines()[0][:160]) if allowed else (
            "downloads are off (CNNLIB_OFFLINE=1 or download=False)")
        raise DataUnavailableError(
            f"CIFAR-10 is not in {root} and {how}. No package ships it: run this on a machine with internet "
            "(Google Colab works; torchvision checks the archive's MD5), or keep FULL_RUN = False to use the "
            "offline datasets.") from None
    images = torch.from_numpy(data.data).permute(0, 3, 1, 2).float().div(255)
    labels = torch.tensor(data.targets, dtype=torch.int64)
    return (images[:limit], labels[:limit]) if limit is not None else (images, labels)
