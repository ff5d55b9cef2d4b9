"""Real photographs that ship inside installed packages, so they work offline.

Sources: scikit-image's bundled images, scikit-learn's two sample photos and
matplotlib's portrait of Grace Hopper. Nothing here downloads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from cnnlib.errors import DataUnavailableError

__all__ = ["sample_image", "sample_image_names", "SAMPLE_IMAGES"]


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_images

        bunch = load_sample_images()
        index = [f.rsplit("/", 1)[-1] for f in bunch.filenames].index(filename)
        return bunch.images[index]

    return load


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


@dataclass(frozen=True)
class _Sample:
    load: Callable[[], np.ndarray]
    source: str
    description: str


SAMPLE_IMAGES: dict[str, _Sample] = {
    "astronaut": _Sample(_skimage("astronaut"), "scikit-image", "Eileen Collins, NASA portrait (512x512, colour)"),
    "camera": _Sample(_skimage("camera"), "scikit-image", "a cameraman on a tripod (512x512, grayscale)"),
    "cat": _Sample(_skimage("chelsea"), "scikit-image", "Chelsea the cat (300x451, colour)"),
    "coffee": _Sample(_skimage("coffee"), "scikit-image", "a cup of coffee (400x600, colour)"),
    "coins": _Sample(_skimage("coins"), "scikit-image", "Greek coins on a table (303x384, grayscale)"),
    "rocket": _Sample(_skimage("rocket"), "scikit-image", "a rocket on its launch pad (427x640, colour)"),
    "china": _Sample(_sklearn("china.jpg"), "scikit-learn", "a temple in China (427x640, colour)"),
    "flower": _Sample(_sklearn("flower.jpg"), "scikit-learn", "a flower close up (427x640, colour)"),
    "grace_hopper": _Sample(_grace_hopper, "matplotlib", "Grace Hopper, computer scientist (600x512, colour)"),
}


def sample_image_names() -> list[str]:
    """Names accepted by :func:`sample_image`, sorted."""
    return sorted(SAMPLE_IMAGES)


def sample_image(name: str, *, size: int | tuple[int, int] | None = None, gray: bool = False) -> torch.Tensor:
    """Load a bundled real photo as a float tensor.

    Args:
        name: one of :func:`sample_image_names` (e.g. ``"cat"``, ``"camera"``).
        size: resize to ``size`` (an int sets the shorter side and keeps the
            aspect ratio; a pair ``(H, W)`` sets both). ``None`` keeps the original.
        gray: convert to one luminance channel (ITU-R 601: 0.299 R + 0.587 G + 0.114 B).

    Returns:
        Tensor of shape ``(C, H, W)``, ``C`` = 1 for gray or grayscale photos
        and 3 otherwise, ``float32`` in ``[0, 1]``.

    Raises:
        KeyError: unknown ``name``; the message lists the valid ones.
        DataUnavailableError: the package that ships the photo is missing.
    """
    if name not in SAMPLE_IMAGES:
        raise KeyError(f"sample_image({name!r}): unknown image. Choose one of: {', '.join(sample_image_names())}.")
    sample = SAMPLE_IMAGES[name]
    try:
        array = sample.load()
    except ImportError as err:
        raise DataUnavailableError(
            f"sample_image({name!r}) comes from the {sample.source} package, which is not installed "
            f"({err}). Install it with `pip install {sample.source}` and run the cell again."
        ) from None
    image = torch.from_numpy(np.array(array, dtype=np.float32)) / 255.0
    image = image.unsqueeze(0) if image.ndim == 2 else image.permute(2, 0, 1)[:3]
    if gray and image.shape[0] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        image = (image * weights).sum(dim=0, keepdim=True)
    if size is not None:
        image = _resize(image, size)
    return image.clamp_(0.0, 1.0)


def _resize(image: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    return TF.resize(image, list(size) if isinstance(size, tuple) else size, antialias=True)
