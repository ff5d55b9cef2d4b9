"""Occlusion maps (Zeiler & Fergus, 2014): cover part of the image, watch the class score fall."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, check_images, class_scores
from cnnlib.explain._hooks import explaining

__all__ = ["occlusion", "window_starts"]


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Where the windows start along one axis: every ``stride`` pixels until the edge is covered.

    The last window may stick out of the image and is cut at the edge, so every
    pixel is covered at least once (captum's ``Occlusion`` does the same).
    """
    if not 1 <= window <= size:
        raise ValueError(f"occlusion: window={window} must lie between 1 and the image size {size}.")
    if not 1 <= stride <= window and window != size:
        raise ValueError(f"occlusion: stride={stride} must lie between 1 and window={window}, or pixels "
                         "between windows would never be covered.")
    count = -(-(size - window) // max(stride, 1)) + 1
    return [i * stride for i in range(count)]


@torch.no_grad()
def occlusion(model: nn.Module, images: torch.Tensor, target: Target, *, layer: None = None,
              window: int = 32, stride: int = 16, baseline: float = 0.0, batch_size: int = 64) -> torch.Tensor:
    """How much the target logit drops when a square around each pixel is covered.

    For every window position the image is copied with the square
    ``window x window`` set to ``baseline`` (0 is the mean colour after ImageNet
    normalisation); the drop ``y(x) - y(x occluded)`` is credited to every pixel
    the square covers, and each pixel gets the mean over the squares covering it.
    The occluded copies run through the model ``batch_size`` at a time.

    Args:
        model: the network (run in eval mode; its mode is restored).
        images: ``(N, C, H, W)`` inputs, normalised as the model expects.
        target: one class index for all images, or one per image.
        layer: unused (the input is occluded).
        window: side of the occluding square, in pixels.
        stride: step between squares (at most ``window``).
        baseline: the value the square is filled with.
        batch_size: occluded images per forward pass.

    Returns:
        ``(N, H, W)``: positive where covering the pixel lowers the score.
    """
    x = check_images(images, "occlusion")
    n, _, height, width = x.shape
    rows, cols = window_starts(height, window, stride), window_starts(width, window, stride)
    boxes = [(r, c) for r in rows for c in cols]
    total = torch.zeros(n, height, width)
    count = torch.zeros(height, width)
    for r, c in boxes:
        count[r:r + window, c:c + window] += 1
    with explaining(model):
        for i in range(n):
            image = x[i:i + 1]
            t = torch.as_tensor(target).reshape(-1)
            t_i = t[i] if t.numel() > 1 else t[0]
            base = class_scores(model(image), t_i, "occlusion")[0]
            for start in range(0, len(boxes), batch_size):
                chunk = boxes[start:start + batch_size]
                batch = image.repeat(len(chunk), 1, 1, 1)
                for j, (r, c) in enumerate(chunk):
                    batch[j, :, r:r + window, c:c + window] = baseline
                drops = base - class_scores(model(batch), t_i, "occlusion")
                for j, (r, c) in enumerate(chunk):
                    total[i, r:r + window, c:c + window] += drops[j].float().cpu()
    return total / count
