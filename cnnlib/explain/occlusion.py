"""Occlusion maps (Zeiler & Fergus, 2014): cover part of the image, watch the class score fall."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.explain._common import Target, check_images, targets
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
    The occluded copies run through the model ``batch_size`` at a time. Copies
    of one image in ``images`` (one per target class) share their forward
    passes, so the maps of several classes of a photo cost as much as one.

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
    groups = _same_images(x)  # copies of one image (one per class) share every forward pass
    with explaining(model):
        logits = model(x[[g[0] for g in groups]])
        if logits.ndim != 2:
            raise ValueError(f"occlusion: the model must return (N, num_classes) logits, got shape "
                             f"{tuple(logits.shape)}.")
        t = targets(target, n, logits.shape[1], "occlusion")
        for k, group in enumerate(groups):
            image, classes = x[group[0]:group[0] + 1], t[group]
            base = logits[k, classes]
            drops = []
            for start in range(0, len(boxes), batch_size):
                chunk = boxes[start:start + batch_size]
                batch = image.repeat(len(chunk), 1, 1, 1)
                for j, (r, c) in enumerate(chunk):
                    batch[j, :, r:r + window, c:c + window] = baseline
                drops.append(base - model(batch)[:, classes])
            drops = torch.cat(drops).float().cpu()  # (boxes, images in the group)
            for j, (r, c) in enumerate(boxes):
                total[group, r:r + window, c:c + window] += drops[j][:, None, None]
    return total / count


def _same_images(x: torch.Tensor) -> list[list[int]]:
    """The indices of ``x`` grouped by identical images, in order of first appearance."""
    groups: list[list[int]] = []
    for i in range(x.shape[0]):
        match = next((g for g in groups if torch.equal(x[g[0]], x[i])), None)
        if match is None:
            groups.append([i])
        else:
            match.append(i)
    return groups
