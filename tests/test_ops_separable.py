"""Grouped, depthwise, depthwise separable, spatially separable and flattened convolutions.

Each is checked against torch.nn.functional.conv2d with the full weight it
amounts to (values and gradients, float64), on seeded random configurations.
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import (
    METHODS,
    ConvArgumentError,
    conv2d,
    flattened_conv2d,
    flattened_weight,
    kernel_rank,
    separable_conv2d,
    separable_filter2d,
    separate_kernel,
)

SOBEL_X = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], dtype=torch.float64)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def geometry(rng: random.Random):
    k = (rng.randint(1, 4), rng.randint(1, 4))
    s = (rng.randint(1, 3), rng.randint(1, 3))
    d = (rng.randint(1, 2), rng.randint(1, 2))
    p = (rng.randint(0, 2), rng.randint(0, 2))
    size = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + rng.randint(0, 5) for kk, dd, pp in zip(k, d, p))
    return k, s, d, p, size


@pytest.mark.parametrize("method", list(METHODS))
def test_grouped_and_depthwise_conv_values_and_gradients(method):
    """groups = C_in (depthwise, with channel multiplier) and 1 < groups < C_in (grouped, ResNeXt)."""
    count = 150 if method == "im2col" else 50
    for seed in range(count):
        rng = random.Random(seed)
        k, s, d, p, size = geometry(rng)
        c_in = rng.randint(1, 6)
        groups = rng.choice([c_in, c_in] + [g for g in range(1, c_in + 1) if c_in % g == 0])
        c_out = groups * rng.randint(1, 3)
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(rng.randint(1, 2), c_in, *size, generator=gen, dtype=torch.float64, requires_grad=True)
        w = torch.randn(c_out, c_in // groups, *k, generator=gen, dtype=torch.float64, requires_grad=True)
        kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
        expected = F.conv2d(x, w, **kw)
        got = conv2d(x, w, method=method, **kw)
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
        cot = torch.randn(expected.shape, generator=gen, dtype=torch.float64)
        e = torch.autograd.grad(expected, (x, w), cot)
        g = torch.autograd.grad(got, (x, w), cot)
        for a, b in zip(g, e):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_depthwise_filters_each_channel_alone():
    """A depthwise convolution of a stack of channels equals each channel convolved on its own."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 9, 8, generator=gen, dtype=torch.float64)
    w = torch.randn(5, 1, 3, 3, generator=gen, dtype=torch.float64)
    y = conv2d(x, w, padding=1, groups=5)
    for c in range(5):
        torch.testing.assert_close(y[:, c:c + 1], conv2d(x[:, c:c + 1], w[c:c + 1], padding=1))


def separable_case(seed):
    rng = random.Random(seed)
    k, s, d, p, size = geometry(rng)
    c_in, mult, c_out = rng.randint(1, 4), rng.randint(1, 2), rng.randint(1, 5)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(rng.randint(1, 2), c_in, *size, generator=gen, dtype=torch.float64)
    dw = torch.randn(c_in * mult, 1, *k, generator=gen, dtype=torch.float64)
    pw = torch.randn(c_out, c_in * mult, 1, 1, generator=gen, dtype=torch.float64)
    db = torch.randn(c_in * mult, generator=gen, dtype=torch.float64) if rng.random() < 0.5 else None
    pb = torch.randn(c_out, generator=gen, dtype=torch.float64) if rng.random() < 0.5 else None
    return x, dw, pw, db, pb, {"stride": s, "padding": p, "dilation": d}


def test_separable_conv2d_matches_depthwise_then_pointwise():
    for seed in range(300):
        x, dw, pw, db, pb, kw = separable_case(seed)
        expected = F.conv2d(F.conv2d(x, dw, db, groups=x.shape[1], **kw), pw, pb)
        torch.testing.assert_close(separable_conv2d(x, dw, pw, db, pb, **kw), expected, rtol=1e-9, atol=1e-9)


def test_separable_conv2d_gradcheck_and_unbatched():
    x, dw, pw, db, pb, kw = separable_case(3)
    db = torch.randn(dw.shape[0], dtype=torch.float64)
    pb = torch.randn(pw.shape[0], dtype=torch.float64)
    args = tuple(t.clone().requires_grad_(True) for t in (x, dw, pw, db, pb))
    assert torch.autograd.gradcheck(lambda *a: separable_conv2d(*a, **kw), args)
    torch.testing.assert_close(separable_conv2d(x[0], dw, pw, **kw), separable_conv2d(x, dw, pw, **kw)[0])


def test_sobel_is_one_outer_product():
    assert kernel_rank(SOBEL_X) == 1 and kernel_rank(SOBEL_X.T) == 1
    cols, rows, s = separate_kernel(SOBEL_X)
    assert cols.shape == (1, 3) and rows.shape == (1, 3)
    torch.testing.assert_close(torch.outer(cols[0], rows[0]), SOBEL_X)
    # up to scale and sign, [1, 2, 1] down the columns and [1, 0, -1] along the rows
    c = cols[0] / cols[0, 0]
    r = rows[0] / rows[0, 0]
    torch.testing.assert_close(c, torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(r, torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64))
    assert s[1:].abs().max() < 1e-12


@pytest.mark.parametrize("seed", range(30))
def test_svd_splits_any_kernel(seed):
    """All terms rebuild the kernel; the best rank-r sum leaves the norm of the dropped singular values."""
    gen = torch.Generator().manual_seed(seed)
    kh, kw = 1 + seed % 5, 1 + (seed // 5) % 5
    kernel = torch.randn(kh, kw, generator=gen, dtype=torch.float64)
    cols, rows, s = separate_kernel(kernel)
    assert cols.shape[0] == min(kh, kw) == kernel_rank(kernel)
    torch.testing.assert_close(torch.einsum("rh,rw->hw", cols, rows), kernel)
    for r in range(1, min(kh, kw) + 1):
        c, w, _ = separate_kernel(kernel, rank=r)
        error = torch.linalg.matrix_norm(kernel - torch.einsum("rh,rw->hw", c, w))
        torch.testing.assert_close(error, s[r:].square().sum().sqrt())


def test_rank_of_built_kernels():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 5, generator=gen, dtype=torch.float64), torch.randn(2, 4, generator=gen, dtype=torch.float64)
    assert kernel_rank(torch.outer(a[0], b[0]) + torch.outer(a[1], b[1])) == 2
    assert kernel_rank(torch.zeros(3, 3)) == 0
    box = torch.ones(5, 5) / 25
    assert kernel_rank(box) == 1


def test_separable_filter2d_equals_depthwise_conv_with_the_full_kernel():
    for seed in range(200):
        rng = random.Random(seed)
        k, s, d, p, size = geometry(rng)
        gen = torch.Generator().manual_seed(seed)
        r = rng.randint(1, 3)
        cols = torch.randn(r, k[0], generator=gen, dtype=torch.float64)
        rows = torch.randn(r, k[1], generator=gen, dtype=torch.float64)
        c = rng.randint(1, 3)
        x = torch.randn(rng.randint(1, 2), c, *size, generator=gen, dtype=torch.float64)
        full = torch.einsum("rh,rw->hw", cols, rows)
        expected = F.conv2d(x, full.expand(c, 1, *k), stride=s, padding=p, dilation=d, groups=c)
        got = separable_filter2d(x, cols, rows, s, p, d)
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
    x = torch.randn(3, 7, 6, dtype=torch.float64)
    torch.testing.assert_close(separable_filter2d(x, SOBEL_X[:, 0], torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)),
                               F.conv2d(x[:, None], SOBEL_X[None, None])[:, 0])


def test_flattened_conv2d_equals_conv_with_rank_one_filters():
    for seed in range(200):
        rng = random.Random(seed)
        k, s, d, p, size = geometry(rng)
        c_in, c_out = rng.randint(1, 4), rng.randint(1, 4)
        gen = torch.Generator().manual_seed(seed)
        a = torch.randn(c_out, c_in, generator=gen, dtype=torch.float64)
        b = torch.randn(c_out, k[0], generator=gen, dtype=torch.float64)
        dd = torch.randn(c_out, k[1], generator=gen, dtype=torch.float64)
        bias = torch.randn(c_out, generator=gen, dtype=torch.float64)
        x = torch.randn(rng.randint(1, 2), c_in, *size, generator=gen, dtype=torch.float64)
        expected = F.conv2d(x, flattened_weight(a, b, dd), bias, stride=s, padding=p, dilation=d)
        torch.testing.assert_close(flattened_conv2d(x, a, b, dd, bias, s, p, d), expected, rtol=1e-9, atol=1e-9)
    args = tuple(t.requires_grad_(True) for t in (x, a, b, dd, bias))
    assert torch.autograd.gradcheck(lambda *t: flattened_conv2d(*t, stride=s, padding=p, dilation=d), args)


def test_flattened_weight_is_rank_one_in_every_direction():
    gen = torch.Generator().manual_seed(1)
    w = flattened_weight(torch.randn(2, 3, generator=gen), torch.randn(2, 4, generator=gen),
                         torch.randn(2, 5, generator=gen))
    assert w.shape == (2, 3, 4, 5)
    for o in range(2):
        for dims in ((0,), (1,), (2,)):
            rest = [i for i in range(3) if i not in dims]
            mat = w[o].permute(*dims, *rest).reshape(w.shape[1 + dims[0]], -1)
            assert torch.linalg.matrix_rank(mat) == 1


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: separable_conv2d(torch.randn(1, 3, 5, 5), torch.randn(3, 3, 3, 3), torch.randn(4, 3, 1, 1)),
         ["(C_in * M, 1, kH, kW)"]),
        (lambda: separable_conv2d(torch.randn(1, 3, 5, 5), torch.randn(3, 1, 3, 3), torch.randn(4, 3, 3, 3)),
         ["(C_out, 3, 1, 1)"]),
        (lambda: separate_kernel(torch.randn(3, 3), rank=4), ["rank=4", "from 1 to"]),
        (lambda: kernel_rank(torch.randn(1, 3, 3)), ["2-D"]),
        (lambda: separable_filter2d(torch.randn(1, 5, 5), torch.randn(2, 3), torch.randn(1, 3)), ["same number R"]),
        (lambda: flattened_conv2d(torch.randn(1, 2, 5, 5), torch.randn(3, 2), torch.randn(2, 3), torch.randn(3, 3)),
         ["vertical_weight"]),
    ],
)
def test_errors_explain(call, words):
    with pytest.raises(ConvArgumentError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"
