"""Gradients through cnnlib.ops convolutions match autograd through torch.nn.functional.

For random configurations, the gradients of <output, random cotangent> with
respect to the input, the weight and the bias must equal those computed
through F.conv1d/2d/3d (float64).
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import conv1d, conv2d, conv3d, corr2d

OURS = {1: conv1d, 2: conv2d, 3: conv3d}
REFERENCE = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_grad_case(seed: int, nd: int):
    rng = random.Random(seed)
    groups = rng.choice([1, 2])
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    kernel = [rng.randint(1, 3) for _ in range(nd)]
    dilation = [rng.choice([1, 2]) for _ in range(nd)]
    stride = [rng.choice([1, 2]) for _ in range(nd)]
    padding = rng.choice([0, 1, 2, "same"])
    if padding == "same":
        stride = [1] * nd
        pad_total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    else:
        pad_total = [2 * padding] * nd
    size = [max(1, d * (k - 1) + 1 - p) + rng.randint(0, 4) for k, d, p in zip(kernel, dilation, pad_total)]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((rng.randint(1, 2), c_in, *size), generator=gen, dtype=torch.float64)
    w = torch.randn((c_out, c_in // groups, *kernel), generator=gen, dtype=torch.float64)
    b = torch.randn(c_out, generator=gen, dtype=torch.float64)
    kw = {"stride": tuple(stride), "padding": padding, "dilation": tuple(dilation), "groups": groups}
    return x, w, b, kw


def grads(fn, x, w, b, cotangent_seed, **kw):
    x, w, b = (t.clone().requires_grad_(True) for t in (x, w, b))
    y = fn(x, w, b, **kw)
    cot = torch.randn(y.shape, generator=torch.Generator().manual_seed(cotangent_seed), dtype=y.dtype)
    (y * cot).sum().backward()
    return x.grad, w.grad, b.grad


@pytest.fixture(autouse=True)
def _quiet_same_padding_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        yield


@pytest.mark.parametrize(
    ("method", "nd", "count"),
    [("im2col", 2, 150), ("fft", 2, 150), ("loops", 2, 40), ("im2col", 1, 40), ("fft", 1, 40),
     ("im2col", 3, 30), ("fft", 3, 30)],
)
def test_gradients_match_torch(method, nd, count):
    for seed in range(count):
        x, w, b, kw = random_grad_case(1000 * nd + seed, nd)
        expected = grads(REFERENCE[nd], x, w, b, seed, **kw)
        got = grads(lambda *a, **k: OURS[nd](*a, method=method, **k), x, w, b, seed, **kw)
        for name, g, e in zip(("input", "weight", "bias"), got, expected):
            assert g is not None, f"no gradient reached the {name} (seed {seed}, {kw})"
            torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-9, msg=lambda m: f"{name} grad, seed {seed}, {kw}\n{m}")


@pytest.mark.parametrize("method", ["im2col", "fft"])
def test_gradcheck_small(method):
    """Finite differences agree with the analytic gradient (torch.autograd.gradcheck)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2, method=method),
        (x, w, b),
    )


def test_corr2d_learns_an_edge_kernel():
    """corr2d supports autograd well enough to recover a kernel by gradient descent."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 12, generator=gen, dtype=torch.float64)
    true_k = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    y = corr2d(x, true_k)
    k = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    for _ in range(200):
        loss = ((corr2d(x, k) - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            k -= 0.2 * k.grad
            k.grad.zero_()
    torch.testing.assert_close(k.detach(), true_k, rtol=1e-4, atol=1e-4)
