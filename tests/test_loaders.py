"""Train / validation / test loaders: fixed stratified splits, seeding, augmentation, registry."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlib.data import (
    UnknownDatasetError,
    augmentation,
    digits_loaders,
    get_loaders,
    list_datasets,
    load_digits,
    make_loaders,
    stratified_split,
)


def _all(loader):
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys)


@pytest.fixture(scope="module")
def digits():
    return digits_loaders(size=28)


def test_digits_split_sizes_and_shapes(digits):
    sizes = [len(digits.train.dataset), len(digits.val.dataset), len(digits.test.dataset)]
    assert sum(sizes) == 1797
    assert abs(sizes[2] - 0.2 * 1797) <= 10 and abs(sizes[1] - 0.1 * 1797) <= 10
    x, y = next(iter(digits.train))
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert digits.input_size == (1, 28, 28) and digits.num_classes == 10
    assert digits.class_names == tuple("0123456789")


def test_digits_parts_are_disjoint_and_cover_the_data():
    data = digits_loaders(size=8)
    images, _ = load_digits(size=8)
    joined = torch.cat([_all(loader)[0] for loader in (data.train, data.val, data.test)]).flatten(1)

    def canonical(t):  # rows sorted lexicographically: equal multisets of images give equal arrays
        a = t.numpy()
        return a[np.lexsort(a.T[::-1])]

    assert len(joined) == len(images)
    np.testing.assert_array_equal(canonical(joined), canonical(images.flatten(1)))


def test_split_is_stratified_and_fixed_across_training_seeds():
    a, b = digits_loaders(size=8, seed=0), digits_loaders(size=8, seed=123)
    test_a, test_b = _all(a.test), _all(b.test)
    torch.testing.assert_close(test_a[0], test_b[0])
    assert torch.equal(test_a[1], test_b[1])
    counts = torch.bincount(test_a[1], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # every class has ~20% of its ~180 images


def test_training_order_follows_the_seed():
    first = [y for _, y in digits_loaders(size=8, seed=0).train]
    again = [y for _, y in digits_loaders(size=8, seed=0).train]
    other = [y for _, y in digits_loaders(size=8, seed=1).train]
    assert all(torch.equal(p, q) for p, q in zip(first, again))
    assert not all(torch.equal(p, q) for p, q in zip(first, other))


def test_stratified_split_fractions():
    labels = torch.arange(10).repeat_interleave(100)
    train, val, test = stratified_split(labels, (0.1, 0.2), seed=0)
    assert (len(train), len(val), len(test)) == (700, 100, 200)
    assert torch.equal(torch.bincount(labels[test]), torch.full((10,), 20))
    assert len(set(train.tolist()) | set(val.tolist()) | set(test.tolist())) == 1000
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(labels, (0.5, 0.6))


def test_train_limit_is_class_balanced():
    data = digits_loaders(size=8, train_limit=100)
    _, y = _all(data.train)
    assert len(y) == 100
    assert torch.equal(torch.bincount(y, minlength=10), torch.full((10,), 10))
    with pytest.raises(ValueError, match="train_limit"):
        digits_loaders(size=8, train_limit=10**6)


def test_augmentation_changes_training_images_only():
    images = torch.zeros(4, 1, 28, 28)
    images[:, :, 10:18, 12:16] = 1.0
    labels = torch.arange(4)
    torch.manual_seed(0)
    data = make_loaders(images.repeat(10, 1, 1, 1), labels.repeat(10), class_names=tuple("abcd"),
                        val_fraction=0.25, test_fraction=0.25, augment=True, batch_size=64)
    train_x, _ = _all(data.train)
    test_x, _ = _all(data.test)
    assert not torch.equal(train_x, images[:1].expand_as(train_x))  # moved / rotated
    assert torch.all((test_x == 0) | (test_x == 1))  # untouched
    assert train_x.shape[1:] == (1, 28, 28)
    assert train_x.min() >= 0 and train_x.max() <= 1.0 + 1e-6


def test_augmentation_keeps_content_roughly():
    torch.manual_seed(0)
    image = torch.zeros(1, 28, 28)
    image[:, 8:20, 8:20] = 1.0
    moved = augmentation(degrees=0, translate=0.1, scale=(1.0, 1.0))(image)
    assert moved.shape == image.shape
    # a pure shift keeps the bright area (up to interpolation at the edges)
    assert abs(moved.sum().item() - image.sum().item()) <= 0.1 * image.sum().item()


def test_registry_and_unknown_names():
    assert {"digits", "digits8", "fashion_mnist"} <= set(list_datasets())
    assert get_loaders("digits8").input_size == (1, 8, 8)
    with pytest.raises(UnknownDatasetError) as info:
        get_loaders("mnist")
    assert "mnist" in str(info.value) and "digits8" in str(info.value)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="batch_size"):
        digits_loaders(batch_size=0)
    with pytest.raises(ValueError, match="augment"):
        digits_loaders(augment="yes")


def test_fashion_mnist_loaders_when_available():
    from cnnlib.data import find_fashion_mnist

    if find_fashion_mnist() is None:
        pytest.skip("Fashion-MNIST is not installed here")
    data = get_loaders("fashion_mnist", train_limit=500, test_limit=200)
    assert len(data.train.dataset) == 500 and len(data.test.dataset) == 200
    assert len(data.val.dataset) == 5000
    x, y = next(iter(data.train))
    assert x.shape == (64, 1, 28, 28) and data.class_names[9] == "Ankle boot"


def test_shift_augmentation_moves_pixels_without_changing_them():
    torch.manual_seed(0)
    image = torch.zeros(1, 28, 28)
    image[:, 10:14, 10:14] = torch.arange(16.0).reshape(4, 4) + 1
    shift = augmentation("shift", size=(28, 28), padding=2)
    moved = [shift(image) for _ in range(20)]
    assert all(m.shape == image.shape for m in moved)
    # a shift of at most 2 px keeps the whole block, with exactly the same values
    assert all(torch.equal(m[m > 0].sort().values, image[image > 0].sort().values) for m in moved)
    assert any(not torch.equal(m, image) for m in moved)
    with pytest.raises(ValueError, match="size"):
        augmentation("shift")
    with pytest.raises(ValueError, match="kind"):
        augmentation("mixup")
