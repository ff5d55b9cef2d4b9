"""Named image kernels (filters) as tensors, and a helper that applies one to a photo.

Every kernel here is written the way PyTorch and :mod:`cnnlib.ops` apply it:
as a *cross-correlation* kernel ``w``, so ``out[i, j] = sum_{u, v} w[u, v] * x[i + u, j + v]``
with no flip (the notation of chapter 2: ``u, v`` index the kernel, ``K`` is its
size). For the symmetric kernels (identity, box, Gaussian, sharpen, Laplacian)
flipping changes nothing; for Sobel and emboss a true convolution would use
``w.flip(0, 1)`` (Sobel's sign flips, emboss lights from the other side).

The sum of a kernel's entries says what it does to a flat region: ``1`` keeps
the brightness (blurs, sharpen, emboss), ``0`` sends it to zero (edge and
derivative filters)::

    from cnnlib.kernels import gaussian, sobel_x, apply_kernel
    blurred = apply_kernel(photo, gaussian(5, sigma=1.0))   # (C, H, W) -> (C, H, W)
    edges = apply_kernel(photo, sobel_x())
"""
from __future__ import annotations

import math
from typing import Callable

import torch

__all__ = [
    "apply_kernel",
    "box",
    "emboss",
    "gaussian",
    "get_kernel",
    "identity",
    "kernel_names",
    "laplacian",
    "outline",
    "sharpen",
    "sobel_x",
    "sobel_y",
]


def _check_size(kernel_size: int, name: str) -> None:
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f"{name}: kernel_size must be a positive odd int (1, 3, 5, ...) so the kernel has a centre, "
            f"got {kernel_size!r}."
        )


def identity(kernel_size: int = 3) -> torch.Tensor:
    """The kernel that copies its input: a single 1 in the centre.

    Returns:
        ``(K, K)`` float tensor; sum 1.
    """
    _check_size(kernel_size, "identity")
    k = torch.zeros(kernel_size, kernel_size)
    k[kernel_size // 2, kernel_size // 2] = 1.0
    return k


def box(kernel_size: int = 3) -> torch.Tensor:
    """The box (moving-average, mean) filter: every entry ``1 / K^2``.

    Returns:
        ``(K, K)`` float tensor; sum 1.
    """
    _check_size(kernel_size, "box")
    return torch.full((kernel_size, kernel_size), 1.0 / kernel_size**2)


def gaussian(kernel_size: int | None = None, sigma: float = 1.0) -> torch.Tensor:
    """A sampled, normalised 2-D Gaussian blur kernel.

    ``G(x, y) = exp(-(x^2 + y^2) / (2 sigma^2)) / (2 pi sigma^2)``, sampled at the
    integer offsets ``-(K-1)/2 .. (K-1)/2`` and divided by its sum so that the
    entries add up to exactly 1 (the continuous normalisation ``1 / (2 pi sigma^2)``
    is lost to the cut-off at the kernel's edge).

    Args:
        kernel_size: odd ``K``; ``None`` picks ``2 * ceil(3 sigma) + 1``, wide
            enough to hold 99.7% of the bell in each direction.
        sigma: standard deviation in pixels, ``> 0``.

    Returns:
        ``(K, K)`` float tensor; sum 1, largest in the centre.
    """
    if not (isinstance(sigma, (int, float)) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"gaussian: sigma must be a positive number of pixels, got {sigma!r}.")
    if kernel_size is None:
        kernel_size = 2 * math.ceil(3 * sigma) + 1
    _check_size(kernel_size, "gaussian")
    r = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return (g / g.sum()).float()


def sharpen(kernel_size: int = 3, amount: float = 1.0) -> torch.Tensor:
    """Unsharp masking in one kernel: ``identity + amount * (identity - box)``.

    With ``amount=1`` and ``K=3`` this is ``2 * identity - box(3)``: ``2 - 1/9`` in
    the centre and ``-1/9`` around it. It adds back the detail a blur removes.

    Returns:
        ``(K, K)`` float tensor; sum 1.
    """
    _check_size(kernel_size, "sharpen")
    delta = identity(kernel_size)
    return delta + amount * (delta - box(kernel_size))


def sobel_x() -> torch.Tensor:
    """Sobel's horizontal-gradient kernel: large where brightness rises to the right.

    ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``; the outer product of a smoothing
    ``[1, 2, 1]`` (down the rows) and a difference ``[-1, 0, 1]`` (along the columns).

    Returns:
        ``(3, 3)`` float tensor; sum 0.
    """
    return torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_y() -> torch.Tensor:
    """Sobel's vertical-gradient kernel: large where brightness rises downwards.

    The transpose of :func:`sobel_x`.

    Returns:
        ``(3, 3)`` float tensor; sum 0.
    """
    return sobel_x().T.contiguous()


def laplacian() -> torch.Tensor:
    """The 4-neighbour Laplacian ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``: a second derivative.

    Returns:
        ``(3, 3)`` float tensor; sum 0.
    """
    return torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def outline() -> torch.Tensor:
    """An all-direction edge detector: ``8`` in the centre, ``-1`` around it.

    Returns:
        ``(3, 3)`` float tensor; sum 0.
    """
    k = -torch.ones(3, 3)
    k[1, 1] = 8.0
    return k


def emboss() -> torch.Tensor:
    """The emboss kernel ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]``: relief lit from the top left.

    Returns:
        ``(3, 3)`` float tensor; sum 1.
    """
    return torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


_PRESETS: dict[str, Callable[..., torch.Tensor]] = {
    "identity": identity,
    "box": box,
    "gaussian": gaussian,
    "sharpen": sharpen,
    "sobel_x": sobel_x,
    "sobel_y": sobel_y,
    "laplacian": laplacian,
    "outline": outline,
    "emboss": emboss,
}


def kernel_names() -> list[str]:
    """Names accepted by :func:`get_kernel`, in teaching order."""
    return list(_PRESETS)


def get_kernel(name: str, **kwargs) -> torch.Tensor:
    """A named kernel, e.g. ``get_kernel("gaussian", kernel_size=7, sigma=2.0)``.

    Args:
        name: one of :func:`kernel_names`.
        **kwargs: passed to the kernel's function (``kernel_size``, ``sigma``, ``amount``).

    Returns:
        ``(K, K)`` float tensor.
    """
    if name not in _PRESETS:
        raise KeyError(f"get_kernel({name!r}): unknown kernel. Choose one of: {', '.join(_PRESETS)}.")
    try:
        return _PRESETS[name](**kwargs)
    except TypeError as err:
        raise TypeError(f"get_kernel({name!r}): {err}. See help(cnnlib.kernels.{name}) for its arguments.") from None


def apply_kernel(image: torch.Tensor, kernel: torch.Tensor, padding: int | str = "same",
                 method: str = "im2col") -> torch.Tensor:
    """Cross-correlate every channel of ``image`` with the same 2-D ``kernel``.

    Uses :func:`cnnlib.ops.conv2d` with ``groups = C`` (each channel on its own),
    zero padding, stride 1.

    Args:
        image: ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)`` float tensor.
        kernel: ``(K_h, K_w)`` tensor.
        padding: ``"same"`` (output as large as the input), ``"valid"`` (no padding,
            ``H - K_h + 1`` rows) or an int.
        method: :func:`cnnlib.ops.conv2d`'s ``"im2col"``, ``"fft"`` (cheaper for
            kernels larger than about 7x7) or ``"loops"``.

    Returns:
        A tensor laid out like ``image``: ``(H', W')``, ``(C, H', W')`` or ``(N, C, H', W')``.
        Values are not clipped: edge filters give signed outputs.
    """
    from cnnlib.ops import conv2d

    if not isinstance(image, torch.Tensor) or image.ndim not in (2, 3, 4):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"apply_kernel: image must be an (H, W), (C, H, W) or (N, C, H, W) tensor, got {shape}.")
    kernel = torch.as_tensor(kernel, dtype=image.dtype)
    if kernel.ndim != 2:
        raise ValueError(f"apply_kernel: kernel must be a 2-D (K_h, K_w) tensor, got shape {tuple(kernel.shape)}.")
    batch = image.reshape((1,) * (4 - image.ndim) + tuple(image.shape))
    channels = batch.shape[1]
    weight = kernel.expand(channels, 1, *kernel.shape).contiguous()
    out = conv2d(batch, weight, padding=padding, groups=channels, method=method)
    return out.reshape(tuple(image.shape[:-2]) + tuple(out.shape[-2:]))
