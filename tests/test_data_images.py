"""Bundled real photos and scikit-learn's digits."""
import pytest
import torch

import cnnlib
from cnnlib.data import load_digits, sample_image, sample_image_names


@pytest.mark.parametrize("name", sample_image_names())
def test_every_sample_image_loads_as_a_real_photo(name):
    image = sample_image(name)
    assert image.dtype == torch.float32 and image.ndim == 3 and image.shape[0] in (1, 3)
    assert min(image.shape[1:]) >= 256, "the bundled photos are all at least 256 px"
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert image.std() > 0.05, "a real photo is not flat"


def test_known_shapes_and_channels():
    assert sample_image("cat").shape == (3, 300, 451)
    assert sample_image("camera").shape == (1, 512, 512)
    assert sample_image("grace_hopper").shape == (3, 600, 512)


def test_gray_and_resize():
    gray = sample_image("astronaut", gray=True)
    rgb = sample_image("astronaut")
    assert gray.shape == (1, 512, 512)
    expected = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    assert torch.allclose(gray[0], expected, atol=1e-6)
    assert sample_image("cat", size=64).shape == (3, 64, 96)  # shorter side 64, aspect kept
    assert sample_image("cat", size=(32, 40)).shape == (3, 32, 40)


def test_unknown_image_lists_the_valid_names():
    with pytest.raises(KeyError, match="Choose one of: astronaut, camera, cat"):
        sample_image("dog")


def test_load_digits_is_the_real_dataset():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and labels.shape == (1797,)
    assert labels.dtype == torch.int64 and set(labels.tolist()) == set(range(10))
    assert images.min() == 0.0 and images.max() == 1.0
    # scikit-learn's first digit is a 0 whose top-left corner is blank.
    assert labels[0] == 0 and images[0, 0, 0, 0] == 0.0 and images[0, 0, 3].sum() > 1.0


def test_load_digits_upsampled_for_lenet():
    small, _ = load_digits()
    big, _ = load_digits(size=28)
    assert big.shape == (1797, 1, 28, 28)
    down = torch.nn.functional.adaptive_avg_pool2d(big, 8)
    assert torch.corrcoef(torch.stack([down.flatten(), small.flatten()]))[0, 1] > 0.95


def test_load_digits_rejects_bad_size():
    with pytest.raises(ValueError, match="positive int"):
        load_digits(size=0)


def test_sample_image_missing_package_is_explained(monkeypatch):
    from cnnlib.data import images

    def broken():
        raise ImportError("No module named 'skimage'")

    monkeypatch.setitem(images.SAMPLE_IMAGES, "cat", images._Sample(broken, "scikit-image", "test"))
    with pytest.raises(cnnlib.DataUnavailableError, match="pip install scikit-image"):
        sample_image("cat")
