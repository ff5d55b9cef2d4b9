"""Pooling in cnnlib.ops against torch.nn.functional: values, indices, gradients.

Seeded random configurations (kernel, stride, padding up to half the
kernel, dilation, ceil_mode, count_include_pad, unbatched input, 1-D and
2-D) in float64. Max pooling's hand-written backward is compared with
autograd through F.max_pool2d, including inputs full of ties.
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.arith import pool_output_size
from cnnlib.ops import (
    ConvArgumentError,
    MixedPool2d,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_bins,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    binomial_filter,
    blur_pool2d,
    global_avg_pool2d,
    lp_pool1d,
    lp_pool2d,
    max_blur_pool2d,
    max_pool1d,
    max_pool2d,
    mixed_pool2d,
    spatial_pyramid_pool2d,
)

MAX = {1: max_pool1d, 2: max_pool2d}
AVG = {1: avg_pool1d, 2: avg_pool2d}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_pool(seed: int, nd: int, dilation: bool = True, padding: bool = True):
    """(input, keyword arguments) of one pooling configuration."""
    rng = random.Random(seed)
    k = [rng.randint(1, 4) for _ in range(nd)]
    s = [rng.randint(1, 3) for _ in range(nd)]
    p = [rng.randint(0, kk // 2) if padding else 0 for kk in k]
    d = [rng.choice([1, 1, 2]) if dilation else 1 for _ in range(nd)]
    size = [max(1, dd * (kk - 1) + 1 - 2 * pp) + rng.randint(0, 6) for kk, dd, pp in zip(k, d, p)]
    batched = rng.random() > 0.15
    shape = ((rng.randint(1, 2),) if batched else ()) + (rng.randint(1, 3), *size)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)

    def maybe_int(values):
        return values[0] if len(set(values)) == 1 and rng.random() < 0.5 else tuple(values)

    kw = {"kernel_size": maybe_int(k), "stride": rng.choice([None, maybe_int(s)]), "padding": maybe_int(p),
          "ceil_mode": rng.random() < 0.5}
    if dilation:
        kw["dilation"] = maybe_int(d)
    return x, kw


def assert_same(got, expected, where=""):
    assert got.shape == expected.shape, where
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9, equal_nan=True, msg=lambda m: f"{where}\n{m}")


def check_grad(ours, reference, x, seed):
    a = x.clone().requires_grad_(True)
    b = x.clone().requires_grad_(True)
    ya, yb = ours(a), reference(b)
    cot = torch.randn(yb.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    (ga,) = torch.autograd.grad(ya, a, cot)
    (gb,) = torch.autograd.grad(yb, b, cot)
    assert_same(ga, gb, "gradient")


@pytest.mark.parametrize("nd", [1, 2])
def test_max_pool_values_indices_and_gradients(nd):
    count = 300 if nd == 2 else 150
    degenerate = 0
    for seed in range(count):
        x, kw = random_pool(seed, nd)
        where = f"seed={seed} x{tuple(x.shape)} {kw}"
        ref = getattr(F, f"max_pool{nd}d")
        values, indices = MAX[nd](x, return_indices=True, **kw)
        e_values, e_indices = ref(x, return_indices=True, **kw)
        assert_same(values, e_values, where)
        assert torch.equal(indices, e_indices), where
        assert_same(MAX[nd](x, **kw), e_values, where)
        if torch.isinf(e_values).any():
            # A window wholly in the padding (dilation): PyTorch's index points past the input
            # and its backward writes there, into a neighbouring plane; ours drops that gradient.
            degenerate += 1
        else:
            check_grad(lambda t: MAX[nd](t, **kw), lambda t: ref(t, **kw), x, seed)
        spatial = tuple(x.shape[-nd:])
        assert pool_output_size(spatial, kw["kernel_size"] if not isinstance(kw["kernel_size"], int)
                                else (kw["kernel_size"],) * nd,
                                kw["stride"] if kw["stride"] is None or not isinstance(kw["stride"], int)
                                else (kw["stride"],) * nd,
                                kw["padding"] if not isinstance(kw["padding"], int) else (kw["padding"],) * nd,
                                kw["dilation"] if not isinstance(kw["dilation"], int) else (kw["dilation"],) * nd,
                                kw["ceil_mode"]) == tuple(e_values.shape[-nd:])
    assert degenerate < count // 20


def test_max_pool_ties_go_where_pytorch_sends_them():
    """Integer inputs from {0, 1, 2} tie all the time: same indices, same gradient as PyTorch."""
    for seed in range(150):
        x, kw = random_pool(seed, 2)
        x = torch.randint(0, 3, x.shape, generator=torch.Generator().manual_seed(seed)).double()
        _, idx = max_pool2d(x, return_indices=True, **kw)
        _, e_idx = F.max_pool2d(x, return_indices=True, **kw)
        assert torch.equal(idx, e_idx), f"seed={seed} {kw}"
        if not torch.isinf(F.max_pool2d(x, **kw)).any():  # see the degenerate windows above
            check_grad(lambda t: max_pool2d(t, **kw), lambda t: F.max_pool2d(t, **kw), x, seed)


def test_max_pool_backward_routes_to_the_argmax_and_adds_overlaps():
    x = torch.tensor([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]], requires_grad=True)
    y = max_pool2d(x, 2, stride=1)  # 9 is the maximum of all four overlapping windows
    assert torch.equal(y.detach(), torch.full((1, 1, 2, 2), 9.0))
    y.backward(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = torch.zeros(1, 1, 3, 3)
    expected[0, 0, 1, 1] = 10.0
    assert torch.equal(x.grad, expected)


def test_max_pool_gradcheck_and_nan():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: max_pool2d(t, (3, 2), (2, 1), (1, 1), (1, 2), True), (x,))
    assert torch.autograd.gradgradcheck(lambda t: max_pool2d(t, 2), (x,))
    x1 = torch.randn(2, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: max_pool1d(t, 3, 2, 1), (x1,))
    with_nan = torch.tensor([[[1.0, float("nan"), 3.0, 2.0]]])
    assert_same(max_pool1d(with_nan, 2), F.max_pool1d(with_nan, 2))
    assert torch.equal(max_pool1d(with_nan, 2, return_indices=True)[1], F.max_pool1d(with_nan, 2, return_indices=True)[1])


@pytest.mark.parametrize("nd", [1, 2])
def test_avg_pool_values_and_gradients(nd):
    count = 300 if nd == 2 else 150
    for seed in range(count):
        x, kw = random_pool(1000 + seed, nd, dilation=False)
        rng = random.Random(seed)
        kw["count_include_pad"] = rng.random() < 0.5
        if nd == 2 and rng.random() < 0.2:
            kw["divisor_override"] = rng.randint(1, 5)
        ref = getattr(F, f"avg_pool{nd}d")
        assert_same(AVG[nd](x, **kw), ref(x, **kw), f"seed={seed} x{tuple(x.shape)} {kw}")
        check_grad(lambda t: AVG[nd](t, **kw), lambda t: ref(t, **kw), x, seed)


def test_avg_pool_gradcheck():
    x = torch.randn(1, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: avg_pool2d(t, 3, 2, 1, True, False), (x,))


@pytest.mark.parametrize("norm_type", [1, 2, 3, 1.5])
def test_lp_pool(norm_type):
    for seed in range(60):
        x, kw = random_pool(2000 + seed, 2, dilation=False, padding=False)
        kw.pop("padding")
        x = x.abs() + 0.1 if norm_type != 2 else x  # odd powers of negative sums would give NaN, as in torch
        assert_same(lp_pool2d(x, norm_type, **kw), F.lp_pool2d(x, norm_type, **kw), f"{seed} {kw}")
        check_grad(lambda t: lp_pool2d(t, norm_type, **kw), lambda t: F.lp_pool2d(t, norm_type, **kw), x, seed)
        x1, kw1 = random_pool(3000 + seed, 1, dilation=False, padding=False)
        kw1.pop("padding")
        x1 = x1.abs() + 0.1
        k1 = kw1.pop("kernel_size")
        k1 = k1 if isinstance(k1, int) else k1[0]
        assert_same(lp_pool1d(x1, norm_type, k1, **kw1), F.lp_pool1d(x1, norm_type, k1, **kw1))


def test_l2_pool_is_the_window_norm():
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    windows = x.unfold(2, 2, 2).unfold(3, 2, 2)
    torch.testing.assert_close(lp_pool2d(x, 2, 2), windows.square().sum(dim=(-1, -2)).sqrt())


def test_adaptive_bins():
    assert adaptive_bins(6, 3) == [(0, 2), (2, 4), (4, 6)]
    assert adaptive_bins(2, 5) == [(0, 1), (0, 1), (0, 2), (1, 2), (1, 2)]
    for size in range(1, 12):
        for out in range(1, 12):
            bins = adaptive_bins(size, out)
            assert bins[0][0] == 0 and bins[-1][1] == size and all(lo < hi for lo, hi in bins)


def test_adaptive_pooling():
    for seed in range(200):
        rng = random.Random(seed)
        shape = ((rng.randint(1, 2),) if rng.random() < 0.8 else ()) + (rng.randint(1, 3), rng.randint(1, 9),
                                                                         rng.randint(1, 9))
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        out = rng.choice([rng.randint(1, 10), (rng.randint(1, 10), rng.randint(1, 10)), (None, rng.randint(1, 4))])
        assert_same(adaptive_avg_pool2d(x, out), F.adaptive_avg_pool2d(x, out), f"{seed} {shape} {out}")
        assert_same(adaptive_max_pool2d(x, out), F.adaptive_max_pool2d(x, out), f"{seed} {shape} {out}")
        check_grad(lambda t: adaptive_avg_pool2d(t, out), lambda t: F.adaptive_avg_pool2d(t, out), x, seed)
        check_grad(lambda t: adaptive_max_pool2d(t, out), lambda t: F.adaptive_max_pool2d(t, out), x, seed)
        x1 = x.flatten(-2)
        o1 = rng.randint(1, 12)
        assert_same(adaptive_avg_pool1d(x1, o1), F.adaptive_avg_pool1d(x1, o1))


def test_global_average_pooling():
    x = torch.randn(4, 5, 7, 3, dtype=torch.float64)
    assert_same(global_avg_pool2d(x), F.adaptive_avg_pool2d(x, 1).flatten(1))
    assert_same(global_avg_pool2d(x[0]), x[0].mean(dim=(1, 2)))


def test_spatial_pyramid_pooling_fixed_length_from_any_size():
    for h, w in [(1, 1), (4, 4), (13, 17), (32, 9)]:
        x = torch.randn(2, 8, h, w, dtype=torch.float64)
        y = spatial_pyramid_pool2d(x, (1, 2, 4))
        assert y.shape == (2, 8 * 21)
        expected = torch.cat([F.adaptive_max_pool2d(x, n).flatten(1) for n in (1, 2, 4)], dim=1)
        assert_same(y, expected)
        expected_avg = torch.cat([F.adaptive_avg_pool2d(x, n).flatten(1) for n in (1, 3)], dim=1)
        assert_same(spatial_pyramid_pool2d(x, (1, 3), mode="avg"), expected_avg)
    assert spatial_pyramid_pool2d(torch.randn(8, 5, 6)).shape == (8 * 21,)


def test_mixed_pooling():
    for seed in range(100):
        x, kw = random_pool(4000 + seed, 2, dilation=False)
        kw.pop("ceil_mode")
        alpha = random.Random(seed).random()
        expected = alpha * F.max_pool2d(x, **kw) + (1 - alpha) * F.avg_pool2d(x, **kw)
        assert_same(mixed_pool2d(x, alpha=alpha, **kw), expected)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert_same(mixed_pool2d(x, 2, alpha=1.0), F.max_pool2d(x, 2))
    assert_same(mixed_pool2d(x, 2, alpha=0.0), F.avg_pool2d(x, 2))


def test_mixed_pool_module_learns_alpha():
    layer = MixedPool2d(2, alpha=0.3)
    assert abs(float(layer.alpha.detach()) - 0.3) < 1e-6 and len(list(layer.parameters())) == 1
    x = torch.randn(2, 3, 8, 8)
    layer(x).sum().backward()
    expected = (F.max_pool2d(x, 2) - F.avg_pool2d(x, 2)).sum() * 0.3 * 0.7  # d/dlogit of sigmoid = a(1-a)
    torch.testing.assert_close(layer.logit.grad, expected, rtol=1e-4, atol=1e-4)
    fixed = MixedPool2d(2, alpha=0.3, learnable=False)
    assert len(list(fixed.parameters())) == 0
    torch.testing.assert_close(fixed(x), layer(x).detach())


def test_binomial_filters():
    assert torch.equal(binomial_filter(1), torch.ones(1, 1))
    assert torch.equal(binomial_filter(2) * 4, torch.ones(2, 2))
    f5 = binomial_filter(5) * 256
    assert f5[2].tolist() == [6.0, 24.0, 36.0, 24.0, 6.0]
    for n in range(1, 8):
        assert abs(float(binomial_filter(n).sum()) - 1) < 1e-6


@pytest.mark.parametrize("filt_size", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_blur_pool_matches_pad_then_depthwise_conv(filt_size, stride):
    for seed in range(10):
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(2, 3, 5 + seed, 8 + seed % 3, generator=gen, dtype=torch.float64)
        lo, hi = (filt_size - 1) // 2, filt_size // 2
        filt = binomial_filter(filt_size).double().expand(3, 1, filt_size, filt_size)
        expected = F.conv2d(F.pad(x, (lo, hi, lo, hi), mode="reflect"), filt, stride=stride, groups=3)
        got = blur_pool2d(x, filt_size, stride)
        assert_same(got, expected)
        assert got.shape[-2:] == tuple(-(-n // stride) for n in x.shape[-2:])


def test_blur_pool_gradcheck_and_max_blur():
    x = torch.randn(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: blur_pool2d(t, 3, 2), (x,))
    expected = blur_pool2d(F.max_pool2d(x, 2, stride=1), 3, 2)
    assert_same(max_blur_pool2d(x), expected)


def test_blur_pool_is_steadier_under_a_one_pixel_shift():
    """Zhang's point in numbers: a 1-pixel shift changes blur-pooled output less than subsampled output."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 64, 64, generator=gen, dtype=torch.float64)
    shifted = torch.roll(x, 1, dims=3)

    def change(pool):
        a, b = pool(x), pool(shifted)
        return float((a - b)[..., 4:-4, 4:-4].norm() / a[..., 4:-4, 4:-4].norm())

    assert change(lambda t: blur_pool2d(t, 5, 2)) < 0.6 * change(lambda t: blur_pool2d(t, 1, 2))


EDGE = [
    ((1, 1, 1, 1), {"kernel_size": 1}),
    ((2, 3, 4, 5), {"kernel_size": (4, 5)}),  # kernel = input: one window
    ((1, 2, 3, 3), {"kernel_size": 3, "padding": 1, "stride": 2, "ceil_mode": True}),
    ((1, 1, 5, 2), {"kernel_size": (3, 1), "stride": (1, 2), "ceil_mode": True}),
    ((2, 7, 9), {"kernel_size": 2}),  # unbatched
]


@pytest.mark.parametrize(("shape", "kw"), EDGE)
def test_edge_cases(shape, kw):
    x = torch.randn(shape, dtype=torch.float64)
    assert_same(max_pool2d(x, **kw), F.max_pool2d(x, **kw))
    assert_same(avg_pool2d(x, **kw), F.avg_pool2d(x, **kw))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: max_pool2d(torch.randn(1, 1, 4, 4), 2, padding=2), ["at most half the kernel"]),
        (lambda: max_pool2d(torch.randn(1, 1, 2, 2), 3), ["spans 3", "has only 2"]),
        (lambda: max_pool2d(torch.randn(4, 4), 2), ["(N, C, H, W)", "2-D tensor"]),
        (lambda: avg_pool2d(torch.randn(1, 1, 4, 4), 2, divisor_override=0), ["divisor_override=0"]),
        (lambda: max_pool2d(torch.randn(1, 1, 4, 4).long(), 2), ["int64", ".float()"]),
        (lambda: lp_pool2d(torch.randn(1, 1, 4, 4), 0, 2), ["norm_type=0"]),
        (lambda: adaptive_avg_pool2d(torch.randn(1, 1, 4, 4), (0, 2)), ["positive ints"]),
        (lambda: spatial_pyramid_pool2d(torch.randn(1, 1, 4, 4), mode="sum"), ["mode='sum'"]),
        (lambda: mixed_pool2d(torch.randn(1, 1, 4, 4), 2, alpha=2.0), ["alpha=2.0"]),
        (lambda: blur_pool2d(torch.randn(1, 1, 4, 4), 9), ["filt_size=9"]),
    ],
)
def test_errors_explain(call, words):
    with pytest.raises(ConvArgumentError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_gradcheck_of_the_other_poolings():
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(1, 2, 5, 7, generator=gen, dtype=torch.float64) + 0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: lp_pool2d(t, 2, (2, 3), 2, True), (x,))
    assert torch.autograd.gradcheck(lambda t: adaptive_avg_pool2d(t, (3, 4)), (x,))
    assert torch.autograd.gradcheck(lambda t: adaptive_max_pool2d(t, (2, 3)), (x,))
    assert torch.autograd.gradcheck(lambda t: spatial_pyramid_pool2d(t, (1, 2)), (x,))
    alpha = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, a: mixed_pool2d(t, 2, alpha=a), (x, alpha))
    x1 = torch.randn(2, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: avg_pool1d(t, 3, 2, 1, True, False), (x1,))
    assert torch.autograd.gradcheck(lambda t: adaptive_avg_pool1d(t, 4), (x1,))
