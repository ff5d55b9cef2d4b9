"""Hand-crafted image features (HOG) and a linear classifier on top of them.

Before CNNs learned their own filters, vision systems were two stages: a
fixed feature extractor designed by people (HOG, SIFT, LBP, colour
histograms), then a trainable linear classifier. This module is that
pipeline, so a chapter can measure it against a network that learns its
features end to end::

    train_x, test_x = hog_features(train_images), hog_features(test_images)
    classifier = fit_linear_classifier(train_x, train_labels)
    print(classifier.score(test_x, test_labels))

HOG (Dalal and Triggs, 2005) in one line: per cell of ``pixels_per_cell``
pixels, a histogram of gradient orientations weighted by gradient
magnitude; histograms of neighbouring cells are normalized together in
blocks of ``cells_per_block`` cells, and all blocks are concatenated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["HogConfig", "hog_features", "hog_image", "fit_linear_classifier"]


@dataclass(frozen=True)
class HogConfig:
    """Settings of the HOG descriptor (scikit-image's names and meaning).

    Attributes:
        orientations: number of orientation bins over 0..180 degrees.
        pixels_per_cell: ``(rows, cols)`` of one histogram cell.
        cells_per_block: ``(rows, cols)`` of cells normalized together.
        block_norm: ``"L1"``, ``"L1-sqrt"``, ``"L2"`` or ``"L2-Hys"``.
    """

    orientations: int = 9
    pixels_per_cell: tuple[int, int] = (4, 4)
    cells_per_block: tuple[int, int] = (2, 2)
    block_norm: str = "L2-Hys"

    def feature_length(self, height: int, width: int) -> int:
        """Length of the descriptor of one ``height x width`` image.

        ``n_cells = size // pixels_per_cell`` per axis, ``n_blocks = n_cells -
        cells_per_block + 1`` per axis, and each block holds
        ``cells_per_block[0] * cells_per_block[1] * orientations`` numbers.
        """
        cells = (height // self.pixels_per_cell[0], width // self.pixels_per_cell[1])
        blocks = (cells[0] - self.cells_per_block[0] + 1, cells[1] - self.cells_per_block[1] + 1)
        if min(blocks) < 1:
            return 0
        return blocks[0] * blocks[1] * self.cells_per_block[0] * self.cells_per_block[1] * self.orientations


def _as_gray_batch(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(N, 1, H, W)`` or ``(N, H, W)`` -> float64 array ``(N, H, W)``."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3:
        raise ValueError(
            f"hog_features expects grayscale images of shape (N, 1, H, W) or (N, H, W); got shape "
            f"{tuple(array.shape)}. Convert colour images to gray first (e.g. sample_image(..., gray=True))."
        )
    return array.astype(np.float64, copy=False)


def hog_features(images: torch.Tensor | np.ndarray, config: HogConfig | None = None) -> np.ndarray:
    """HOG descriptors of a batch of grayscale images.

    Args:
        images: shape ``(N, 1, H, W)`` or ``(N, H, W)``, values in any range
            (HOG normalizes per block, so a global scale does not matter).
        config: the descriptor's settings; ``HogConfig()`` if ``None``
            (9 orientations, 4x4-pixel cells, 2x2-cell blocks, which suits
            28x28 digits).

    Returns:
        ``float64`` array of shape ``(N, D)`` with
        ``D = config.feature_length(H, W)``.

    Raises:
        ValueError: the images are not a grayscale batch, or are too small
            for one block of cells.
    """
    config = config or HogConfig()
    from skimage.feature import hog

    batch = _as_gray_batch(images)
    height, width = batch.shape[1:]
    if config.feature_length(height, width) == 0:
        raise ValueError(
            f"images of {height}x{width} pixels are too small for HOG blocks of {config.cells_per_block} cells "
            f"of {config.pixels_per_cell} pixels; use smaller pixels_per_cell or upsample the images "
            "(e.g. load_digits(size=28))."
        )
    rows = [
        hog(image, orientations=config.orientations, pixels_per_cell=config.pixels_per_cell,
            cells_per_block=config.cells_per_block, block_norm=config.block_norm, feature_vector=True)
        for image in batch
    ]
    return np.stack(rows)


def hog_image(image: torch.Tensor | np.ndarray, config: HogConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """HOG descriptor of one grayscale image and its picture.

    Args:
        image: shape ``(1, H, W)`` or ``(H, W)``.
        config: the descriptor's settings; for photos try
            ``HogConfig(pixels_per_cell=(16, 16))``.

    Returns:
        ``(features, picture)``: ``features`` of shape ``(D,)``; ``picture``
        of shape ``(H, W)``, drawing in each cell one line segment per
        orientation bin whose brightness is that bin's weight (lines run
        along edges, perpendicular to the gradient).
    """
    config = config or HogConfig()
    from skimage.feature import hog

    batch = _as_gray_batch(image[None] if getattr(image, "ndim", 0) in (2, 3) else image)
    if batch.shape[0] != 1:
        raise ValueError(f"hog_image takes one image of shape (1, H, W) or (H, W); got a batch of {batch.shape[0]}.")
    features, picture = hog(
        batch[0], orientations=config.orientations, pixels_per_cell=config.pixels_per_cell,
        cells_per_block=config.cells_per_block, block_norm=config.block_norm, visualize=True,
    )
    return features, picture


def fit_linear_classifier(features: np.ndarray, labels: torch.Tensor | np.ndarray, *, C: float = 1.0,
                          max_iter: int = 2000, seed: int = 0):
    """Fit a multinomial logistic-regression classifier on fixed features.

    The features are standardized (zero mean, unit variance per column,
    statistics from ``features`` only) before the linear layer, which is a
    softmax over ``W x + b``: the same last layer a CNN ends with.

    Args:
        features: shape ``(N, D)``.
        labels: shape ``(N,)``, integer classes.
        C: inverse strength of the L2 penalty (scikit-learn's name).
        max_iter: iterations of the L-BFGS solver.
        seed: seed of the solver's random state, for repeatable results.

    Returns:
        A fitted scikit-learn ``Pipeline``; ``.predict(x)`` gives classes and
        ``.score(x, y)`` the accuracy.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features)
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"fit_linear_classifier expects features (N, D) and labels (N,); got {x.shape} and {y.shape}."
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    return model.fit(x, y)
