"""cnnlib.features: HOG on batches and single images, and the linear baseline."""
import numpy as np
import pytest
import torch
from skimage.feature import hog

from cnnlib.features import HogConfig, fit_linear_classifier, hog_features, hog_image


def test_hog_features_match_scikit_image_per_image():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(4, 1, 16, 16, generator=g)
    config = HogConfig(orientations=6, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    feats = hog_features(images, config)
    assert feats.shape == (4, config.feature_length(16, 16)) == (4, 3 * 3 * 2 * 2 * 6)
    for i in range(4):
        ref = hog(images[i, 0].double().numpy(), orientations=6, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
        np.testing.assert_allclose(feats[i], ref)
    # (N, H, W) and numpy input give the same answer
    np.testing.assert_allclose(hog_features(images[:, 0].numpy(), config), feats)


def test_hog_sees_edge_orientation():
    vertical = torch.zeros(1, 16, 16)
    vertical[:, :, 8:] = 1.0
    horizontal = vertical.transpose(1, 2)
    config = HogConfig(orientations=4, pixels_per_cell=(8, 8), cells_per_block=(1, 1), block_norm="L1")
    fv, fh = hog_features(vertical, config), hog_features(horizontal, config)
    # a vertical edge has a horizontal gradient (bin 0), a horizontal edge a vertical one (bin 2)
    assert fv.reshape(-1, 4).sum(0).argmax() == 0
    assert fh.reshape(-1, 4).sum(0).argmax() == 2


def test_hog_image_returns_features_and_a_picture():
    image = torch.zeros(1, 32, 32)
    image[:, 8:24, 8:24] = 1.0
    feats, picture = hog_image(image, HogConfig(pixels_per_cell=(8, 8)))
    assert picture.shape == (32, 32) and picture.max() > 0
    np.testing.assert_allclose(feats, hog_features(image[None], HogConfig(pixels_per_cell=(8, 8)))[0])


@pytest.mark.parametrize("bad", [torch.zeros(2, 3, 16, 16), torch.zeros(16), torch.zeros(2, 1, 1, 16, 16)])
def test_hog_rejects_non_grayscale_batches(bad):
    with pytest.raises(ValueError, match="grayscale"):
        hog_features(bad)


def test_hog_rejects_images_too_small():
    with pytest.raises(ValueError, match="too small"):
        hog_features(torch.zeros(2, 1, 6, 6))


def test_hog_image_rejects_a_batch():
    with pytest.raises(ValueError):
        hog_image(torch.zeros(2, 1, 16, 16))


def test_linear_classifier_separates_separable_data_and_validates():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g).numpy()
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = fit_linear_classifier(x, y)
    assert model.score(x, y) > 0.95
    assert fit_linear_classifier(x, torch.from_numpy(y)).score(x, y) == model.score(x, y)  # deterministic
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        fit_linear_classifier(x, y[:10])
