"""corr2d, convolve2d and im2col against their references (F.conv2d, scipy, F.unfold)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from cnnlib.ops import convolve2d, corr2d, fft_size, im2col, window_view


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("seed", range(20))
def test_corr2d_matches_conv2d(seed):
    rng = random.Random(seed)
    kh, kw = rng.randint(1, 5), rng.randint(1, 5)
    x = torch.randn(kh + rng.randint(0, 6), kw + rng.randint(0, 6), dtype=torch.float64)
    k = torch.randn(kh, kw, dtype=torch.float64)
    torch.testing.assert_close(corr2d(x, k), F.conv2d(x[None, None], k[None, None])[0, 0])


@pytest.mark.parametrize("seed", range(10))
def test_convolve2d_is_scipy_convolve2d(seed):
    gen = np.random.default_rng(seed)
    x, k = gen.standard_normal((9, 7)), gen.standard_normal((3, 4))
    expected = scipy.signal.convolve2d(x, k, mode="valid")
    np.testing.assert_allclose(convolve2d(torch.from_numpy(x), torch.from_numpy(k)).numpy(), expected, atol=1e-12)


def test_corr2d_lecture_example_and_flip():
    x = torch.arange(9.0).reshape(3, 3)
    k = torch.arange(4.0).reshape(2, 2)
    assert corr2d(x, k).tolist() == [[19.0, 25.0], [37.0, 43.0]]
    # Convolution flips the kernel: with k = [[0, 1], [2, 3]] it uses [[3, 2], [1, 0]].
    assert convolve2d(x, k).tolist() == [[5.0, 11.0], [23.0, 29.0]]
    # A symmetric kernel cannot tell them apart.
    box = torch.ones(2, 2)
    assert torch.equal(corr2d(x, box), convolve2d(x, box))


def test_corr2d_gradient_matches_conv2d():
    x = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    k = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    corr2d(x, k).pow(2).sum().backward()
    x2, k2 = x.detach().clone().requires_grad_(), k.detach().clone().requires_grad_()
    F.conv2d(x2[None, None], k2[None, None]).pow(2).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(k.grad, k2.grad)


@pytest.mark.parametrize("chunk", range(4))
def test_im2col_matches_unfold(chunk):
    for seed in range(chunk * 50, (chunk + 1) * 50):
        check_im2col(seed)


def check_im2col(seed):
    rng = random.Random(seed)
    k = (rng.randint(1, 4), rng.randint(1, 4))
    d = (rng.randint(1, 3), rng.randint(1, 3))
    s = (rng.randint(1, 3), rng.randint(1, 3))
    p = (rng.randint(0, 2), rng.randint(0, 2))
    size = [max(1, dd * (kk - 1) + 1 - 2 * pp) + rng.randint(0, 5) for kk, dd, pp in zip(k, d, p)]
    x = torch.randn(rng.randint(1, 3), rng.randint(1, 4), *size, dtype=torch.float64)
    torch.testing.assert_close(
        im2col(x, k, stride=s, padding=p, dilation=d), F.unfold(x, k, dilation=d, padding=p, stride=s), rtol=0, atol=0
    )


def test_im2col_1d_and_3d_columns_are_the_windows():
    x = torch.arange(2 * 10.0).reshape(1, 2, 10)
    cols = im2col(x, 3, stride=2)
    assert cols.shape == (1, 6, 4)
    assert cols[0, :, 1].tolist() == [2.0, 3.0, 4.0, 12.0, 13.0, 14.0]  # both channels of window 1
    v = torch.randn(1, 1, 4, 5, 6)
    cols3 = im2col(v, (2, 3, 2), padding=1)
    assert cols3.shape == (1, 12, 5 * 5 * 7)


def test_window_view_is_a_view():
    x = torch.randn(1, 2, 6, 6)
    view = window_view(x, (3, 3), (1, 1), (1, 1))
    assert view.shape == (1, 2, 3, 3, 4, 4)
    assert view.data_ptr() == x.data_ptr()  # no copy
    x[0, 1, 2, 3] = 100.0
    assert view[0, 1, 1, 2, 1, 1] == 100.0  # window at (1, 1), tap (1, 2) sees pixel (2, 3)


def test_fft_size_is_smooth_and_minimal():
    def smooth(n):
        for p in (2, 3, 5):
            while n % p == 0:
                n //= p
        return n == 1

    for n in range(1, 400):
        m = fft_size(n)
        assert m >= n and smooth(m)
        assert all(not smooth(j) for j in range(n, m))
