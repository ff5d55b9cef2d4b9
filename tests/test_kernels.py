"""cnnlib.kernels: preset shapes and sums, the Gaussian formula, apply_kernel vs F.conv2d."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlib.kernels import (
    apply_kernel,
    box,
    emboss,
    gaussian,
    get_kernel,
    identity,
    kernel_names,
    laplacian,
    outline,
    sharpen,
    sobel_x,
    sobel_y,
)

SUMS = {"identity": 1.0, "box": 1.0, "gaussian": 1.0, "sharpen": 1.0, "emboss": 1.0,
        "sobel_x": 0.0, "sobel_y": 0.0, "laplacian": 0.0, "outline": 0.0}


@pytest.mark.parametrize("name", kernel_names())
def test_every_preset_is_square_odd_float_with_the_documented_sum(name):
    k = get_kernel(name)
    assert k.dtype == torch.float32 and k.ndim == 2 and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert float(k.sum()) == pytest.approx(SUMS[name], abs=1e-6)


def test_preset_list_is_complete():
    assert set(kernel_names()) == set(SUMS)


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_sized_kernels(size):
    assert identity(size).shape == box(size).shape == sharpen(size).shape == (size, size)
    assert float(identity(size)[size // 2, size // 2]) == 1.0 and float(identity(size).abs().sum()) == 1.0
    assert torch.allclose(box(size), torch.full((size, size), 1 / size**2))


def test_sharpen_is_the_lecture_kernel():
    # 2 * identity - box: 2 - 1/9 in the centre, -1/9 elsewhere.
    expected = torch.full((3, 3), -1 / 9)
    expected[1, 1] = 2 - 1 / 9
    assert torch.allclose(sharpen(3), expected)
    assert torch.allclose(sharpen(3, amount=0.0), identity(3))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.3])
def test_gaussian_follows_the_formula(sigma):
    g = gaussian(sigma=sigma)
    k = g.shape[0]
    assert k == 2 * math.ceil(3 * sigma) + 1
    c = k // 2
    assert torch.equal(g, g.T) and torch.equal(g, g.flip(0)) and torch.equal(g, g.flip(1))
    assert int(g.argmax()) == c * k + c
    # Neighbour ratios of exp(-(x^2 + y^2) / (2 sigma^2)).
    assert float(g[c, c + 1] / g[c, c]) == pytest.approx(math.exp(-1 / (2 * sigma**2)), rel=1e-5)
    assert float(g[c + 1, c + 1] / g[c, c]) == pytest.approx(math.exp(-2 / (2 * sigma**2)), rel=1e-5)


def test_gaussian_widens_with_sigma():
    narrow, wide = gaussian(7, 0.7), gaussian(7, 2.0)
    assert float(narrow[3, 3]) > float(wide[3, 3])
    assert float(narrow[0, 0]) < float(wide[0, 0])


def test_sobel_is_smoothing_times_difference_and_sees_a_ramp():
    assert torch.equal(sobel_x(), torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0])))
    assert torch.equal(sobel_y(), sobel_x().T)
    ramp = torch.arange(10.0).repeat(10, 1)  # brighter to the right
    gx = apply_kernel(ramp, sobel_x(), padding="valid")
    gy = apply_kernel(ramp, sobel_y(), padding="valid")
    assert torch.allclose(gx, torch.full_like(gx, 8.0)) and torch.allclose(gy, torch.zeros_like(gy))


def test_fixed_kernels_values():
    assert torch.equal(laplacian(), torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]))
    assert float(outline()[1, 1]) == 8.0 and float(outline().sum()) == 0.0
    # Emboss = identity + a relief part that changes sign under a 180-degree turn
    # (so a true convolution lights the relief from the opposite corner).
    relief = emboss() - identity(3)
    assert torch.equal(relief.flip(0, 1), -relief) and float(relief.abs().sum()) > 0


@pytest.mark.parametrize("bad", [0, 2, -3, 4.0, True])
def test_bad_sizes_are_explained(bad):
    with pytest.raises(ValueError, match="positive odd int"):
        box(bad)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1"])
def test_bad_sigma_is_explained(bad):
    with pytest.raises(ValueError, match="sigma"):
        gaussian(5, bad)


def test_get_kernel_errors_name_the_choices():
    with pytest.raises(KeyError, match="sobel_x"):
        get_kernel("sobel")
    with pytest.raises(TypeError, match="arguments"):
        get_kernel("sobel_x", sigma=2.0)
    assert torch.equal(get_kernel("gaussian", kernel_size=5, sigma=1.0), gaussian(5, 1.0))


def _reference(image4d, kernel, padding):
    c = image4d.shape[1]
    return F.conv2d(image4d, kernel.expand(c, 1, *kernel.shape), padding=padding, groups=c)


@pytest.mark.parametrize("method", ["loops", "im2col", "fft"])
@pytest.mark.parametrize("padding", ["same", "valid", 2])
def test_apply_kernel_matches_depthwise_conv2d(method, padding):
    gen = torch.Generator().manual_seed(3)
    for shape in [(9, 11), (3, 10, 7), (2, 3, 8, 8)]:
        image = torch.rand(shape, generator=gen)
        kernel = torch.randn(3, 3, generator=gen)
        got = apply_kernel(image, kernel, padding=padding, method=method)
        want = _reference(image.reshape((1,) * (4 - image.ndim) + shape), kernel, padding)
        assert got.shape == shape[:-2] + want.shape[-2:]
        assert torch.allclose(got, want.reshape(got.shape), atol=1e-5)


def test_apply_kernel_identity_and_box_on_a_flat_image():
    image = torch.rand(3, 12, 12)
    assert torch.allclose(apply_kernel(image, identity(5)), image, atol=1e-6)
    flat = torch.full((1, 9, 9), 0.4)
    assert torch.allclose(apply_kernel(flat, box(3), padding="valid"), torch.full((1, 7, 7), 0.4))


def test_apply_kernel_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        apply_kernel(torch.rand(5), box(3))
    with pytest.raises(ValueError, match="2-D"):
        apply_kernel(torch.rand(5, 5), torch.rand(1, 3, 3))
