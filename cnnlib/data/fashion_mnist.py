"""Fashion-MNIST: 70,000 real 28x28 photos of clothing in 10 classes.

Looked for in an explicit ``root`` only, when one is given; otherwise, in
order: ``$CNNLIB_DATA/fashion-mnist``;
Debian's package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
torchvision's copy under the cache. When none is there and downloads are
allowed, torchvision downloads it (it checks every file's MD5).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from cnnlib.data._paths import cache_dir, downloads_allowed
from cnnlib.errors import DataUnavailableError

__all__ = ["FASHION_MNIST_CLASSES", "load_fashion_mnist", "find_fashion_mnist"]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}


def _candidates(root: str | Path | None) -> list[Path]:
    if root is not None:  # an explicit folder is the only place looked at
        return [Path(root), Path(root) / "FashionMNIST" / "raw"]
    return [cache_dir("fashion-mnist"), DEBIAN_DIR, cache_dir("FashionMNIST", "raw")]


def _locate(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def find_fashion_mnist(root: str | Path | None = None) -> Path | None:
    """The first directory that holds all four Fashion-MNIST files, or ``None``."""
    for directory in _candidates(root):
        stems = [s for images, labels, _ in _FILES.values() for s in (images, labels)]
        if all(_locate(directory, s) for s in stems):
            return directory
    return None


def _read_idx(path: Path, expected_dims: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08 or (magic & 0xFF) != expected_dims:
        raise DataUnavailableError(
            f"{path} is not an IDX file of unsigned bytes with {expected_dims} dimensions "
            f"(magic number {magic:#010x}); it may be truncated or not Fashion-MNIST. Delete it and load again."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * expected_dims)
    if body.size != int(np.prod(shape)):
        raise DataUnavailableError(f"{path} is truncated: expected {int(np.prod(shape))} values, found {body.size}.")
    return body.reshape(shape)


def _download(target: Path) -> Path:
    from torchvision.datasets import FashionMNIST

    try:
        FashionMNIST(str(target.parent.parent), download=True)
    except Exception as err:  # no network, a proxy, a full disk: all mean "not here"
        raise ConnectionError(str(err)) from None
    return target


def _download_cause(message: str) -> str:
    """The first line of torchvision's download error and its causes, in one line.

    torchvision writes ``Error downloading FILE:`` then, per mirror, ``Tried URL,
    got:`` on one line and the cause (e.g. ``Name or service not known``) on the next.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "no reason given"
    causes = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.endswith("got:")]
    if not causes and len(lines) > 1:
        causes = [lines[-1]]
    head = lines[0].rstrip(":")
    return f"{head}: {'; '.join(dict.fromkeys(causes))}" if causes else head


def load_fashion_mnist(
    split: str = "train",
    *,
    root: str | Path | None = None,
    download: bool | None = None,
    limit: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of Fashion-MNIST.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        root: a directory holding the four IDX files (``.gz`` or not); when
            given, the only place looked at (a download goes there too).
        download: allow a download when the files are not found. ``None``
            allows it unless ``CNNLIB_OFFLINE=1``.
        limit: keep only the first ``limit`` images (handy on a CPU).

    Returns:
        ``(images, labels)``: ``images`` of shape ``(N, 1, 28, 28)``, ``float32``
        in ``[0, 1]``; ``labels`` of shape ``(N,)``, ``int64`` in ``0..9``
        (names in :data:`FASHION_MNIST_CLASSES`).

    Raises:
        DataUnavailableError: the files are nowhere here and cannot be downloaded.
    """
    if split not in _FILES:
        raise ValueError(f"load_fashion_mnist(split={split!r}): choose 'train' or 'test'.")
    directory = find_fashion_mnist(root)
    if directory is None:
        searched = ", ".join(str(d) for d in _candidates(root))
        reason = "downloads are switched off (CNNLIB_OFFLINE=1 or download=False)"
        if downloads_allowed(download):
            try:
                target = Path(root) / "FashionMNIST" / "raw" if root is not None else cache_dir("FashionMNIST", "raw")
                directory = _download(target)
            except ConnectionError as err:
                reason = f"the download failed ({_download_cause(str(err.args[0]))[:300]})"
        if directory is None:
            raise DataUnavailableError(
                f"Fashion-MNIST is not on this machine: looked in {searched}, and {reason}. "
                "To get it: on Debian or Ubuntu run `sudo apt-get install dataset-fashion-mnist`; "
                "with internet access call load_fashion_mnist(download=True) (torchvision fetches and "
                "checks it); or copy the four *-ubyte.gz files into a folder and pass root='that/folder'."
            ) from None
    image_stem, label_stem, count = _FILES[split]
    images = _read_idx(_locate(directory, image_stem), 3)
    labels = _read_idx(_locate(directory, label_stem), 1)
    if len(images) != count or len(labels) != count:
        raise DataUnavailableError(
            f"Fashion-MNIST {split} in {directory} has {len(images)} images and {len(labels)} labels, "
            f"expected {count} of each. Replace the files and load again."
        )
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.copy()).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y
