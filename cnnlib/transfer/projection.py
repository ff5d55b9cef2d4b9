"""A 2-D picture of a feature space: its first two principal components."""
from __future__ import annotations

import torch

__all__ = ["pca_2d"]


def pca_2d(features: torch.Tensor) -> torch.Tensor:
    """Project ``(N, D)`` features onto their two directions of largest variance.

    Each component's sign is fixed so that its largest-magnitude loading is
    positive (the SVD's own sign is arbitrary), which makes the picture
    reproducible.

    Returns:
        ``(N, 2)`` coordinates, centred.
    """
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"pca_2d: expected (N, D) features with N >= 2, got shape {tuple(features.shape)}.")
    x = features.double() - features.double().mean(dim=0)
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    components = vh[:2]
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    return (x @ (components * signs).T).float()
