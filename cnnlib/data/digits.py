"""scikit-learn's handwritten digits: 1,797 real 8x8 images, always offline."""
from __future__ import annotations

import torch

__all__ = ["load_digits"]


def load_digits(*, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the UCI handwritten digits that ship with scikit-learn.

    Args:
        size: side length of the returned images. 8 is the original; 28 gives
            LeNet-sized inputs (bilinear upsampling, the same for every image).

    Returns:
        ``(images, labels)``: ``images`` of shape ``(1797, 1, size, size)``,
        ``float32`` in ``[0, 1]`` (the raw 0..16 intensities divided by 16);
        ``labels`` of shape ``(1797,)``, ``int64`` in ``0..9``.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"load_digits(size={size!r}): size must be a positive int, e.g. 8 or 28.")
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = torch.from_numpy(bunch.images).float().div_(16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target).long()
    if size != 8:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        images = images.clamp_(0.0, 1.0)
    return images, labels
