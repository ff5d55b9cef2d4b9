"""cnnlib.transfer: the feature cache, preprocessing from the weights, and the errors that say what to do."""
from __future__ import annotations

import pytest
import torch

from cnnlib.models import create_model, get_weights, list_models
from cnnlib.transfer import (
    ChannelMismatchError,
    FeatureCache,
    NoPretrainedWeightsError,
    extract_features,
    feature_key,
    forward_features,
    forward_head,
    pca_2d,
    preprocess,
    pretrained_backbone,
    recalibrate_batchnorm,
    reset_classifier,
    to_rgb,
)


def _model(seed=0):
    torch.manual_seed(seed)
    model = create_model("mobilenet_v2").eval()
    model.weights = get_weights("mobilenet_v2")  # the description only: no file needed
    return model


def _images(n=6, seed=0, channels=3, side=24):
    return torch.rand(n, channels, side, side, generator=torch.Generator().manual_seed(seed))


def test_preprocess_uses_the_weights_mean_and_std_like_torchvision():
    from torchvision.transforms.v2 import functional as TF

    weights = get_weights("efficientnet_lite0")
    x = _images(2, side=40)
    got = preprocess(x, weights, size=32)
    ref = TF.normalize(TF.resize(x, [32, 32], antialias=True), list(weights.mean), list(weights.std))
    torch.testing.assert_close(got, ref)
    assert weights.mean != get_weights("mobilenet_v2").mean  # the two families really differ
    assert preprocess(x, weights).shape[-1] == weights.crop_size


def test_grayscale_into_rgb_backbone_is_an_error_that_offers_the_conversion():
    weights = get_weights("mobilenet_v2")
    gray = _images(2, channels=1)
    with pytest.raises(ChannelMismatchError, match=r"1 channel.*grayscale='repeat'.*to_rgb"):
        preprocess(gray, weights)
    torch.testing.assert_close(preprocess(gray, weights, grayscale="repeat"), preprocess(to_rgb(gray), weights))
    assert torch.equal(to_rgb(gray)[:, 0], to_rgb(gray)[:, 2])
    with pytest.raises(ChannelMismatchError, match="4 channels"):
        preprocess(_images(1, channels=4), weights)
    with pytest.raises(ValueError, match="grayscale"):
        preprocess(gray, weights, grayscale="average")


def test_extract_features_are_the_pre_logits_of_the_preprocessed_images():
    model = _model()
    x = _images(5)
    feats = extract_features(model, x, size=32, batch_size=2)
    with torch.no_grad():
        ref = forward_head(model, forward_features(model, preprocess(x, model.weights, size=32)), pre_logits=True)
    torch.testing.assert_close(feats, ref)
    assert not model.training


def test_cache_hit_miss_and_invalidation():
    model = _model()
    cache = FeatureCache()
    x = _images(4)
    first = cache.features(model, x, size=32)
    assert (cache.hits, cache.misses) == (0, 1)
    again = cache.features(model, x.clone(), size=32)  # same data, another tensor: a hit
    assert (cache.hits, cache.misses) == (1, 1) and torch.equal(first, again)
    cache.features(model, x, size=40)  # input size changes: a miss
    y = x.clone()
    y[0, 0, 0, 0] += 1e-3
    cache.features(model, y, size=32)  # data changes: a miss
    other = _model(seed=1)
    cache.features(other, x, size=32)  # other weights: a miss
    with torch.no_grad():
        model.features[3].conv[0][0].weight.mul_(1.01)  # fine-tuned backbone: a miss
    changed = cache.features(model, x, size=32)
    assert (cache.hits, cache.misses) == (1, 5)
    assert not torch.equal(changed, first)
    reset_classifier(model, 3)  # the head is not part of the key
    cache.features(model, x, size=32)
    assert cache.hits == 2


def test_key_depends_on_the_weights_description():
    model = _model()
    x = _images(2)
    key = feature_key(model, x, size=32)
    model.weights = get_weights("mobilenet_v2", "IMAGENET1K_V2")
    assert feature_key(model, x, size=32) != key


def test_disk_cache_survives_a_new_cache_object(tmp_path):
    model = _model()
    x = _images(3)
    first = FeatureCache(tmp_path).features(model, x, size=32)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    second_cache = FeatureCache(tmp_path)
    second = second_cache.features(model, x, size=32)
    assert (second_cache.hits, second_cache.misses) == (1, 0) and torch.equal(first, second)


def test_on_disk_cache_lives_under_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLIB_DATA", str(tmp_path))
    assert FeatureCache.on_disk().root == tmp_path / "features"


def test_model_without_weights_is_a_clear_error():
    with pytest.raises(ValueError, match="no weights description"):
        extract_features(create_model("mobilenet_v2"), _images(1), size=32)
    with pytest.raises(NoPretrainedWeightsError, match="no pretrained weights.*on this machine"):
        pretrained_backbone("lenet5", 10)


def test_weights_not_here_names_the_models_that_have_them(monkeypatch):
    monkeypatch.setenv("CNNLIB_OFFLINE", "1")
    if "resnet18" in list_models(pretrained=True):
        pytest.skip("resnet18's weights happen to be on this machine")
    with pytest.raises(NoPretrainedWeightsError, match="not on this machine.*Models whose weights are here"):
        pretrained_backbone("resnet18", 10, download=False)


def test_pretrained_backbone_rejects_zero_classes():
    with pytest.raises(ValueError, match="at least one output"):
        pretrained_backbone("mobilenet_v2", 0)


@pytest.mark.skipif("mobilenet_v2" not in list_models(pretrained=True), reason="weights not installed")
def test_pretrained_backbone_keeps_the_imagenet_features():
    torch.manual_seed(0)
    model = pretrained_backbone("mobilenet_v2", 5)
    reference = create_model("mobilenet_v2", weights="DEFAULT")
    x = preprocess(_images(2, side=64), model.weights, size=64)
    with torch.no_grad():
        torch.testing.assert_close(forward_head(model, forward_features(model, x), pre_logits=True),
                                   forward_head(reference, forward_features(reference, x), pre_logits=True))
    assert model(x).shape == (2, 5)


def test_recalibrate_batchnorm_sets_the_mean_over_the_images():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    x = _images(10) * 2 + 1
    recalibrate_batchnorm(model.eval(), x, batch_size=5)
    with torch.no_grad():
        z = model[0](x)
    halves = [z[:5].mean(dim=(0, 2, 3)), z[5:].mean(dim=(0, 2, 3))]
    torch.testing.assert_close(model[1].running_mean, (halves[0] + halves[1]) / 2)
    assert model[1].momentum == 0.1 and not model.training


def test_pca_2d_matches_sklearn_up_to_sign():
    from sklearn.decomposition import PCA

    x = torch.randn(50, 8, generator=torch.Generator().manual_seed(0)) * torch.arange(1, 9)
    ours = pca_2d(x)
    ref = torch.from_numpy(PCA(2).fit_transform(x.numpy())).float()
    for k in range(2):
        assert torch.allclose(ours[:, k], ref[:, k], atol=1e-4) or torch.allclose(ours[:, k], -ref[:, k], atol=1e-4)
    with pytest.raises(ValueError, match="N >= 2"):
        pca_2d(torch.zeros(1, 3))


def test_cifar10_offline_is_a_clear_error(tmp_path, monkeypatch):
    from cnnlib.data.cifar10 import load_cifar10
    from cnnlib.errors import DataUnavailableError

    monkeypatch.setenv("CNNLIB_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="CIFAR-10 is not in .*downloads are off.*FULL_RUN = False"):
        load_cifar10("test", download=False)
    with pytest.raises(ValueError, match="choose 'train' or 'test'"):
        load_cifar10("val", download=False)


def test_texture_patches_come_from_separate_halves():
    from cnnlib.data.textures import TEXTURE_CLASSES, _photo, load_texture_patches

    x, y = load_texture_patches("train", per_class=3, patch=32, seed=0)
    xt, yt = load_texture_patches("test", per_class=3, patch=32, seed=0)
    assert x.shape == (3 * len(TEXTURE_CLASSES), 1, 32, 32) and torch.equal(y, yt)
    brick = torch.from_numpy(_photo("brick"))
    half = brick.shape[0] // 2
    windows_top = brick[:half].unfold(0, 32, 1).unfold(1, 32, 1)
    windows_bottom = brick[half:].unfold(0, 32, 1).unfold(1, 32, 1)
    for patch in x[y == 0, 0]:
        assert (windows_top == patch).flatten(2).all(-1).any()
    for patch in xt[yt == 0, 0]:
        assert (windows_bottom == patch).flatten(2).all(-1).any()
    with pytest.raises(ValueError, match="must fit"):
        load_texture_patches(patch=400)
