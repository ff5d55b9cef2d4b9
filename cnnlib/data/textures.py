"""Texture patches cut from scikit-image's photos, train and test from separate regions.

Each photo is one class. Training patches come from its top half and test
patches from its bottom half, so no test patch shares a pixel with a
training patch (patches cut from one region may overlap each other).
Everything ships with scikit-image; nothing downloads.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["TEXTURE_CLASSES", "load_texture_patches"]

#: The photos used, one class each (all 512 x 512 or larger; colour ones are converted to gray).
TEXTURE_CLASSES = ("brick", "grass", "gravel", "moon", "immunohistochemistry")


def _photo(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255.0
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return image


def load_texture_patches(split: str = "train", *, per_class: int = 64, patch: int = 64, seed: int = 0,
                         classes: tuple[str, ...] = TEXTURE_CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """Random square patches of each photo, from its top half (train) or bottom half (test).

    Args:
        split: ``"train"`` (top half of every photo) or ``"test"`` (bottom half).
        per_class: patches per photo.
        patch: side of a patch in pixels.
        seed: fixes the positions (the two splits use different streams).
        classes: the scikit-image photos, one class each.

    Returns:
        ``(images, labels)``: ``(N, 1, patch, patch)`` float32 in ``[0, 1]`` and ``(N,)``
        int64, ``N = per_class * len(classes)``, grouped by class.

    Raises:
        ValueError: an unknown split, or patches that do not fit in half a photo.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_texture_patches(split={split!r}): choose 'train' or 'test'.")
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"load_texture_patches(per_class={per_class!r}): must be a positive int.")
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    images, labels = [], []
    for label, name in enumerate(classes):
        photo = _photo(name)
        h, w = photo.shape
        half = h // 2
        if patch > half or patch > w:
            raise ValueError(f"load_texture_patches(patch={patch}): {name} is {h}x{w}; a patch must fit in "
                             f"half of it ({half} rows).")
        top = 0 if split == "train" else half
        rows = rng.integers(top, top + half - patch + 1, size=per_class)
        cols = rng.integers(0, w - patch + 1, size=per_class)
        for r, c in zip(rows, cols):
            images.append(photo[r:r + patch, c:c + patch])
            labels.append(label)
    x = torch.from_numpy(np.stack(images)[:, None].copy())
    return x, torch.tensor(labels, dtype=torch.int64)
